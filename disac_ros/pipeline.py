"""ROS-free logic of the live graph: stamp pairing, the aggregation window, the link model and stage timings.

The nodes in :mod:`disac_ros.nodes` only convert messages and call into this module and
:mod:`disac_ros.inference`, so everything here is unit-tested without rclpy.

* :class:`FrameAssembler` pairs one camera image with the echoes of all N targets of the same stamp
  (a device encoder, and the aggregation center for its own sensors), in a bounded buffer that drops stale,
  duplicate and out-of-order stamps.
* :class:`CollaboratorWindow` holds the center's frames until every live collaborator's codes of that stamp
  arrived or ``window_s`` passed, whichever comes first; a collaborator silent for ``dead_after_s`` is not
  waited for at all.
* :func:`snr_at`, :func:`path_gain`, :func:`link_statistics` and :func:`transmit_codes`: the channel of
  Eqs. (8)-(10) as the training path applies it.
* :class:`StageTimes` collects the per-stage times of Eq. (14).

Stamps are integer nanoseconds (``sec * 10**9 + nanosec``) so that equal stamps compare equal.
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

NS = 1_000_000_000

#: Reasons an input is dropped; each is counted and logged (throttled) by the nodes.
DROP_REASONS = ("encoding", "size", "nan", "unknown_device", "unknown_target", "stale", "out_of_order",
                "duplicate", "overflow", "late", "invalid")

#: Field order of the link statistics (std_msgs/Float64MultiArray on /<device>/link/stats).
LINK_STATS_FIELDS = ("stamp_s", "target_id", "payload_bytes", "payload_bits", "snr_db", "distance_m", "gain",
                     "noise_power_w", "rate_bps", "delay_s")

#: Field order of an encoder's per-frame timings (std_msgs/Float64MultiArray on /<device>/semantic/timing).
ENCODER_TIMING_FIELDS = ("stamp_s", "feature_extraction_s", "encoding_s")

#: The stages of Eq. (14): t_ft + t_se + t_com + t_sd + t_fa.
STAGES = ("feature_extraction", "encoding", "transmission", "decoding", "aggregation")

SNR_PROFILES = ("constant", "sine")


class Dropped(ValueError):
    """An input the node must log and drop; ``reason`` is one of :data:`DROP_REASONS`."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def stamp_ns(header) -> int:
    """A message header's stamp in integer nanoseconds (rclpy and rosbags messages alike)."""
    return int(header.stamp.sec) * NS + int(header.stamp.nanosec)


def classify_error(message: str) -> str:
    """Map a conversion error (``disac_ros.ros.convert`` / ``inference``) to a drop reason."""
    text = message.lower()
    if "encoding" in text:
        return "encoding"
    if "nan" in text or "inf" in text:
        return "nan"
    if "expected" in text or "must be" in text:
        return "size"
    return "invalid"


# --------------------------------------------------------------------------------------------------------------
# Pairing one device's image with all its targets' echoes
# --------------------------------------------------------------------------------------------------------------
@dataclass
class Frame:
    """One device's complete sensor frame: image [H, W, 3] uint8 and echoes [N, C, A, S] complex64."""

    stamp: int
    image: np.ndarray
    echoes: np.ndarray


@dataclass
class _Partial:
    image: np.ndarray | None = None
    echoes: dict[int, np.ndarray] = field(default_factory=dict)


