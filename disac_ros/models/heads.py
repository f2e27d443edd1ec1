"""Shared multi-task prediction network, Eqs. (45)-(46) (paper Sec. IV-D; also the local head of stage 1).

``MultiTaskHead(S [B, L, d]) -> {"regression": [B, 4] in (0, 1), "logits": [B, num_classes]}``; the regression
columns are ordered like the dataset's ``labels_norm``: distance, azimuth, pitch, radial velocity.
"""
from __future__ import annotations

import torch
from torch import nn

REGRESSION_TASKS = ("distance", "azimuth", "pitch", "velocity")


class MultiTaskHead(nn.Module):
    """Eq. (45) ``g = MLP(Norm(AvgPool(S)))`` then five parallel heads, Eqs. (46a)-(46e).

    * AvgPool: adaptive average pooling over the sequence axis, ``[B, L, d] -> [B, d]`` (any L).
    * Norm: LayerNorm(d).
    * MLP: Linear(d, hidden) -> GELU -> Dropout -> Linear(hidden, hidden) -> GELU, so ``g [B, hidden]``
      (hidden defaults to d).
    * Heads: ``Sigmoid(W_d g)``, ``Sigmoid(W_a g)``, ``Sigmoid(W_p g)``, ``Sigmoid(W_v g)`` - the normalised
      distance, azimuth, pitch and radial velocity (Eqs. 46a-d) - and class logits ``W_c g`` (Eq. 46e).
    """

    def __init__(self, d: int, num_classes: int = 3, hidden: int | None = None, dropout: float = 0.0):
        super().__init__()
        hidden = hidden or d
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.norm = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, hidden),
                                 nn.GELU())
        self.W_d = nn.Linear(hidden, 1)  # Eq. (46a) distance
        self.W_a = nn.Linear(hidden, 1)  # Eq. (46b) azimuth
        self.W_p = nn.Linear(hidden, 1)  # Eq. (46c) pitch
        self.W_v = nn.Linear(hidden, 1)  # Eq. (46d) radial velocity
        self.W_c = nn.Linear(hidden, num_classes)  # Eq. (46e) class logits

    def forward(self, S: torch.Tensor, prior: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if S.dim() != 3 or S.shape[-1] != self.norm.normalized_shape[0]:
            raise ValueError(f"S must be [B, L, d] = [*, *, {self.norm.normalized_shape[0]}], got {list(S.shape)}")
        g = self.mlp(self.norm(self.pool(S.transpose(1, 2)).squeeze(-1)))  # Eq. (45): [B, hidden]
        z = torch.cat([self.W_d(g), self.W_a(g), self.W_p(g), self.W_v(g)], dim=-1)       # [B, 4]
        if prior is not None:
            z = z + torch.logit(prior.to(z.dtype), eps=1e-3)
        regression = torch.sigmoid(z)
        return {"regression": regression, "logits": self.W_c(g)}  # [B, 4] in (0, 1), [B, num_classes]
