"""disac_ros.models.heads: the multi-task head (Eqs. 45-46)."""
from __future__ import annotations

import pytest
import torch

from disac_ros.models.heads import MultiTaskHead

B, L_SF, D_SF, IMAGE, A, S = 2, 8, 32, 64, 16, 60


def test_head_outputs():
    head = MultiTaskHead(D_SF, num_classes=3, hidden=24)
    for L in (1, L_SF):
        out = head(torch.randn(B, L, D_SF) * 3)
        assert out["regression"].shape == (B, 4) and out["logits"].shape == (B, 3)
        assert ((out["regression"] > 0) & (out["regression"] < 1)).all()
    with pytest.raises(ValueError, match=r"\[\*, \*, 32\]"):
        head(torch.randn(B, D_SF))