class FrameAssembler:
    """Pairs an image and the echoes of all ``num_targets`` targets by stamp, in a bounded buffer.

    ``add_image`` / ``add_echo`` return the :class:`Frame` that the call completed, else ``None``; they raise
    :class:`Dropped` for an input that must be dropped:

    * ``stale``: older than ``stale_after_s`` before the reference time, the later of ``now_ns`` (the node's
      clock, sim time under ``use_sim_time``; 0 = unknown) and the newest stamp seen;
    * ``out_of_order`` / ``duplicate``: not newer than the last frame completed (a frame is emitted once, in order);
    * ``unknown_target``: a target id outside ``0..num_targets-1``.

    At most ``max_pending`` incomplete stamps are kept; the oldest is discarded (and counted in
    ``discarded``) when a new stamp would exceed it, or when a newer frame completes first.
    """

    def __init__(self, num_targets: int, stale_after_s: float = 2.0, max_pending: int = 8):
        if num_targets < 1 or max_pending < 1 or not stale_after_s > 0:
            raise ValueError("FrameAssembler needs num_targets >= 1, max_pending >= 1 and stale_after_s > 0")
        self.num_targets = num_targets
        self.stale_after_ns = int(stale_after_s * NS)
        self.max_pending = max_pending
        self._pending: OrderedDict[int, _Partial] = OrderedDict()
        self.last_emitted: int | None = None
        self.newest_seen: int | None = None
        self.discarded = 0

    def _admit(self, stamp: int, now_ns: int) -> _Partial:
        reference = max(now_ns, self.newest_seen or 0)
        if reference - stamp > self.stale_after_ns:
            raise Dropped("stale", f"stamp {stamp / NS:.3f} s is {(reference - stamp) / NS:.3f} s old "
                                   f"(stale after {self.stale_after_ns / NS:g} s)")
        if self.last_emitted is not None and stamp <= self.last_emitted:
            kind = "duplicate" if stamp == self.last_emitted else "out_of_order"
            raise Dropped(kind, f"stamp {stamp / NS:.3f} s is not newer than the last frame "
                                f"{self.last_emitted / NS:.3f} s ({kind.replace('_', ' ')})")
        self.newest_seen = max(self.newest_seen or stamp, stamp)
        if stamp not in self._pending:
            while len(self._pending) >= self.max_pending:
                self._pending.popitem(last=False)
                self.discarded += 1
            self._pending[stamp] = _Partial()
            self._pending = OrderedDict(sorted(self._pending.items()))
        return self._pending[stamp]

    def add_image(self, stamp: int, image: np.ndarray, now_ns: int = 0) -> Frame | None:
        self._admit(stamp, now_ns).image = image
        return self._complete(stamp)

    def add_echo(self, stamp: int, target_id: int, echo: np.ndarray, now_ns: int = 0) -> Frame | None:
        if not 0 <= int(target_id) < self.num_targets:
            raise Dropped("unknown_target", f"target id {target_id} outside 0..{self.num_targets - 1}")
        self._admit(stamp, now_ns).echoes[int(target_id)] = echo
        return self._complete(stamp)

    def _complete(self, stamp: int) -> Frame | None:
        part = self._pending[stamp]
        if part.image is None or len(part.echoes) < self.num_targets:
            return None
        for older in [s for s in self._pending if s <= stamp]:  # older incomplete frames can no longer be emitted
            del self._pending[older]
            if older != stamp:
                self.discarded += 1
        self.last_emitted = stamp
        return Frame(stamp, part.image, np.stack([part.echoes[n] for n in range(self.num_targets)]))

    @property
    def pending(self) -> int:
        return len(self._pending)


# --------------------------------------------------------------------------------------------------------------
# The aggregation center's window over collaborators
# --------------------------------------------------------------------------------------------------------------
@dataclass
class LinkCodes:
    """One collaborator's codes of one stamp as received: codes [N, L_se, d_se] float32 and its link."""

    codes: np.ndarray
    snr_db: float
    distance_m: float


@dataclass
class Ready:
    """A center frame released for aggregation with whatever collaborators arrived for its stamp."""

    frame: Frame
    received: dict[str, LinkCodes]
    waited_s: float
    timed_out: bool


