"""LLM-DiSAC assembled from its networks (Fig. 2): what devices train in stage 1 and the center in stage 2.

* :class:`DeviceModel` - stage 1 on device k (Algorithm 5, lines 1-8): RVFN (Alg. 2) -> semantic encoder
  (Eq. 36) -> modulation -> channel (Eq. 8) -> demodulation -> LLM semantic decoder prompted with the link's SNR
  and distance (Eqs. 37-40, Alg. 3) -> local multi-task head (Eqs. 45-46). The device keeps ``rvfn`` and
  ``encoder``; the center receives the decoder's weights (LoRA and projections) and, per sample, the code.
  Single-device schemes (SM-SD, MM-SD) have no link: RVFN -> head.
* :class:`CenterModel` - stage 2 at the aggregation center (lines 9-13): TRAM (Eqs. 41-44, Alg. 4) over the
  center's own multimodal feature (it never crosses a link) and the decoded features of whichever
  collaborators arrived, each told its pose relative to the center, then the head.

The aggregation center never transmits its own feature, so it trains RVFN + head directly (``link=False``: the
single-device MM-SD model); stage 2 starts from that head with TRAM at the identity (zero-initialised), so the
assembled model equals MM-SD before stage 2 trains (:meth:`CenterModel.starting_from`).

``detection [B, D]`` is the device's own radar detection (``data/detections.py``): embedded by RVFN, cueing the
camera, read by the head of a device without a link and by the center's stage-2 head, whose regressions refine its
normalised estimate (model config ``detection_input``, ``camera_cue``, ``head_prior``). A linked device's local head
reads only the decoded feature, so its code has to carry what its radar detected.
"""
from __future__ import annotations

import torch
from torch import nn

from disac_ros.config import ModelConfig
from disac_ros.models.decoders import build_decoder
from disac_ros.models.heads import DetectionLayout, MultiTaskHead
from disac_ros.models.lstn import AWGNChannel, SemanticEncoder
from disac_ros.models.rvfn import RVFN, RadarFrontEnd
from disac_ros.models.tram import TRAM


def read_detection(cfg: ModelConfig, layout: DetectionLayout | None) -> DetectionLayout | None:
    """The detection layout a model of ``cfg`` reads: none for a camera-only scheme or ``detection_input`` off."""
    return layout if cfg.modality != "cv" and cfg.detection_input else None


