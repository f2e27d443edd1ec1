"""Shared multi-task prediction network, Eqs. (45)-(46) (paper Sec. IV-D; also the local head of stage 1).

``MultiTaskHead(S [B, L, d]) -> {"regression": [B, 4] in (0, 1), "logits": [B, num_classes]}``; the regression
columns are ordered like the dataset's ``labels_norm``: distance, azimuth, pitch, radial velocity.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

REGRESSION_TASKS = ("distance", "azimuth", "pitch", "velocity")


@dataclass(frozen=True)
class DetectionLayout:
    """Where the parts of a device's detection vector are.

    ``data/detections.py`` owns the layout (models do not import data): its length, the columns of the normalised
    estimate (the prior) and of the camera cue.
    """

    features: int
    prior: slice
    cue: slice


class MultiTaskHead(nn.Module):
    """Eq. (45) ``g = MLP(Norm(AvgPool(S)))`` then five parallel heads, Eqs. (46a)-(46e).

    * AvgPool: adaptive average pooling over the sequence axis, ``[B, L, d] -> [B, d]`` (any L).
    * Norm: LayerNorm(d).
    * MLP: Linear(d, hidden) -> GELU -> Dropout -> Linear(hidden, hidden) -> GELU, so ``g [B, hidden]``
      (hidden defaults to d).
    * Heads: ``Sigmoid(W_d g)``, ``Sigmoid(W_a g)``, ``Sigmoid(W_p g)``, ``Sigmoid(W_v g)`` - the normalised
      distance, azimuth, pitch and radial velocity (Eqs. 46a-d) - and class logits ``W_c g`` (Eq. 46e).

    With a ``detection`` layout the head also reads the device's own radar detection ``[B, D]`` directly: embedded
    by a Linear and added to the pooled feature before the Norm (the radar's estimate and level reach the heads
    without passing through the feature extractors), and with ``prior=True`` its normalised estimate (columns
    ``detection.prior``) is the prior the regressions refine: ``Sigmoid(W g + logit(prior))``. With ``W g = 0`` the
    head returns the prior, so a learned scheme starts from what classical processing measures and learns
    corrections (where the radar is blocked, large ones). Without a detection this is Eqs. (45)-(46) as printed.
    """

    def __init__(self, d: int, num_classes: int = 3, hidden: int | None = None, dropout: float = 0.0,
                 detection: DetectionLayout | None = None, prior: bool = False):
        super().__init__()
        hidden = hidden or d
        self.detection, self.use_prior = detection, prior and detection is not None
        self.detection_embed = nn.Linear(detection.features, d) if detection is not None else None
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.norm = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, hidden),
                                 nn.GELU())
        self.W_d = nn.Linear(hidden, 1)  # Eq. (46a) distance
        self.W_a = nn.Linear(hidden, 1)  # Eq. (46b) azimuth
        self.W_p = nn.Linear(hidden, 1)  # Eq. (46c) pitch
        self.W_v = nn.Linear(hidden, 1)  # Eq. (46d) radial velocity
        self.W_c = nn.Linear(hidden, num_classes)  # Eq. (46e) class logits

    def forward(self, S: torch.Tensor, detection: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if S.dim() != 3 or S.shape[-1] != self.norm.normalized_shape[0]:
            raise ValueError(f"S must be [B, L, d] = [*, *, {self.norm.normalized_shape[0]}], got {list(S.shape)}")
        pooled = self.pool(S.transpose(1, 2)).squeeze(-1)                    # [B, d]
        if self.detection_embed is not None:
            if detection is None or detection.shape != (S.shape[0], self.detection.features):
                raise ValueError(f"this head reads the device's detection: give detection [B, "
                                 f"{self.detection.features}] with B = {S.shape[0]}")
            pooled = pooled + self.detection_embed(detection.to(pooled.dtype))
        g = self.mlp(self.norm(pooled))                                      # Eq. (45): [B, hidden]
        z = torch.cat([self.W_d(g), self.W_a(g), self.W_p(g), self.W_v(g)], dim=-1)       # [B, 4]
        if self.use_prior:
            z = z + torch.logit(detection[:, self.detection.prior].to(z.dtype), eps=1e-3)
        regression = torch.sigmoid(z)
        return {"regression": regression, "logits": self.W_c(g)}  # [B, 4] in (0, 1), [B, num_classes]
