"""disac_ros.models.tram: TRAM (Eqs. 41-44) over any number of collaborators, in any order, with masks."""
from __future__ import annotations

import pytest
import torch

from disac_ros.models.tram import TRAM

B, L_SF, D_SF, IMAGE, A, S = 2, 8, 32, 64, 16, 60


@pytest.fixture
def tram():
    model = TRAM(D_SF, num_layers=2, num_heads=4, dropout=0.1).eval()
    with torch.no_grad():  # non-zero biases: attention over an all-zero (masked) feature is then not zero
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(std=0.5)
    return model


def test_tram_shape_and_any_K(tram):
    center = torch.randn(B, L_SF, D_SF)
    for K in (0, 1, 3, 5):
        assert tram(center, torch.randn(B, K, L_SF, D_SF)).shape == (B, L_SF, D_SF)
    assert tram(center, torch.randn(B, 2, 4, D_SF)).shape == (B, L_SF, D_SF)  # collaborators' length may differ


def test_tram_invariant_to_collaborator_order(tram):
    center, collab = torch.randn(B, L_SF, D_SF), torch.randn(B, 4, L_SF, D_SF)
    mask = torch.tensor([[True, False, True, True], [True, True, True, False]])
    perm = torch.tensor([2, 0, 3, 1])
    torch.testing.assert_close(tram(center, collab, mask), tram(center, collab[:, perm], mask[:, perm]),
                               rtol=1e-5, atol=1e-5)


def test_tram_without_collaborators_is_layer_norm_of_center(tram):
    center = torch.randn(B, L_SF, D_SF)
    out = tram(center, torch.zeros(B, 0, L_SF, D_SF))
    expected = center
    for layer in tram.layers:
        expected = layer.norm(expected)
    torch.testing.assert_close(out, tram.norm(expected))
    assert torch.isfinite(out).all()
    all_missing = tram(center, torch.randn(B, 3, L_SF, D_SF), torch.zeros(B, 3, dtype=torch.bool))
    torch.testing.assert_close(all_missing, out)


def test_tram_masked_collaborator_equals_removing_it(tram):
    center, collab = torch.randn(B, L_SF, D_SF), torch.randn(B, 3, L_SF, D_SF)
    collab[:, 1] = float("nan")  # garbage in the missing slot must not leak
    mask = torch.tensor([[True, False, True], [True, False, True]])
    center.requires_grad_(True)
    masked = tram(center, collab, mask)
    removed = tram(center, collab[:, [0, 2]])
    torch.testing.assert_close(masked, removed, rtol=1e-5, atol=1e-5)
    masked.sum().backward()
    assert torch.isfinite(center.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in tram.parameters() if p.grad is not None)
    # per-sample masks: sample 0 lacks collaborator 2, sample 1 has it
    mask2 = torch.tensor([[True, True, False], [True, True, True]])
    collab[:, 1] = torch.randn(B, L_SF, D_SF)
    out = tram(center, collab, mask2)
    torch.testing.assert_close(out[0], tram(center[:1], collab[:1, :2])[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out[1], tram(center[1:], collab[1:])[0], rtol=1e-5, atol=1e-5)


def test_tram_collaborators_change_the_output(tram):
    center, collab = torch.randn(B, L_SF, D_SF), torch.randn(B, 2, L_SF, D_SF)
    base = tram(center, collab)
    assert not torch.allclose(base, tram(center, torch.randn(B, 2, L_SF, D_SF)), atol=1e-3)
    assert not torch.allclose(base, tram(center, collab[:, :1]), atol=1e-3)
    assert not torch.allclose(base, tram(center, torch.zeros(B, 0, L_SF, D_SF)), atol=1e-3)
    torch.testing.assert_close(tram(center, collab, torch.ones(B, 2, dtype=torch.bool)), base)  # None = all present


def test_tram_rejects_bad_shapes(tram):
    center = torch.randn(B, L_SF, D_SF)
    with pytest.raises(ValueError, match=r"mask must be bool \[B, K\] = \[2, 3\]"):
        tram(center, torch.randn(B, 3, L_SF, D_SF), torch.ones(B, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"collaborators must be \[B, K, L_k, d\] = \[2, \*, \*, 32\]"):
        tram(center, torch.randn(B, L_SF, D_SF))
    with pytest.raises(ValueError, match=r"center must be \[B, L, d\]"):
        tram(torch.randn(B, L_SF, 16), torch.randn(B, 1, L_SF, D_SF))
