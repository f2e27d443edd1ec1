"""disac_ros.models.heads: the multi-task head (Eqs. 45-46)."""
from __future__ import annotations

import pytest
import torch

from disac_ros.models.heads import DetectionLayout, MultiTaskHead

B, L_SF, D_SF, IMAGE, A, S = 2, 8, 32, 64, 16, 60


def test_head_outputs():
    head = MultiTaskHead(D_SF, num_classes=3, hidden=24)
    for L in (1, L_SF):
        out = head(torch.randn(B, L, D_SF) * 3)
        assert out["regression"].shape == (B, 4) and out["logits"].shape == (B, 3)
        assert ((out["regression"] > 0) & (out["regression"] < 1)).all()
    with pytest.raises(ValueError, match=r"\[\*, \*, 32\]"):
        head(torch.randn(B, D_SF))


LAYOUT = DetectionLayout(features=6, prior=slice(1, 5), cue=slice(5, 6))


def test_prior_head_starts_at_the_detection_and_needs_it():
    head = MultiTaskHead(D_SF, detection=LAYOUT, prior=True).eval()
    detection = torch.rand(B, LAYOUT.features) * 0.8 + 0.1
    out = head(torch.randn(B, L_SF, D_SF), detection)
    torch.testing.assert_close(out["regression"], detection[:, LAYOUT.prior], atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="detection"):
        head(torch.randn(B, L_SF, D_SF))


def test_feature_drop_only_in_training():
    head = MultiTaskHead(D_SF, detection=LAYOUT, feature_drop=0.5)
    detection = torch.rand(256, LAYOUT.features)
    S1, S2 = torch.randn(256, L_SF, D_SF), torch.randn(256, L_SF, D_SF)
    head.train()
    torch.manual_seed(0)
    a = head(S1, detection)["logits"]
    torch.manual_seed(0)
    b = head(S2, detection)["logits"]
    same = torch.isclose(a, b).all(dim=1)  # dropped samples do not depend on S (the inner Dropout is 0.0 here)
    assert 0.3 < same.float().mean() < 0.7
    head.eval()
    assert not torch.isclose(head(S1, detection)["logits"], head(S2, detection)["logits"]).all(dim=1).any()
