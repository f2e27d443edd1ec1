"""Pairing one device's camera image with the radar echoes of all its N targets by stamp (:class:`FrameAssembler`).

Used by a device encoder and by the aggregation center for its own sensors. Stamps are integer nanoseconds
(:mod:`disac_ros.stamps`).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from disac_ros.live.drops import Dropped
from disac_ros.stamps import NS


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
    * ``future``: more than ``stale_after_s`` ahead of a known clock (one such stamp, once admitted, would make
      every later input stale); without a clock (``now_ns`` 0) a future stamp cannot be told from a jump, which
      is why the nodes run on sim time;
    * ``out_of_order`` / ``duplicate``: not newer than the last frame completed (a frame is emitted once, in order);
    * ``unknown_target``: a target id outside ``0..num_targets-1``.

    At most ``max_pending`` incomplete stamps are kept; the oldest is discarded (and counted in
    ``discarded``) when a new stamp would exceed it, or when a newer frame completes first: a node consumes its
    sensors newest first. With ``frame_period_s`` (the scene's 1 / fps; 0: unknown) the frames between two emitted
    ones that never arrived at all (a keep-last queue replaced them while the node was busy) are counted in
    ``skipped``.
    """

    def __init__(self, num_targets: int, stale_after_s: float = 2.0, max_pending: int = 8,
                 frame_period_s: float = 0.0):
        if num_targets < 1 or max_pending < 1 or not stale_after_s > 0 or not frame_period_s >= 0:
            raise ValueError("FrameAssembler needs num_targets >= 1, max_pending >= 1, stale_after_s > 0 and "
                             "frame_period_s >= 0")
        self.num_targets = num_targets
        self.stale_after_ns = int(stale_after_s * NS)
        self.max_pending = max_pending
        self.frame_period_ns = round(frame_period_s * NS)
        self.reset()

    def reset(self) -> None:
        """Forget every pending stamp and what was emitted, as when just built (after a jump of sim time)."""
        self._pending: OrderedDict[int, _Partial] = OrderedDict()
        self.last_emitted: int | None = None
        self.newest_seen: int | None = None
        self.discarded = 0
        self.skipped = 0

    def _admit(self, stamp: int, now_ns: int) -> _Partial:
        if now_ns > 0 and stamp - now_ns > self.stale_after_ns:
            raise Dropped("future", f"stamp {stamp / NS:.3f} s is {(stamp - now_ns) / NS:.3f} s ahead of the clock "
                                    f"{now_ns / NS:.3f} s (at most {self.stale_after_ns / NS:g} s)")
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
        older = [s for s in self._pending if s < stamp]  # older incomplete frames can no longer be emitted
        for s in [*older, stamp]:
            del self._pending[s]
        self.discarded += len(older)
        if self.frame_period_ns and self.last_emitted is not None:
            between = round((stamp - self.last_emitted) / self.frame_period_ns) - 1
            self.skipped += max(0, between - sum(s > self.last_emitted for s in older))
        self.last_emitted = stamp
        return Frame(stamp, part.image, np.stack([part.echoes[n] for n in range(self.num_targets)]))

    @property
    def pending(self) -> int:
        return len(self._pending)