class CollaboratorWindow:
    """Holds each center frame until its collaborators' codes arrived or ``window_s`` passed.

    Codes arrive per (collaborator, stamp, target); a collaborator counts for a stamp once all ``num_targets``
    codes of that stamp are in. A center frame is released (by :meth:`add_code`, :meth:`add_frame` or
    :meth:`poll`) as soon as every *live* collaborator delivered, or after ``window_s`` with whatever arrived.
    A collaborator is live when it delivered a complete stamp within the last ``dead_after_s`` (wall time,
    ``clock``); one never heard from is waited for (up to the window) so that start-up does not drop devices.
    Codes of a stamp already released (or older than ``stale_after_s`` behind the newest center frame) are
    dropped as ``late`` / ``stale``. Buffers are bounded by ``max_pending`` stamps.
    """

    def __init__(self, collaborators: Iterable[str], num_targets: int, window_s: float = 0.5,
                 dead_after_s: float = 3.0, stale_after_s: float = 2.0, max_pending: int = 8,
                 clock: Callable[[], float] = time.monotonic):
        self.collaborators = list(collaborators)
        if not window_s >= 0 or not dead_after_s > 0 or not stale_after_s > 0 or max_pending < 1:
            raise ValueError("CollaboratorWindow needs window_s >= 0, dead_after_s > 0, stale_after_s > 0 and "
                             "max_pending >= 1")
        self.num_targets = num_targets
        self.window_s, self.dead_after_s = window_s, dead_after_s
        self.stale_after_ns = int(stale_after_s * NS)
        self.max_pending = max_pending
        self.clock = clock
        self._frames: OrderedDict[int, tuple[Frame, float]] = OrderedDict()
        self._codes: dict[int, dict[str, dict[int, tuple[np.ndarray, float, float]]]] = defaultdict(dict)
        self._last_complete: dict[str, float] = {}
        self.released_until: int | None = None
        self.discarded = 0

    def live(self, now: float | None = None) -> list[str]:
        """Collaborators to wait for: heard from within ``dead_after_s``, or never heard from yet."""
        now = self.clock() if now is None else now
        return [k for k in self.collaborators
                if k not in self._last_complete or now - self._last_complete[k] <= self.dead_after_s]

    def add_frame(self, frame: Frame) -> list[Ready]:
        if self.released_until is not None and frame.stamp <= self.released_until:
            raise Dropped("out_of_order", f"center frame {frame.stamp / NS:.3f} s is not newer than the last "
                                          f"released {self.released_until / NS:.3f} s")
        self._frames[frame.stamp] = (frame, self.clock())
        out = []
        while len(self._frames) > self.max_pending:  # too far behind: release the oldest with what it has
            out.append(self._release(next(iter(self._frames)), timed_out=True))
        return out + self.poll()

    def add_code(self, device_id: str, stamp: int, target_id: int, code: np.ndarray, snr_db: float,
                 distance_m: float) -> list[Ready]:
        if device_id not in self.collaborators:
            raise Dropped("unknown_device", f"code from {device_id!r}; collaborators are {self.collaborators}")
        if not 0 <= int(target_id) < self.num_targets:
            raise Dropped("unknown_target", f"target id {target_id} outside 0..{self.num_targets - 1}")
        if not (math.isfinite(snr_db) and math.isfinite(distance_m)):
            raise Dropped("invalid", f"code from {device_id} without a finite link SNR/distance "
                                     f"({snr_db}, {distance_m}): not from the channel")
        if self.released_until is not None and stamp <= self.released_until:
            raise Dropped("late", f"code of {device_id} for {stamp / NS:.3f} s arrived after that frame was "
                                  f"aggregated")
        newest = max(self._frames, default=self.released_until or 0)
        if newest - stamp > self.stale_after_ns:
            raise Dropped("stale", f"code of {device_id} for {stamp / NS:.3f} s is {(newest - stamp) / NS:.3f} s "
                                   f"behind the center")
        per_device = self._codes[stamp].setdefault(device_id, {})
        per_device[int(target_id)] = (code, float(snr_db), float(distance_m))
        if len(per_device) == self.num_targets:
            self._last_complete[device_id] = self.clock()
        while len(self._codes) > self.max_pending:
            del self._codes[min(self._codes)]
            self.discarded += 1
        return self.poll()

    def _complete_devices(self, stamp: int) -> dict[str, LinkCodes]:
        out = {}
        for device_id, per_target in self._codes.get(stamp, {}).items():
            if len(per_target) == self.num_targets:
                codes = np.stack([per_target[n][0] for n in range(self.num_targets)]).astype(np.float32)
                snrs = [per_target[n][1] for n in range(self.num_targets)]
                dists = [per_target[n][2] for n in range(self.num_targets)]
                out[device_id] = LinkCodes(codes, float(np.mean(snrs)), float(np.mean(dists)))
        return out

    def _release(self, stamp: int, timed_out: bool) -> Ready:
        frame, arrived = self._frames.pop(stamp)
        received = self._complete_devices(stamp)
        for s in [s for s in self._codes if s <= stamp]:
            del self._codes[s]
        for s in [s for s in self._frames if s < stamp]:  # never release out of order
            self._frames.pop(s)
            self.discarded += 1
        self.released_until = stamp
        return Ready(frame, received, self.clock() - arrived, timed_out)

    def poll(self) -> list[Ready]:
        """Release every frame whose live collaborators all arrived or whose window expired, oldest first."""
        now = self.clock()
        live = self.live(now)
        out = []
        for stamp in list(self._frames):
            if stamp not in self._frames:
                continue
            _, arrived = self._frames[stamp]
            complete = self._complete_devices(stamp)
            if all(k in complete for k in live):
                out.append(self._release(stamp, timed_out=False))
            elif now - arrived >= self.window_s:
                out.append(self._release(stamp, timed_out=True))
            else:
                break  # keep order: a later frame waits for this one
        return out


