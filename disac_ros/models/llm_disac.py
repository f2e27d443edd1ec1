"""LLM-DiSAC assembled from its networks (Fig. 2): what devices train in stage 1 and the center in stage 2.

* :class:`DeviceModel` - stage 1 on device k (Algorithm 5, lines 1-8): RVFN (Alg. 2) -> semantic encoder
  (Eq. 36) -> modulation -> channel (Eq. 8) -> demodulation -> LLM semantic decoder prompted with the link's SNR
  and distance (Eqs. 37-40, Alg. 3) -> local multi-task head (Eqs. 45-46). The device keeps ``rvfn`` and
  ``encoder``; the center receives the decoder's weights (LoRA and projections) and, per sample, the code.
  Single-device schemes (SM-SD, MM-SD) have no link: RVFN -> head.
* :class:`CenterModel` - stage 2 at the aggregation center (lines 9-13): TRAM (Eqs. 41-44, Alg. 4) over the
  center's own multimodal feature (it never crosses a link) and the decoded features of whichever
  collaborators arrived, then the head.
"""
from __future__ import annotations

import torch
from torch import nn

from disac_ros.config import ModelConfig
from disac_ros.models.decoders import build_decoder
from disac_ros.models.heads import MultiTaskHead
from disac_ros.models.lstn import AWGNChannel, SemanticEncoder, demodulate, modulate
from disac_ros.models.rvfn import RVFN
from disac_ros.models.tram import TRAM


class DeviceModel(nn.Module):
    """RVFN + LSTN + local head of one device, built from a :class:`ModelConfig` and the data's shapes."""

    def __init__(self, cfg: ModelConfig, image_size: int, echo_shape: tuple[int, int, int]):
        super().__init__()
        self.cfg = cfg
        chirps, antennas, samples = echo_shape
        self.rvfn = RVFN(modality=cfg.modality, image_size=image_size, num_chirps=chirps, num_antennas=antennas,
                         num_samples=samples, L_sf=cfg.L_sf, d_sf=cfg.d_sf, visual_backbone=cfg.visual_backbone,
                         rf_channels=cfg.rf_channels, num_heads=cfg.fusion_heads)
        self.uses_link = cfg.multi_device
        if self.uses_link:
            self.encoder = SemanticEncoder(cfg.L_sf, cfg.d_sf, cfg.L_se, cfg.d_se)
            self.channel = AWGNChannel(lossless=cfg.lossless)
            self.decoder = build_decoder(cfg)
        self.head = MultiTaskHead(cfg.d_sf, num_classes=cfg.num_classes)

    def features(self, image: torch.Tensor, echo: torch.Tensor) -> torch.Tensor:
        """s_mul [B, L_sf, d_sf] (Alg. 2)."""
        return self.rvfn(image, echo)

    def encode(self, image: torch.Tensor, echo: torch.Tensor) -> torch.Tensor:
        """The semantic code e [B, L_se, d_se] that the device transmits (Eq. 36)."""
        return self.encoder(self.features(image, echo))

    def transmit(self, code: torch.Tensor, snr_db: torch.Tensor | None) -> torch.Tensor:
        """Modulate, pass the channel (Eq. 8) and demodulate: the received code e_hat [B, L_se, d_se]."""
        return demodulate(self.channel(modulate(code), snr_db), code.shape)

    def decode(self, received: torch.Tensor, snr_db: torch.Tensor, distance_m: torch.Tensor) -> torch.Tensor:
        """s_hat [B, L_sf, d_sf] from a received code and its link's SNR and distance (Eqs. 37-40)."""
        return self.decoder(received, snr_db, distance_m)

    def forward(self, image: torch.Tensor, echo: torch.Tensor, snr_db: torch.Tensor | None = None,
                distance_m: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Local prediction (Alg. 5, line 4). ``snr_db`` None while training draws it per sample (Sec. V-A2)."""
        if not self.uses_link:
            return self.head(self.features(image, echo))
        batch = image.shape[0]
        if snr_db is None:
            snr_db = self.channel.sample_snr(batch, image.device) if self.training else \
                torch.full((batch,), 25.0, device=image.device)
        if distance_m is None:
            distance_m = torch.zeros(batch, device=image.device)
        received = self.transmit(self.encode(image, echo), snr_db)
        return self.head(self.decode(received, snr_db, distance_m))


class CenterModel(nn.Module):
    """TRAM + head at the aggregation center (stage 2)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.tram = TRAM(cfg.d_sf, num_layers=cfg.tram_layers, num_heads=cfg.tram_heads, dropout=cfg.dropout)
        self.head = MultiTaskHead(cfg.d_sf, num_classes=cfg.num_classes)

    def forward(self, center: torch.Tensor, collaborators: torch.Tensor,
                mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Center [B, L_sf, d_sf], collaborators [B, K, L_sf, d_sf] (K >= 0), mask [B, K] (True = arrived)."""
        return self.head(self.tram(center, collaborators, mask))
