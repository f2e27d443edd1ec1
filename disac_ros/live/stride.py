"""Frame stride: the center tells its devices to encode one frame in k when it cannot serve every frame.

Newest-first queues bound latency under overload, but on shared hardware the devices still encode every offered
frame and take CPU from the center, whose rate then falls below what it sustains alone. With a stride k every
node works on the same frames (:func:`on_stride`: by the index ``round(stamp / frame period)``, the multiples of an
integer k, 4 frames in 5 at k = 1.25), so the devices' work falls with the center's rate instead of competing
with it. k is one of :data:`STRIDES`, fine steps near 1: an integer stride's first step halves the rate (measured:
a placed stack at the edge of two cores served 9.10 or 5.00 frames per s at 10 offered, by whether the stride
settled at 1 or 2). The center picks k from its own load (:class:`StrideAdvisor`): offered ``rate`` frames per wall
second and ``service_s`` wall seconds per frame need ``rate * service_s`` of it; k is that load over
``utilisation``, rounded to the nearest stride. Rounding, not rounding up: a center offered just over its capacity
(load 1.0-1.1) serves more at stride 1, newest first, than one step up; further over, the devices' CPU it frees on
shared cores is worth more. This is rate-based flow control in the spirit of TCP's receive window, decided by the
one node that knows its own capacity.

The center's own load is not the whole story on shared cores: devices that cannot keep up encode a different
subset of frames each, so the center's frames wait for codes that never come, are released incomplete when the
window expires, and cost it less (fewer decoders), so its load looks low and stride 1 sustains itself (measured:
12 frames/s offered, 2.46 devices per estimate, p50 580 ms, in two runs of three). So frames served without a
collaborator that is live and has delivered before are a congestion signal, like TCP's losses: when more than
``incomplete_limit`` of an update's frames are, the stride rises a step, and it falls only while under a fifth of
that are (an occasional lost frame does not hold it up). Congestion is remembered, as TCP remembers its slow-start
threshold: the center's load does not count the devices' work, so at the same offered
rate it would soon ask for the congested stride again (measured, all nodes in one process at 8 frames/s: stride
1 -> 2 -> 1 every 4-5 s, 3.07 estimates per s where stride 2 gives 4). So when a stride is congested a second
time in a row (the last congestion was at the same stride: it was lowered back into it), the stride stays at
least a step above it for ``congestion_hold`` updates, unless the offered rate falls below ``margin`` times the
rate it was congested at; then it probes a step lower again. A single congestion (a node's first, slow
inferences) holds nothing.

Malformed input is not congestion. A burst of bad images, echoes or codes (a fault, or anyone on the DDS domain)
makes a device lose real frames in its keep-last queues and costs every node CPU, so the center's frames go
incomplete and its service time rises, and the rules above would raise the stride and remember it (measured on
the smoke graph at 4 frames/s: a 30 s burst left the stride at 4-5 and `/targets` at 1.0-1.2 per s for more than
a minute after it). So an update told that malformed input was dropped somewhere in the graph since the last one
(``update(now, disturbed=True)``: the center counts its own drops and its collaborators' from ``/diagnostics``,
:data:`disac_ros.live.drops.MALFORMED`) ignores incomplete frames (no congestion is raised or remembered) and only
the load rule can move the stride; and once ``quiet`` updates in a row were undisturbed, the advisor starts
afresh (:meth:`StrideAdvisor.reset`: stride 1, no congestion remembered, the load measured anew), so the stride
is what the load needs two updates later: at most ``quiet + 2`` updates (4 s at the center's 1 Hz) after the last
malformed input, whatever the burst did to it.
"""
from __future__ import annotations

import math

from disac_ros.stamps import NS

#: The largest stride a center may ask for and a device accepts (one frame in 64).
MAX_STRIDE = 64
#: The strides a center asks for: fine steps near 1, where an integer stride's first step halves the rate (the
#: module docstring), coarser above.
STRIDES: tuple[float, ...] = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0)


def frame_index(stamp_ns: int, frame_period_s: float) -> int | None:
    """The frame number of a stamp (None without a known frame period)."""
    return round(stamp_ns / (frame_period_s * NS)) if frame_period_s > 0 else None


def kept(index: int, stride: float) -> bool:
    """Whether frame ``index`` is one the stride keeps: ``floor(n / stride)`` steps up from frame n - 1.

    One frame in ``stride`` on average: the multiples of an integer stride, 4 frames in 5 at 1.25. Every node
    computes the same IEEE divisions, so all keep the same frames.
    """
    return stride <= 1 or math.floor(index / stride) != math.floor((index - 1) / stride)


def on_stride(stamp_ns: int, frame_period_s: float, stride: float) -> bool:
    """Whether a frame of this stamp is one the stride keeps (every frame when stride is 1 or the period unknown)."""
    index = frame_index(stamp_ns, frame_period_s)
    return index is None or kept(index, stride)


