"""LSTN transmitter side and the channel (paper Sec. III-A3, Eqs. 7-8, and Sec. IV-C, Eq. 36).

The chain a collaborating device runs for every sample is::

    s_mul [B, L_sf, d_sf] --SemanticEncoder (Eq. 36)--> e [B, L_se, d_se]
        --modulate--> c [B, L_se*d_se/2] complex --AWGNChannel (Eq. 8)--> y --demodulate--> e_hat [B, L_se, d_se]

and the receiver's semantic decoder (:mod:`disac_ros.models.decoders`, Eqs. 37-40) turns ``e_hat`` and the textual
channel prompt (:mod:`disac_ros.models.prompt`) back into ``s_hat [B, L_sf, d_sf]``. The link's distance, gain, rate,
delay and payload (Eqs. 9-10) are in :mod:`disac_ros.models.link`.

Conventions where the paper leaves room (documented again on each object):

* **Power.** :class:`SemanticEncoder` ends with a per-sample power normalisation, ``mean(e**2) = 1``. :func:`modulate`
  is the fixed linear map ``c_k = (e_2k + j e_2k+1) / sqrt(2)``, so a code with unit mean square - every code the
  encoder emits - has average symbol power ``E|c|^2 = 1`` exactly, and :func:`demodulate` is its exact inverse.
  Keeping the normalisation in the encoder (as in deep JSCC) rather than in ``modulate`` is what makes the
  modulation round trip lossless without sending a scale as side information.
* **SNR.** :class:`AWGNChannel` sets the noise from the *measured* per-sample power of the received signal ``H c``,
  so the requested SNR holds for any input power. In training mode with ``snr_db=None`` it draws one SNR per sample
  uniformly from ``snr_range_db`` (0-25 dB, paper Sec. V-A2) at every forward pass.
"""
from __future__ import annotations

import math

import torch
from torch import nn

#: SNR range of the paper's experiments (Sec. V-A2): drawn uniformly per sample while training.
SNR_RANGE_DB: tuple[float, float] = (0.0, 25.0)

__all__ = [
    "SNR_RANGE_DB",
    "AWGNChannel",
    "SemanticEncoder",
    "demodulate",
    "modulate",
    "power_normalize",
]