class DeviceModel(nn.Module):
    """RVFN + LSTN + local head of one device, built from a :class:`ModelConfig` and the data's shapes.

    ``link`` (default: the scheme is multi-device) adds the semantic link; the aggregation center's own model
    has none. ``replicas [S, S]`` (the radar's delayed pulses) and ``array_shape`` feed the RF front end, and
    ``detection`` the detection layout; both are built by :func:`disac_ros.runs.build_device_model`.
    ``transmitter_only``: only what the deployed device runs, RVFN and the semantic encoder (:meth:`encode`; no
    channel, decoder or head: :mod:`disac_ros.deploy`).
    """

    def __init__(self, cfg: ModelConfig, image_size: int | tuple[int, int], echo_shape: tuple[int, int, int],
                 link: bool | None = None, replicas: torch.Tensor | None = None,
                 array_shape: tuple[int, int] | None = None, detection: DetectionLayout | None = None,
                 transmitter_only: bool = False):
        super().__init__()
        self.cfg = cfg
        chirps, antennas, samples = echo_shape
        front_end = None
        if cfg.rf_front_end == "physics":
            side = int(round(antennas ** 0.5))
            front_end = RadarFrontEnd(chirps, array_shape or (side, antennas // side), replicas)
        self.detection = read_detection(cfg, detection)
        self.rvfn = RVFN(modality=cfg.modality, image_size=image_size, num_chirps=chirps, num_antennas=antennas,
                         num_samples=samples, L_sf=cfg.L_sf, d_sf=cfg.d_sf, visual_backbone=cfg.visual_backbone,
                         rf_channels=cfg.rf_channels, num_heads=cfg.fusion_heads, front_end=front_end,
                         detection_features=self.detection.features if self.detection is not None else 0,
                         camera_cue=cfg.camera_cue and detection is not None,
                         cue_columns=detection.cue if detection is not None else None, gating=cfg.gating)
        self.uses_link = cfg.multi_device if link is None else link
        if transmitter_only and not self.uses_link:
            raise ValueError(f"scheme {cfg.scheme} has no semantic link: a device has nothing to transmit")
        if self.uses_link:
            self.encoder = SemanticEncoder(cfg.L_sf, cfg.d_sf, cfg.L_se, cfg.d_se)
        if transmitter_only:
            return
        if self.uses_link:
            self.channel = AWGNChannel(lossless=cfg.lossless)
            self.decoder = build_decoder(cfg)
        # the local head of a linked device reads the decoded feature only (the code must carry the detection);
        # the head of a device without a link also reads its detection directly and refines its estimate
        self.head = MultiTaskHead(cfg.d_sf, num_classes=cfg.num_classes, dropout=cfg.dropout,
                                  detection=None if self.uses_link else self.detection, prior=cfg.head_prior,
                                  feature_drop=cfg.head_feature_drop)

    def features(self, image: torch.Tensor, echo: torch.Tensor, detection: torch.Tensor | None = None) -> torch.Tensor:
        """s_mul [B, L_sf, d_sf] (Alg. 2)."""
        return self.rvfn(image, echo, detection)

    def head_input(self, detection: torch.Tensor | None) -> torch.Tensor | None:
        """What the head reads of the detection: all of it for a head with a detection layout, else None."""
        return detection if self.head.detection is not None else None

    def predict(self, image: torch.Tensor, echo: torch.Tensor, detection: torch.Tensor | None = None
                ) -> dict[str, torch.Tensor]:
        """The direct (no-link) prediction: RVFN -> head (single-device schemes, the center's own model)."""
        return self.head(self.features(image, echo, detection), self.head_input(detection))

    def encode(self, image: torch.Tensor, echo: torch.Tensor, detection: torch.Tensor | None = None) -> torch.Tensor:
        """The semantic code e [B, L_se, d_se] that the device transmits (Eq. 36)."""
        return self.encoder(self.features(image, echo, detection))

    def transmit(self, code: torch.Tensor, snr_db: torch.Tensor | None) -> torch.Tensor:
        """Modulate, pass the channel (Eq. 8) and demodulate: the received code e_hat [B, L_se, d_se]."""
        return self.channel.transmit(code, snr_db)

    def decode(self, received: torch.Tensor, snr_db: torch.Tensor, distance_m: torch.Tensor) -> torch.Tensor:
        """s_hat [B, L_sf, d_sf] from a received code and its link's SNR and distance (Eqs. 37-40)."""
        return self.decoder(received, snr_db, distance_m)

    def forward(self, image: torch.Tensor, echo: torch.Tensor, snr_db: torch.Tensor | None = None,
                distance_m: torch.Tensor | None = None, detection: torch.Tensor | None = None
                ) -> dict[str, torch.Tensor]:
        """Local prediction (Alg. 5, line 4). ``snr_db`` None while training draws it per sample (Sec. V-A2)."""
        if not self.uses_link:
            return self.predict(image, echo, detection)
        batch = image.shape[0]
        if snr_db is None:
            snr_db = self.channel.sample_snr(batch, image.device) if self.training else \
                torch.full((batch,), 25.0, device=image.device)
        if distance_m is None:
            distance_m = torch.zeros(batch, device=image.device)
        received = self.transmit(self.encode(image, echo, detection), snr_db)
        return self.head(self.decode(received, snr_db, distance_m))


#: The pose of a collaborator relative to the center that TRAM is told: (dx, dy, dz) / POSE_SCALE_M and the link
#: distance / POSE_SCALE_M, i.e. [4] per collaborator (:func:`disac_ros.models.link.relative_poses`).
POSE_FEATURES = 4


class CenterModel(nn.Module):
    """TRAM + head at the aggregation center (stage 2).

    Each collaborator's decoded feature gets ``PoseEmbed(pose)`` added on every token (a Linear of its pose
    relative to the center, the known physical information of the paper's prompt) so that TRAM can map what a
    device reports about the target in its own frame into the center's.
    """

    def __init__(self, cfg: ModelConfig, detection: DetectionLayout | None = None):
        super().__init__()
        self.cfg = cfg
        self.tram = TRAM(cfg.d_sf, num_layers=cfg.tram_layers, num_heads=cfg.tram_heads, dropout=cfg.dropout,
                         zero_init=cfg.tram_residual == "zero_init")
        self.pose_embed = nn.Linear(POSE_FEATURES, cfg.d_sf)
        self.head = MultiTaskHead(cfg.d_sf, num_classes=cfg.num_classes, dropout=cfg.dropout,
                                  detection=read_detection(cfg, detection), prior=cfg.head_prior)

    @classmethod
    def starting_from(cls, center_model: DeviceModel) -> CenterModel:
        """A stage-2 model with the center's own head (its MM-SD model).

        With TRAM at the identity (zero-initialised) its predictions equal the center model's until stage 2 trains.
        """
        model = cls(center_model.cfg, center_model.detection)
        model.head.load_state_dict(center_model.head.state_dict())
        return model

    def forward(self, center: torch.Tensor, collaborators: torch.Tensor, mask: torch.Tensor | None = None,
                poses: torch.Tensor | None = None, detection: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Predictions from the center's feature and whichever collaborators arrived.

        Center [B, L_sf, d_sf], collaborators [B, K, L_sf, d_sf] (K >= 0), mask [B, K] (True = arrived), poses
        [K, 4] or [B, K, 4] (None: no pose), detection [B, D] (the center's own, when its head reads it).
        """
        if poses is not None and collaborators.shape[1]:
            collaborators = collaborators + self.pose_embed(poses.to(collaborators.dtype))[..., None, :].expand(
                collaborators.shape[0], -1, -1, -1)
        return self.head(self.tram(center, collaborators, mask), detection if self.head.detection else None)
