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

    With a ``detection`` layout the head also reads the device's own radar detection ``[B, D]`` directly (the
    radar's estimate and level reach the heads without passing through the feature extractors):

    * ``g = MLP(Drop(Norm(AvgPool(S))) + E(detection))`` with ``E`` a two-layer MLP; ``Drop`` zeroes the whole
      learned feature of a sample with probability ``feature_drop`` in training, so the head cannot lean on what
      ~1,000 training samples let the image and echo features memorise (measured on the default dataset: without
      it MM-SD was 10 points below a plain MLP on the detection vector on line-of-sight samples);
    * class logits ``W_c g + C(detection)``, ``C`` a small MLP classifier of the detection alone (the learned
      counterpart of the classical level classifier, which the rest refines);
    * with ``prior=True`` the detection's normalised estimate (columns ``detection.prior``) is the prior the
      regressions refine: ``Sigmoid(W g + logit(prior))``, with ``W_d, W_a, W_p, W_v`` zero-initialised so a
      learned scheme starts from what classical processing measures and learns corrections (where the radar is
      blocked, large ones).

    Without a detection this is Eqs. (45)-(46) as printed.
    """

    def __init__(self, d: int, num_classes: int = 3, hidden: int | None = None, dropout: float = 0.0,
                 detection: DetectionLayout | None = None, prior: bool = False, feature_drop: float = 0.0):
        super().__init__()
        hidden = hidden or d
        self.detection, self.use_prior, self.feature_drop = detection, prior and detection is not None, feature_drop
        if detection is not None:
            self.detection_embed = nn.Sequential(nn.Linear(detection.features, d), nn.GELU(), nn.Linear(d, d))
            self.detection_classifier = nn.Sequential(nn.Linear(detection.features, d), nn.GELU(), nn.Linear(d, d),
                                                      nn.GELU(), nn.Linear(d, num_classes))
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.norm = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, hidden),
                                 nn.GELU())
        self.W_d = nn.Linear(hidden, 1)  # Eq. (46a) distance
        self.W_a = nn.Linear(hidden, 1)  # Eq. (46b) azimuth
        self.W_p = nn.Linear(hidden, 1)  # Eq. (46c) pitch
        self.W_v = nn.Linear(hidden, 1)  # Eq. (46d) radial velocity
        self.W_c = nn.Linear(hidden, num_classes)  # Eq. (46e) class logits
        if self.use_prior:  # W g = 0: the head starts at the prior
            for layer in (self.W_d, self.W_a, self.W_p, self.W_v):
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, S: torch.Tensor, detection: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if S.dim() != 3 or S.shape[-1] != self.norm.normalized_shape[0]:
            raise ValueError(f"S must be [B, L, d] = [*, *, {self.norm.normalized_shape[0]}], got {list(S.shape)}")
        feature = self.norm(self.pool(S.transpose(1, 2)).squeeze(-1))       # [B, d]
        if self.detection is None:
            g = self.mlp(feature)                                            # Eq. (45): [B, hidden]
            return {"regression": torch.sigmoid(torch.cat([self.W_d(g), self.W_a(g), self.W_p(g), self.W_v(g)], -1)),
                    "logits": self.W_c(g)}                                   # [B, 4] in (0, 1), [B, num_classes]
        if detection is None or detection.shape != (S.shape[0], self.detection.features):
            raise ValueError(f"this head reads the device's detection: give detection [B, "
                             f"{self.detection.features}] with B = {S.shape[0]}")
        detection = detection.to(feature.dtype)
        if self.training and self.feature_drop > 0:
            feature = feature * (torch.rand(feature.shape[0], 1, device=feature.device) >= self.feature_drop)
        g = self.mlp(feature + self.detection_embed(detection))
        z = torch.cat([self.W_d(g), self.W_a(g), self.W_p(g), self.W_v(g)], dim=-1)       # [B, 4]
        if self.use_prior:
            z = z + torch.logit(detection[:, self.detection.prior], eps=1e-3)
        return {"regression": torch.sigmoid(z), "logits": self.W_c(g) + self.detection_classifier(detection)}