# --------------------------------------------------------------------------------------------------------------
# Link model (Eqs. 8-10)
# --------------------------------------------------------------------------------------------------------------
def snr_at(t: float, snr_db: float, profile: str = "constant", amplitude_db: float = 0.0,
           period_s: float = 10.0, phase: float = 0.0) -> float:
    """Reference-distance SNR [dB] at sim time ``t`` [s].

    ``constant``: ``snr_db``. ``sine``: ``snr_db + amplitude_db * sin(2 pi t / period_s + phase)``.
    """
    if profile not in SNR_PROFILES:
        raise ValueError(f"snr_profile must be one of {SNR_PROFILES}, got {profile!r}")
    if not math.isfinite(snr_db):
        raise ValueError(f"snr_db must be finite, got {snr_db}")
    if profile == "constant":
        return float(snr_db)
    if not period_s > 0:
        raise ValueError(f"snr_period_s must be > 0 for the sine profile, got {period_s}")
    return float(snr_db + amplitude_db * math.sin(2 * math.pi * t / period_s + phase))


def path_gain(distance_m: float, reference_distance_m: float = 1.0, exponent: float = 0.0) -> float:
    """Power gain H_k = (d_ref / d)^alpha of a link of length ``distance_m``; alpha = 0 gives H = 1 (pure AWGN)."""
    if not (distance_m > 0 and reference_distance_m > 0 and exponent >= 0):
        raise ValueError("path_gain needs distance_m > 0, reference_distance_m > 0 and exponent >= 0")
    return float((reference_distance_m / distance_m) ** exponent)


def link_snr_db(snr_ref_db: float, gain: float) -> float:
    """Received SNR [dB] of a link with power gain ``gain`` when ``snr_ref_db`` is the SNR at H = 1."""
    return float(snr_ref_db + 10.0 * math.log10(gain))


def link_statistics(payload_bytes: int, snr_ref_db: float, gain: float, bandwidth_hz: float = 1000.0,
                    power_w: float = 1.0) -> dict[str, float]:
    """Bytes, Shannon rate (Eq. 9) and transmission delay (Eq. 10) of one code over one link.

    The noise power N_0 is fixed by the reference SNR, ``P / N_0 = 10^(snr_ref_db / 10)``, so
    ``P H / N_0`` is the link's received SNR and ``V = B log2(1 + P H / N_0)``; ``t_com = 8 * bytes / V``.
    """
    from disac_ros.models.lstn import link_rate, transmission_delay

    noise = power_w / 10.0 ** (snr_ref_db / 10.0)
    rate = link_rate(bandwidth_hz, power_w, gain, noise)
    bits = 8 * int(payload_bytes)
    return {"payload_bytes": float(payload_bytes), "payload_bits": float(bits),
            "snr_db": link_snr_db(snr_ref_db, gain), "gain": float(gain), "noise_power_w": float(noise),
            "rate_bps": float(rate), "delay_s": float(transmission_delay(bits, rate))}


def transmit_codes(codes: np.ndarray, snr_db: float, gain: float = 1.0, lossless: bool = False,
                   generator=None) -> np.ndarray:
    """The channel as training applies it: modulate -> ``y = sqrt(H) c + n`` at ``snr_db`` -> equalise -> demodulate.

    ``codes`` [B, L_se, d_se] float32; ``snr_db`` is the *received* SNR (noise scaled to the measured power of
    ``sqrt(H) c``, :class:`disac_ros.models.lstn.AWGNChannel`). The receiver knows H (from the distance) and
    divides by it, so the decoder sees ``e + n'`` at that SNR for any H, exactly as in training (H = 1).
    ``generator``: a ``torch.Generator`` for reproducible noise (default: torch's global RNG).
    """
    import torch

    from disac_ros.models.lstn import AWGNChannel, demodulate, modulate

    codes = np.asarray(codes, dtype=np.float32)
    if codes.ndim != 3 or not np.isfinite(codes).all():
        raise ValueError(f"codes must be a finite float32 [B, L_se, d_se] array, got {list(codes.shape)}")
    c = modulate(torch.from_numpy(codes))
    if generator is not None:  # AWGNChannel draws from the global RNG; fork it around the call for a seeded link
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
            y = _channel(AWGNChannel, c, snr_db, gain, lossless)
    else:
        y = _channel(AWGNChannel, c, snr_db, gain, lossless)
    return demodulate(y, codes.shape).numpy().astype(np.float32)


