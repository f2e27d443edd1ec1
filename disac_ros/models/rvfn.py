"""RF-Vision bimodal Fusion Network, RVFN (paper Sec. IV-B, Fig. 2 (a), Algorithm 2).

* :class:`RFFeatureExtractor` - complex-valued CNN on the radar echo (Eqs. 22-26): ``s_RF [B, L_sf, d_sf]``.
* :class:`VisualFeatureExtractor` - a timm ConvNeXt on the camera image (Eqs. 27-31): ``s_CV [B, L_sf, d_sf]``.
* :class:`CrossAttentionFusion` - bidirectional cross attention (Eqs. 32-35): ``s_mul [B, L_sf, d_sf]``.
* :class:`RVFN` - both extractors and the fusion; ``modality="rf"`` / ``"cv"`` keep a single extractor (the
  single-modality baselines).

Building blocks of the complex branch: :class:`ComplexConv2d` (Eqs. 22-23), :func:`complex_relu` (Eq. 24) and
:class:`ComplexMaxPool2d`. Complex activations are ``torch.complex64`` tensors throughout; every complex
operation is computed from real/imaginary parts with ordinary real-valued layers.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import timm
import torch
import torch.nn.functional as F
from torch import nn

MODALITIES = ("both", "rf", "cv")


def check_tensor(name: str, x: torch.Tensor | None, expected: str, ok_dtype: bool, shape: Sequence[int | None]) -> None:
    """Raise ValueError unless ``x`` has an acceptable dtype, the given shape (None = any) and finite values.

    ``expected`` describes the dtype and axes, e.g. ``"complex64 [B, C, A, S]"``; the message names it together
    with the concrete sizes, e.g. ``echo must be complex64 [B, C, A, S] = [*, 8, 16, 60], got float32 [...]``.
    """
    want = "[" + ", ".join("*" if s is None else str(s) for s in shape) + "]"
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a {expected} = {want} tensor, got {type(x).__name__}")
    got = f"{str(x.dtype).removeprefix('torch.')} {list(x.shape)}"
    sizes_ok = x.dim() == len(shape) and all(s is None or s == n for s, n in zip(shape, x.shape, strict=True))
    if not ok_dtype or not sizes_ok:
        raise ValueError(f"{name} must be {expected} = {want}, got {got}")
    finite = torch.isfinite(x).all() if not x.is_complex() else torch.isfinite(torch.view_as_real(x)).all()
    if not bool(finite):
        raise ValueError(f"{name} contains NaN or Inf values")


def complex_relu(z: torch.Tensor) -> torch.Tensor:
    """Eq. (24), "CReLU": ReLU on the real and on the imaginary part, ``ReLU(z_r) + j ReLU(z_i)``."""
    return torch.complex(F.relu(z.real), F.relu(z.imag))


class ComplexConv2d(nn.Module):
    """Complex 2-D convolution from two real convolutions, Eqs. (22)-(23).

    With weights ``W = W_real + j W_imag`` and input ``x = x_real + j x_imag``::

        z_real = W_real * x_real - W_imag * x_imag + b_real      (22)
        z_imag = W_real * x_imag + W_imag * x_real + b_imag      (23)

    which is exactly the complex convolution ``W * x + b``. Shapes: complex ``[B, C_in, H, W]`` ->
    complex ``[B, C_out, H', W']`` (H', W' as for :class:`torch.nn.Conv2d`).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 padding: int = 1, bias: bool = True):
        super().__init__()
        self.conv_real = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)  # W_real
        self.conv_imag = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)  # W_imag
        if bias:
            self.bias_real = nn.Parameter(torch.zeros(out_channels))
            self.bias_imag = nn.Parameter(torch.zeros(out_channels))
        else:
            self.register_parameter("bias_real", None)
            self.register_parameter("bias_imag", None)

    @property
    def weight(self) -> torch.Tensor:
        """The complex kernel ``W_real + j W_imag`` [C_out, C_in, k, k] (for inspection and tests)."""
        return torch.complex(self.conv_real.weight, self.conv_imag.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_real, x_imag = x.real, x.imag
        z_real = self.conv_real(x_real) - self.conv_imag(x_imag)  # Eq. (22)
        z_imag = self.conv_real(x_imag) + self.conv_imag(x_real)  # Eq. (23)
        if self.bias_real is not None:
            z_real = z_real + self.bias_real[:, None, None]
            z_imag = z_imag + self.bias_imag[:, None, None]
        return torch.complex(z_real, z_imag)


class ComplexMaxPool2d(nn.Module):
    """Complex max pooling by magnitude: each window keeps the complex value of largest ``|z|``.

    How: ``F.max_pool2d(|z|^2, return_indices=True)`` finds, per channel and window, the flat (H*W) position of
    the largest magnitude; the real and imaginary parts are then gathered at those positions, so phase is kept
    (pooling real and imaginary parts separately would mix values from different positions). The magnitude is
    only used for the choice (no gradient); gradients flow to the selected complex entries, as for a real max
    pool. ``ceil_mode=True`` by default so odd sizes keep their last row/column (60 range samples -> 30 -> 15 -> 8).
    Shapes: complex ``[B, C, H, W]`` -> complex ``[B, C, H', W']``.
    """

    def __init__(self, kernel_size: int = 2, stride: int | None = None, ceil_mode: bool = True):
        super().__init__()
        self.kernel_size, self.stride, self.ceil_mode = kernel_size, stride or kernel_size, ceil_mode

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            power = z.real.square() + z.imag.square()
            _, index = F.max_pool2d(power, self.kernel_size, self.stride, ceil_mode=self.ceil_mode,
                                    return_indices=True)  # [B, C, H', W'], flat positions in H*W
        flat = index.flatten(2)

        def pick(part: torch.Tensor) -> torch.Tensor:
            return part.flatten(2).gather(2, flat).view_as(index)

        return torch.complex(pick(z.real), pick(z.imag))


class RadarFrontEnd(nn.Module):
    """Fixed linear radar processing before the complex CNN (no trained weights): echo -> range-Doppler-beam cube.

    ``echo [B, C, A, S]`` complex64 -> ``cube [B, C, A, S]`` complex64, where now the C axis is Doppler bins, A is
    beams (array rows x columns) and S is range bins:

    1. pulse compression: the matched filter ``y_i = sum_n x_n conj(s(t_n - tau_i)) / ||s(. - tau_i)||`` at every
       sample delay tau_i = i / F_s (``replicas [S_i, S_n]``, built from the radar config by the run, since this
       layer does not import the simulation); None skips it;
    2. unitary DFT over the chirps (Doppler) and a unitary 2-D DFT over the array's rows and columns (beams in the
       array's own frame, i.e. about its boresight), zero frequency shifted to the centre of each axis so that
       neighbouring cells are neighbouring Doppler / angle bins.

    A target then appears as a peak at its range, Doppler and beam cells instead of as a chirp spread over every
    sample, antenna and pulse (Richards, *Fundamentals of Radar Signal Processing*, ch. 4 and 5: the same chain as
    the classical estimator of ``sim/estimators.py``, without its peak search).
    """

    def __init__(self, num_chirps: int, array_shape: tuple[int, int], replicas: torch.Tensor | None = None):
        super().__init__()
        self.num_chirps, self.array_shape = num_chirps, tuple(array_shape)
        if replicas is not None:
            replicas = torch.as_tensor(replicas, dtype=torch.complex64)
            energy = replicas.abs().square().sum(dim=1, keepdim=True).clamp_min(1.0)
            self.register_buffer("matched", (replicas / energy.sqrt()).conj().T.contiguous(), persistent=False)
        else:
            self.matched = None

    def forward(self, echo: torch.Tensor) -> torch.Tensor:
        B, C, A, S = echo.shape
        x = echo @ self.matched if self.matched is not None else echo                    # [B, C, A, S_i]
        rows, cols = self.array_shape
        x = torch.fft.fft(x, dim=1, norm="ortho")                                         # Doppler
        x = torch.fft.fft2(x.reshape(B, C, rows, cols, S), dim=(2, 3), norm="ortho")     # beams
        return torch.fft.fftshift(x, dim=(1, 2, 3)).reshape(B, C, A, S)


class RFFeatureExtractor(nn.Module):
    """RF feature extractor, Eqs. (22)-(26): echo ``R [B, C, A, S]`` complex64 -> ``s_RF [B, L_sf, d_sf]``.

    Arrangement: the echo is a complex "image" over antennas x fast-time samples (angle x range) with the
    chirps as input channels, so the first complex convolution combines chirps with complex weights - a learned
    Doppler filter bank - while the spatial kernels see angle and range. ``num_chirps = 1`` works the same.

    Normalisation (inside the module, per sample): echo amplitudes are tiny (1e-6 .. 1e-3) and span decades, so
    the echo is divided by its RMS over (C, A, S). The level itself carries range / RCS information, so it is kept
    as ``a = (20 log10(RMS) - amplitude_ref_db) / amplitude_scale_db`` (about [-1, 1] for the defaults, RMS
    1e-6 .. 1e-4) and embedded by a small MLP (1 -> d_sf -> d_sf) that is added to every token of Eq. (26)'s
    output. (A single extra input column of the Eq. 26 Linear was tried first: among ~1000 inputs it learned far
    too slowly; the embedding lets the level be used within a few steps.)

    Three stages of ComplexConv2d 3x3 (Eqs. 22-23) -> CReLU (Eq. 24) -> ComplexMaxPool2d 2x2 take
    ``[B, C, A, S]`` to ``[B, c_3, ceil(A/8), ceil(S/8)]``; Eq. (25) concatenates real and imaginary parts to
    ``[B, 2 c_3, A/8, S/8]``; flattened, it is mapped by a Linear to ``L_sf * d_sf`` and viewed as
    ``[B, L_sf, d_sf]`` (Eq. 26); then ``s_RF = that + AmplitudeMLP(a)``.

    Two additions that keep what the physics gives (README "Learning"; each a switch of the model config):
    ``front_end`` (a :class:`RadarFrontEnd`) transforms the echo into its range-Doppler-beam cube before the
    normalisation, so the complex CNN of Eqs. (22)-(26) reads peaks rather than chirps; ``detection_features`` > 0
    embeds the device's own radar detection ``[B, D]`` (``data/detections.py``: detected flag, peak SNR, the
    detected point, its normalised range / angles / Doppler, RCS) by an MLP added to every token, like the level.
    """

    def __init__(self, num_chirps: int, num_antennas: int, num_samples: int, L_sf: int, d_sf: int,
                 channels: Sequence[int] = (16, 32, 64), amplitude_ref_db: float = -100.0,
                 amplitude_scale_db: float = 20.0, check_inputs: bool = True,
                 front_end: RadarFrontEnd | None = None, detection_features: int = 0):
        super().__init__()
        self.front_end = front_end
        self.input_shape = (num_chirps, num_antennas, num_samples)
        self.L_sf, self.d_sf = L_sf, d_sf
        self.amplitude_ref_db, self.amplitude_scale_db = amplitude_ref_db, amplitude_scale_db
        self.check_inputs = check_inputs
        widths = [num_chirps, *channels]
        self.convs = nn.ModuleList(ComplexConv2d(c_in, c_out, 3, padding=1) for c_in, c_out in pairwise(widths))
        self.pool = ComplexMaxPool2d(2)
        A, S = num_antennas, num_samples
        for _ in channels:
            A, S = math.ceil(A / 2), math.ceil(S / 2)
        self.out_grid = (A, S)
        self.linear = nn.Linear(2 * widths[-1] * A * S, L_sf * d_sf)  # Eq. (26)
        self.amplitude_embed = nn.Sequential(nn.Linear(1, d_sf), nn.GELU(), nn.Linear(d_sf, d_sf))  # a -> [d_sf]
        self.detection_features = detection_features
        self.detection_embed = nn.Sequential(nn.Linear(detection_features, d_sf), nn.GELU(), nn.Linear(d_sf, d_sf)) \
            if detection_features else None                                                        # [D] -> [d_sf]

    def normalize(self, echo: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample RMS normalisation: (echo / RMS [B, C, A, S], amplitude feature a [B, 1])."""
        rms = (echo.real.square() + echo.imag.square()).mean(dim=(1, 2, 3)).sqrt().clamp_min(1e-12)  # [B]
        amplitude = (20.0 * torch.log10(rms) - self.amplitude_ref_db) / self.amplitude_scale_db
        return echo / rms[:, None, None, None], amplitude[:, None]

    def forward(self, echo: torch.Tensor, detection: torch.Tensor | None = None) -> torch.Tensor:
        if self.check_inputs:
            check_tensor("echo", echo, "complex64 [B, C, A, S]", echo.dtype == torch.complex64,
                         (None, *self.input_shape))
        with torch.autocast(echo.device.type, enabled=False):  # complex tensors have no bfloat16: stay float32
            z, amplitude = self.normalize(self.front_end(echo) if self.front_end is not None else echo)
            for conv in self.convs:
                z = self.pool(complex_relu(conv(z)))                       # Eqs. (22)-(24), complex max-pooling
            z3 = torch.cat([z.real, z.imag], dim=1)                          # Eq. (25): [B, 2 c_3, A', S']
        s_rf = self.linear(z3.flatten(1)).view(-1, self.L_sf, self.d_sf)  # Eq. (26): [B, L_sf, d_sf]
        s_rf = s_rf + self.amplitude_embed(amplitude)[:, None, :]         # + level embedding on every token
        if self.detection_embed is not None:
            if detection is None:
                raise ValueError(f"this RF branch embeds the device's detection: give detection [B, "
                                 f"{self.detection_features}] (data/detections.py)")
            if self.check_inputs:
                check_tensor("detection", detection, "float [B, D]", detection.is_floating_point(),
                             (echo.shape[0], self.detection_features))
            s_rf = s_rf + self.detection_embed(detection.float())[:, None, :]
        return s_rf


def cue_weights(cue: torch.Tensor, height: int, width: int, sigma: float = 0.5) -> torch.Tensor:
    """Pooling weights [B, h, w] (each summing to 1) of a feature map around image points ``cue [B, 2]``.

    ``cue`` holds (u, v) in [-1, 1] (-1: left / top edge, +1: right / bottom edge, ``data/detections.project``);
    cell (i, j) has its centre at ((2 j + 1) / w - 1, (2 i + 1) / h - 1), and its weight is a Gaussian of the
    distance to the point with standard deviation ``sigma`` (in the same [-1, 1] units; 0.5 = one cell of a 4 x 4
    map), normalised over the map.
    """
    ys = (2 * torch.arange(height, device=cue.device, dtype=cue.dtype) + 1) / height - 1
    xs = (2 * torch.arange(width, device=cue.device, dtype=cue.dtype) + 1) / width - 1
    d2 = (xs[None, None, :] - cue[:, 0, None, None]).square() + (ys[None, :, None] - cue[:, 1, None, None]).square()
    return torch.softmax((-d2 / (2 * sigma**2)).flatten(1), dim=1).view(-1, height, width)


class VisualFeatureExtractor(nn.Module):
    """Vision feature extractor, Eqs. (27)-(31): image ``V [B, 3, H, W]`` in [0, 1] -> ``s_CV [B, L_sf, d_sf]``.

    The backbone is ``timm.create_model(variant, features_only=True, out_indices=(-1,))`` - a ConvNeXt: 4x4 stem
    (Eq. 27), four stages of ConvNeXt blocks with 2x2 downsampling (Eq. 28), blocks DWConv -> LayerNorm -> MLP
    with GELU -> layer-scale + DropPath residual (Eqs. 29-31). Weights are always random (``pretrained=False``);
    the image is still standardised with the variant's ImageNet mean/std so pretrained weights could be dropped in.

    The last stage's map ``[B, C_4, h, w]`` (h = H/32 for ConvNeXt) is read as ``N = h w`` tokens, projected
    per token to ``d_sf`` (Linear C_4 -> d_sf) and then mapped along the token axis by a Linear N -> L_sf. A
    learned linear map over tokens (rather than adaptive average pooling) keeps *where* in the image a feature
    is - what azimuth and pitch depend on - and also works when L_sf > N. It fixes N, hence ``image_size``.

    Camera cue (``camera_cue=True``): every target of a frame shares the image, so the image alone cannot say
    which target a sample is about (a camera-only scheme is ill-posed per target). With ``cue [B, 3]`` = (u, v,
    valid), the device's own radar detection projected into its calibrated image (``data/detections.py``), the
    last map is also pooled with :func:`cue_weights` around (u, v); that vector, projected to ``d_sf`` and scaled
    by ``valid``, is added to every token.
    """

    def __init__(self, L_sf: int, d_sf: int, image_size: int | tuple[int, int], variant: str = "convnext_atto",
                 drop_path_rate: float = 0.0, check_inputs: bool = True, camera_cue: bool = False):
        super().__init__()
        self.image_size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        self.L_sf, self.d_sf, self.check_inputs = L_sf, d_sf, check_inputs
        self.backbone = timm.create_model(variant, pretrained=False, features_only=True, out_indices=(-1,),
                                          drop_path_rate=drop_path_rate)
        cfg = self.backbone.pretrained_cfg
        self.register_buffer("mean", torch.tensor(cfg.get("mean", (0.5,) * 3)).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg.get("std", (0.5,) * 3)).view(1, 3, 1, 1), persistent=False)
        with torch.no_grad():  # number of tokens N of the last feature map for this image size
            was_training = self.backbone.training
            h, w = self.backbone.eval()(torch.zeros(1, 3, *self.image_size))[-1].shape[-2:]
            self.backbone.train(was_training)
        self.num_tokens = h * w
        channels = self.backbone.feature_info.channels()[-1]
        self.proj = nn.Linear(channels, d_sf)                                   # per token: C_4 -> d_sf
        self.token_map = nn.Linear(self.num_tokens, L_sf)                       # over tokens: N -> L_sf
        self.cue_proj = nn.Linear(channels, d_sf) if camera_cue else None      # pooled at the cue: C_4 -> d_sf

    def forward(self, image: torch.Tensor, cue: torch.Tensor | None = None) -> torch.Tensor:
        if self.check_inputs:
            check_tensor("image", image, "float [B, 3, H, W]", image.is_floating_point(),
                         (None, 3, *self.image_size))
        shared = image.shape[0] > 1 and image.stride(0) == 0  # one image expanded over a frame's targets
        f = self.backbone(((image[:1] if shared else image) - self.mean) / self.std)[-1]  # Eqs. (27)-(31)
        f = f.expand(image.shape[0], -1, -1, -1) if shared else f   # [B, C_4, h, w]: the backbone ran once
        tokens = self.proj(f.flatten(2).transpose(1, 2))           # [B, N, d_sf]
        s_cv = self.token_map(tokens.transpose(1, 2)).transpose(1, 2)  # s_CV [B, L_sf, d_sf]
        if self.cue_proj is None:
            return s_cv
        if cue is None:
            raise ValueError("this camera branch is cued by the radar detection: give cue [B, 3] = (u, v, valid)")
        weights = cue_weights(cue[:, :2].float(), *f.shape[-2:])                     # [B, h, w]
        pooled = torch.einsum("bchw,bhw->bc", f, weights.to(f.dtype))                # [B, C_4]
        return s_cv + (cue[:, 2:3].to(f.dtype) * self.cue_proj(pooled))[:, None, :]


class CrossAttentionFusion(nn.Module):
    """Bidirectional cross-attention fusion, Eqs. (32)-(35): (s_RF, s_CV) [B, L_sf, d_sf] -> s_mul [B, L_sf, d_sf].

    ``rf_queries_cv`` holds (W_q^1, W_k^2, W_v^2): RF queries attend to vision keys/values, Eq. (32);
    ``cv_queries_rf`` holds (W_q^2, W_k^1, W_v^1): vision queries attend to RF keys/values, Eq. (33). Each is a
    :class:`torch.nn.MultiheadAttention` (with its own output projection). Then, as printed,
    ``z_fusion = z_CV + z_RF`` (34) and ``s_mul = LayerNorm(z_fusion) + s_RF + s_CV`` (35).

    ``gating=True`` adds MMSense's modality gating: ``s_mul = LayerNorm(z_fusion) + g_RF s_RF + g_CV s_CV`` with
    ``(g_RF, g_CV) = 2 sigmoid(W [mean s_RF, mean s_CV])``, W zero-initialised so training starts from Eq. (35);
    the gates can then turn a modality down per sample (a fogged or dark image, a blocked echo).
    """

    def __init__(self, d_sf: int, num_heads: int = 4, dropout: float = 0.0, gating: bool = False):
        super().__init__()
        self.rf_queries_cv = nn.MultiheadAttention(d_sf, num_heads, dropout=dropout, batch_first=True)
        self.cv_queries_rf = nn.MultiheadAttention(d_sf, num_heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(d_sf)
        self.gate = nn.Linear(2 * d_sf, 2) if gating else None
        if self.gate is not None:
            nn.init.zeros_(self.gate.weight)
            nn.init.zeros_(self.gate.bias)

    def gates(self, s_rf: torch.Tensor, s_cv: torch.Tensor) -> torch.Tensor:
        """(g_RF, g_CV) [B, 2]; ones without gating."""
        if self.gate is None:
            return s_rf.new_ones(s_rf.shape[0], 2)
        return 2 * torch.sigmoid(self.gate(torch.cat([s_rf.mean(1), s_cv.mean(1)], dim=-1)))

    def forward(self, s_rf: torch.Tensor, s_cv: torch.Tensor) -> torch.Tensor:
        z_cv, _ = self.rf_queries_cv(s_rf, s_cv, s_cv, need_weights=False)  # Eq. (32)
        z_rf, _ = self.cv_queries_rf(s_cv, s_rf, s_rf, need_weights=False)  # Eq. (33)
        z_fusion = z_cv + z_rf                                               # Eq. (34)
        if self.gate is None:
            return self.norm(z_fusion) + s_rf + s_cv                         # Eq. (35)
        g = self.gates(s_rf, s_cv)[:, :, None, None]
        return self.norm(z_fusion) + g[:, 0] * s_rf + g[:, 1] * s_cv


class RVFN(nn.Module):
    """RVFN, Algorithm 2: ``forward(image [B, 3, H, W], echo [B, C, A, S] complex64) -> s_mul [B, L_sf, d_sf]``.

    ``modality``: ``"both"`` - RF and vision extractors fused by cross attention (Eqs. 22-35); ``"rf"`` or
    ``"cv"`` - one extractor only, whose feature is ``s_mul`` directly (single-modality baselines); the unused
    input is ignored and may be None. Inputs of the wrong dtype or shape, or with NaN/Inf, raise ValueError.

    ``detection [B, D]`` (``data/detections.py``) is the device's own radar detection: embedded by the RF branch
    when ``detection_features`` > 0, and its camera-cue columns ``cue_columns`` cue the camera branch when
    ``camera_cue`` (RF + camera only: a camera-only scheme has no radar to cue it).
    """

    def __init__(self, modality: str = "both", *, image_size: int | tuple[int, int], num_chirps: int,
                 num_antennas: int, num_samples: int, L_sf: int, d_sf: int, visual_backbone: str = "convnext_atto",
                 rf_channels: Sequence[int] = (16, 32, 64), num_heads: int = 4, drop_path_rate: float = 0.0,
                 fusion_dropout: float = 0.0, check_inputs: bool = True, front_end: RadarFrontEnd | None = None,
                 detection_features: int = 0, camera_cue: bool = False, cue_columns: slice | None = None,
                 gating: bool = False):
        super().__init__()
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
        self.modality, self.L_sf, self.d_sf = modality, L_sf, d_sf
        self.cued = camera_cue and modality == "both"
        if self.cued and cue_columns is None:
            raise ValueError("camera_cue needs cue_columns: where (u, v, valid) are in the detection vector")
        self.cue_columns = cue_columns
        self.rf = RFFeatureExtractor(num_chirps, num_antennas, num_samples, L_sf, d_sf, rf_channels,
                                     check_inputs=check_inputs, front_end=front_end,
                                     detection_features=detection_features) if modality in ("both", "rf") else None
        self.cv = VisualFeatureExtractor(L_sf, d_sf, image_size, visual_backbone, drop_path_rate,
                                         check_inputs=check_inputs, camera_cue=self.cued) \
            if modality in ("both", "cv") else None
        self.fusion = CrossAttentionFusion(d_sf, num_heads, fusion_dropout, gating) if modality == "both" else None

    def forward(self, image: torch.Tensor | None, echo: torch.Tensor | None,
                detection: torch.Tensor | None = None) -> torch.Tensor:
        if self.modality == "rf":
            return self.rf(echo, detection)                       # Alg. 2 line 1 only
        if self.modality == "cv":
            return self.cv(image)                                 # Alg. 2 line 2 only
        cue = detection[:, self.cue_columns] if self.cued and detection is not None else None
        s_rf, s_cv = self.rf(echo, detection), self.cv(image, cue)  # Alg. 2 lines 1-2
        if s_rf.shape[0] != s_cv.shape[0]:
            raise ValueError(f"image and echo must have the same batch size B, got image {list(image.shape)} "
                             f"and echo {list(echo.shape)}")
        return self.fusion(s_rf, s_cv)                            # Alg. 2 line 3