class StrideAdvisor:
    """The stride a center should ask of its devices, from its offered frame rate and its service time.

    Call :meth:`offered` for every center frame offered (complete, or replaced in a keep-last queue while the
    center was busy: otherwise an overloaded center would only see the frames it had time to take), :meth:`served`
    with the wall time of every aggregation, :meth:`worked` with that of work on frames then not served, and
    :meth:`update` about once a second. Both rates are exponential
    moving averages (weight ``alpha`` per update). The stride rises at once when the load ``rate * service_s`` over
    ``utilisation`` rounds to a larger one, and falls one step at a time, only after ``hold`` updates in a row in
    which even ``margin`` x ``utilisation`` would round to a smaller one: a smaller stride gives the devices more
    work and the center less CPU, so its service time rises again (hysteresis, no oscillation between two strides).
    Congestion (more than ``incomplete_limit`` of an update's frames served incomplete) raises it a step; the same
    stride congested twice in a row holds it above that stride for ``congestion_hold`` updates at the same offered
    rate (the module docstring).
    """

    def __init__(self, utilisation: float = 0.95, max_stride: float = 8, alpha: float = 0.5, hold: int = 3,
                 margin: float = 0.8, incomplete_limit: float = 0.25, congestion_hold: int = 30, quiet: int = 2):
        if not 0 < utilisation <= 1 or max_stride < 1 or not 0 < alpha <= 1 or hold < 1 or not 0 < margin <= 1 \
                or not 0 <= incomplete_limit <= 1 or congestion_hold < 0 or quiet < 1:
            raise ValueError("StrideAdvisor needs 0 < utilisation <= 1, max_stride >= 1, 0 < alpha <= 1, hold >= 1, "
                             "0 < margin <= 1, 0 <= incomplete_limit <= 1, congestion_hold >= 0 and quiet >= 1")
        self.utilisation, self.alpha, self.hold = utilisation, alpha, hold
        self.margin, self.incomplete_limit, self.congestion_hold = margin, incomplete_limit, congestion_hold
        self.quiet = quiet
        self.strides = tuple(k for k in STRIDES if k <= max_stride)
        self.reset()
        self._quiet_left: int | None = None  # undisturbed updates still to wait before starting afresh

    def reset(self) -> None:
        self.stride = 1.0
        self.rate: float | None = None          # offered center frames per wall second (EMA)
        self.service_s: float | None = None     # wall seconds per aggregation (EMA)
        self._frames, self._service, self._served, self._incomplete = 0, 0.0, 0, 0
        self._last: float | None = None
        self._lower = 0
        self._congested: float | None = None                          # the stride of the last congestion
        self._floor, self._floor_rate, self._floor_left = 1.0, 0.0, 0   # held above it: stride, rate, updates left

    def offered(self, n: int = 1) -> None:
        self._frames += max(0, n)

    def served(self, seconds: float, complete: bool = True) -> None:
        """A frame served in ``seconds``; ``complete``: with every collaborator that is live and delivered before."""
        if math.isfinite(seconds) and seconds >= 0:
            self._service += seconds
            self._served += 1
            self._incomplete += not complete

    def worked(self, seconds: float) -> None:
        """Wall time spent on a frame then not served (begun while it waited, then superseded).

        It counts in the service time of the frames that are served, as the load it is.
        """
        if math.isfinite(seconds) and seconds >= 0:
            self._service += seconds

    def _ema(self, old: float | None, new: float) -> float:
        return new if old is None else (1 - self.alpha) * old + self.alpha * new

    def _step(self, stride: float, steps: int) -> float:
        """The stride ``steps`` places up (or down) :attr:`strides` from ``stride``, within it."""
        k = self.strides.index(stride) + steps
        return self.strides[min(len(self.strides) - 1, max(0, k))]

    def update(self, now: float, disturbed: bool = False) -> float:
        """The stride after the frames and aggregations since the last update (``now``: wall seconds).

        ``disturbed``: malformed input was dropped in the graph since the last update (not congestion: the module
        docstring); ``quiet`` undisturbed updates after the last disturbed one, the advisor starts afresh.
        """
        if disturbed:
            self._quiet_left = self.quiet
        elif self._quiet_left is not None:
            self._quiet_left -= 1
            if self._quiet_left <= 0:
                self._quiet_left = None
                self.reset()
                self._last = now
                return self.stride
        incomplete = 0.0 if disturbed else self._incomplete / self._served if self._served else 0.0
        if self._last is not None and now > self._last:
            self.rate = self._ema(self.rate, self._frames / (now - self._last))
            if self._served:
                self.service_s = self._ema(self.service_s, self._service / self._served)
        self._last, self._frames, self._service, self._served, self._incomplete = now, 0, 0.0, 0, 0
        if self.rate is None or self.service_s is None:
            return self.stride
        load = self.rate * self.service_s          # center-seconds of work per wall second at stride 1

        def nearest(utilisation: float) -> float:
            return min(self.strides, key=lambda k: abs(k - load / utilisation))

        if nearest(self.utilisation) > self.stride:
            self.stride, self._lower = nearest(self.utilisation), 0
        elif incomplete > self.incomplete_limit:   # collaborators cannot keep up: congestion
            if self._congested == self.stride:     # congested here again: hold the step above it
                self._floor, self._floor_rate, self._floor_left = self._step(self.stride, 1), self.rate, \
                    self.congestion_hold + 1
            self._congested = self.stride
            self.stride, self._lower = self._step(self.stride, 1), 0
        elif nearest(self.margin * self.utilisation) < self.stride and incomplete < self.incomplete_limit / 5 \
                and not self._congested_here():
            self._lower += 1
            if self._lower >= self.hold:
                self.stride, self._lower = self._step(self.stride, -1), 0
        else:
            self._lower = 0
        self._floor_left = max(0, self._floor_left - 1)
        return self.stride

    def _congested_here(self) -> bool:
        """Whether a step down would go below a stride congested within the hold, at about the same offered rate."""
        return self._floor_left > 0 and self.stride <= self._floor and self.rate >= self.margin * self._floor_rate