def _channel(cls, c, snr_db: float, gain: float, lossless: bool):
    channel = cls(gain=math.sqrt(gain), lossless=lossless, equalize=True).eval()
    return channel(c, float(snr_db))


# --------------------------------------------------------------------------------------------------------------
# Timings (Eq. 14) and throttled warnings
# --------------------------------------------------------------------------------------------------------------
class StageTimes:
    """Recent per-frame durations [s] per named stage (bounded), with summaries."""

    def __init__(self, maxlen: int = 200):
        self._values: dict[str, deque] = defaultdict(lambda: deque(maxlen=maxlen))

    def add(self, stage: str, seconds: float) -> None:
        self._values[stage].append(float(seconds))

    def last(self, stage: str, default: float = math.nan) -> float:
        values = self._values.get(stage)
        return values[-1] if values else default

    def percentile(self, stage: str, q: float) -> float:
        values = self._values.get(stage)
        return float(np.percentile(list(values), q)) if values else math.nan

    def mean(self, stage: str) -> float:
        values = self._values.get(stage)
        return float(np.mean(list(values))) if values else math.nan

    def count(self, stage: str) -> int:
        return len(self._values.get(stage, ()))

    def summary(self, stages: Iterable[str] | None = None) -> str:
        """``stage p50/p95 ms`` for every stage with data, e.g. ``decoding 12.0/15.1 ms``."""
        names = list(stages) if stages is not None else list(self._values)
        return ", ".join(f"{s} {1e3 * self.percentile(s, 50):.1f}/{1e3 * self.percentile(s, 95):.1f} ms"
                         for s in names if self.count(s))


def execution_time(per_device: dict[str, dict[str, float]]) -> tuple[float, str | None]:
    """Eq. (14): ``T_exe = max_k (t_ft + t_se + t_com + t_sd + t_fa)`` over devices; returns (T_exe, argmax k).

    Each value maps stage names of :data:`STAGES` to seconds; a missing or NaN stage counts as 0.
    """
    best, who = 0.0, None
    for k, stages in per_device.items():
        total = sum(v for s in STAGES if math.isfinite(v := float(stages.get(s, 0.0))))
        if who is None or total > best:
            best, who = total, k
    return best, who


def module_timer(module, times: StageTimes, stage: str) -> list:
    """Time every forward call of a torch ``module`` into ``times[stage]``; returns the hook handles."""
    start: list[float] = []

    def pre(_module, _inputs):
        start.append(time.perf_counter())

    def post(_module, _inputs, _output):
        if start:
            times.add(stage, time.perf_counter() - start.pop())

    return [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]


class DropLog:
    """Counts dropped inputs per reason and decides when to log one (at most once per ``period_s`` per reason)."""

    def __init__(self, period_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.period_s, self.clock = period_s, clock
        self.counts: dict[str, int] = defaultdict(int)
        self._last: dict[str, float] = {}

    def drop(self, reason: str) -> bool:
        """Count one drop; True when it should be logged now."""
        self.counts[reason] += 1
        now = self.clock()
        if reason not in self._last or now - self._last[reason] >= self.period_s:
            self._last[reason] = now
            return True
        return False

    def summary(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())) or "none"


# --------------------------------------------------------------------------------------------------------------
# Geometry for markers
# --------------------------------------------------------------------------------------------------------------
def state_to_world(reference: np.ndarray, distance: float, azimuth: float, pitch: float) -> np.ndarray:
    """World position [3] of a target seen from ``reference`` [3] at (distance, azimuth, pitch), Eqs. (55)-(57)."""
    x, y, z = (float(v) for v in reference)
    return np.array([x + distance * math.cos(azimuth), y - distance * math.sin(azimuth),
                     z - distance * math.tan(pitch)])