def power_normalize(e: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale every sample of ``e`` [B, ...] to unit mean square (the transmitter's power constraint)."""
    power = e.pow(2).flatten(1).mean(dim=1).clamp_min(eps)
    return e / power.sqrt().view(-1, *([1] * (e.dim() - 1)))


class SemanticEncoder(nn.Module):
    """Eq. 36: ``e = Linear(s_mul)``, [B, L_sf, d_sf] -> [B, L_se, d_se] with L_se <= L_sf and d_se <= d_sf.

    A separable linear map: first a feature-axis ``Linear(d_sf, d_se)`` applied to every token, then a token-axis
    ``Linear(L_sf, L_se)`` that mixes the sequence down to ``L_se`` positions - one linear transformation as in the
    paper, with ``d_sf*d_se + L_sf*L_se`` weights instead of a dense ``(L_sf*d_sf) x (L_se*d_se)`` matrix. The
    output is centred and scaled per code element over the batch (``BatchNorm1d`` without affine parameters, running
    statistics at inference) and then power-normalised per sample (``mean(e**2) = 1``, see the module docstring)
    unless ``normalize_power=False``. The centring is our addition: without it the code learned a large component
    common to every sample early in training, which the unit-power constraint turned into a code that was nearly
    the same for every sample (under 1 % of its power varied) and drowned in channel noise.
    """

    def __init__(self, L_sf: int, d_sf: int, L_se: int, d_se: int, normalize_power: bool = True):
        super().__init__()
        for name, value in (("L_sf", L_sf), ("d_sf", d_sf), ("L_se", L_se), ("d_se", d_se)):
            if int(value) < 1:
                raise ValueError(f"{name} must be a positive integer, got {value}")
        if L_se > L_sf or d_se > d_sf:
            raise ValueError(f"the code must compress the feature: need L_se <= L_sf and d_se <= d_sf, got "
                             f"L_se={L_se}, L_sf={L_sf}, d_se={d_se}, d_sf={d_sf}")
        self.L_sf, self.d_sf, self.L_se, self.d_se = L_sf, d_sf, L_se, d_se
        self.normalize_power = normalize_power
        self.feature = nn.Linear(d_sf, d_se)
        self.token = nn.Linear(L_sf, L_se)
        self.center = nn.BatchNorm1d(L_se * d_se, affine=False)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        """``s`` [B, L_sf, d_sf] -> ``e`` [B, L_se, d_se]."""
        if s.dim() != 3 or tuple(s.shape[1:]) != (self.L_sf, self.d_sf):
            raise ValueError(f"SemanticEncoder expects a feature [B, {self.L_sf}, {self.d_sf}], got {tuple(s.shape)}")
        e = self.token(self.feature(s).transpose(1, 2)).transpose(1, 2)
        e = self.center(e.flatten(1)).view_as(e)
        return power_normalize(e) if self.normalize_power else e


def modulate(e: torch.Tensor) -> torch.Tensor:
    """Real code ``e`` [B, ...] -> complex symbols ``c`` [B, N/2] with N = numel per sample.

    Adjacent real pairs of the flattened code become the in-phase and quadrature parts of one symbol,
    ``c_k = (e_2k + j e_2k+1) / sqrt(2)``, so the average symbol power equals the code's mean square: exactly 1 for a
    power-normalised code (what :class:`SemanticEncoder` emits). Linear, differentiable, inverted by
    :func:`demodulate`. Raises ``ValueError`` when a sample has an odd number of values (e.g. odd ``L_se*d_se``).
    """
    if not torch.is_tensor(e) or e.dim() < 2 or e.is_complex():
        raise ValueError(f"modulate expects a real code [B, ...], got {getattr(e, 'shape', type(e))}")
    flat = e.flatten(1)
    if flat.shape[1] % 2:
        raise ValueError(f"modulate needs an even number of values per sample (L_se*d_se even), got {flat.shape[1]}")
    return torch.complex(flat[:, 0::2], flat[:, 1::2]) / math.sqrt(2.0)


def demodulate(y: torch.Tensor, shape: tuple[int, ...] | torch.Size | None = None) -> torch.Tensor:
    """Complex symbols ``y`` [B, M] -> real code ``e_hat`` [B, 2M], or reshaped to ``shape`` (e.g. [B, L_se, d_se]).

    The exact inverse of :func:`modulate` (no equalisation: see :class:`AWGNChannel`).
    """
    if not torch.is_tensor(y) or not y.is_complex() or y.dim() < 2:
        raise ValueError(f"demodulate expects complex symbols [B, M], got {getattr(y, 'shape', type(y))}")
    flat = y.flatten(1)
    e = torch.stack((flat.real, flat.imag), dim=-1).flatten(1) * math.sqrt(2.0)
    if shape is None:
        return e
    shape = tuple(shape)
    if math.prod(shape) != e.numel():
        raise ValueError(f"demodulate: {e.shape[1]} values per sample do not fit the requested shape {shape}")
    return e.reshape(shape)


def _snr_tensor(snr_db: float | torch.Tensor, batch: int, device: torch.device) -> torch.Tensor:
    snr = torch.as_tensor(snr_db, dtype=torch.float32, device=device)
    if snr.dim() == 0:
        snr = snr.expand(batch)
    if snr.dim() != 1 or snr.shape[0] != batch:
        raise ValueError(f"snr_db must be a float or a tensor [B={batch}], got shape {tuple(snr.shape)}")
    if not torch.isfinite(snr).all():
        raise ValueError("snr_db must be finite (dB), got NaN or inf")
    return snr


class AWGNChannel(nn.Module):
    """Differentiable channel of Eq. 8, ``y = H c + n``, with complex Gaussian noise ``n``.

    ``H`` is the (real or complex, scalar or per-sample [B]) ``gain``, 1 by default: the paper's experiments use the
    pure AWGN channel (Sec. V-A2). The noise power of sample b is ``P_b / 10**(snr_b / 10)`` where ``P_b`` is the
    measured mean power of ``H c`` of that sample (so the SNR is the received SNR); the power is taken without
    gradient, the noise is a constant perturbation for backpropagation and the gradient of ``y`` w.r.t. ``c`` is
    ``H``. ``equalize=True`` divides by the known ``H`` afterwards (zero forcing).

    ``snr_db`` may be a float, a tensor [B], or ``None``: in training mode ``None`` draws one SNR per sample
    uniformly from ``snr_range_db`` at every forward pass (paper Sec. V-A2: "the SNR is randomly selected for each
    forward pass"); in eval mode ``None`` is an error (evaluate at a fixed SNR). ``lossless=True`` returns ``c``
    unchanged - the "w/o SC loss" baseline.
    """

    def __init__(self, gain: complex | float | torch.Tensor = 1.0, lossless: bool = False,
                 snr_range_db: tuple[float, float] = SNR_RANGE_DB, equalize: bool = False):
        super().__init__()
        lo, hi = (float(v) for v in snr_range_db)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise ValueError(f"snr_range_db must be a finite (low, high) pair with low <= high, got {snr_range_db}")
        gain = torch.as_tensor(gain)
        if not torch.isfinite(torch.view_as_real(gain.to(torch.complex64))).all() or (gain == 0).any():
            raise ValueError(f"gain must be finite and non-zero, got {gain}")
        self.gain = gain
        self.lossless = lossless
        self.snr_range_db = (lo, hi)
        self.equalize = equalize

    def sample_snr(self, batch: int, device: torch.device | str | None = None,
                   generator: torch.Generator | None = None) -> torch.Tensor:
        """``batch`` SNRs in dB drawn uniformly from ``snr_range_db``, one per sample ([B], float32)."""
        lo, hi = self.snr_range_db
        return lo + (hi - lo) * torch.rand(batch, device=device, generator=generator)

    def forward(self, c: torch.Tensor, snr_db: float | torch.Tensor | None = None) -> torch.Tensor:
        """Complex symbols ``c`` [B, M] (or [B, ...]) -> received ``y`` of the same shape."""
        if not torch.is_tensor(c) or not c.is_complex() or c.dim() < 2:
            raise ValueError(f"AWGNChannel expects complex symbols [B, M], got {getattr(c, 'shape', type(c))}")
        if self.lossless:
            return c
        batch = c.shape[0]
        if snr_db is None:
            if not self.training:
                raise ValueError("snr_db is required in eval mode (a float or a tensor [B] in dB); only training "
                                 "draws it at random")
            snr = self.sample_snr(batch, c.device)
        else:
            snr = _snr_tensor(snr_db, batch, c.device)
        view = (batch, *([1] * (c.dim() - 1)))
        gain = self.gain.to(c.device)
        gain = gain.view(view) if gain.dim() == 1 and gain.shape[0] == batch else gain
        hc = gain * c
        power = hc.detach().abs().pow(2).flatten(1).mean(dim=1)
        sigma = (power / torch.pow(10.0, snr / 10.0)).sqrt().view(view)
        real_dtype = c.real.dtype
        noise = torch.complex(torch.randn(c.shape, device=c.device, dtype=real_dtype),
                              torch.randn(c.shape, device=c.device, dtype=real_dtype)) * (sigma / math.sqrt(2.0))
        y = hc + noise.to(c.dtype)
        return y / gain if self.equalize else y

    def transmit(self, code: torch.Tensor, snr_db: float | torch.Tensor | None = None) -> torch.Tensor:
        """A real code [B, ...] through the link: :func:`modulate`, this channel, :func:`demodulate` (same shape)."""
        return demodulate(self(modulate(code), snr_db), code.shape)
