"""Dropped inputs: why (:data:`DROP_REASONS`), from which conversion error, and a log throttled per reason.

A node never stops for a bad input: it raises or maps the error to a reason, counts it in a :class:`DropLog` and
logs it at most once per ``period_s`` per reason. Every callback of a node is :func:`guarded`: an exception nobody
anticipated is counted and logged as a drop too, and the node keeps spinning.
"""
from __future__ import annotations

import functools
import time
import traceback
from collections import defaultdict
from collections.abc import Callable

#: Reasons an input is dropped; each is counted and logged (throttled) by the nodes. ``nonfinite_output``: what a
#: node computed from a valid input is not all finite (an estimate, a code after the channel, a link budget), so
#: it is not published. ``unexpected``: a callback raised an exception no check anticipated (a missing check:
#: the fuzz tests require none). Under overload a node serves the newest frame: ``superseded`` counts the frames
#: (complete or partly received) a newer one overtook before the node got to them, ``skipped`` those of which
#: nothing arrived (its keep-last queues replaced them while the node was busy).
DROP_REASONS = ("encoding", "size", "nan", "unknown_device", "unknown_target", "stale", "future", "out_of_order",
                "duplicate", "overflow", "late", "invalid", "nonfinite_output", "superseded", "skipped",
                "unexpected")

#: Reasons that mean the input itself was wrong (a fault, or anyone publishing on the DDS domain), not that a node
#: was too busy for it: never congestion (:mod:`disac_ros.live.stride`). The others: ``superseded``, ``skipped``,
#: ``late``, ``overflow`` (a node or link behind), ``nonfinite_output`` (a model's output).
MALFORMED = ("encoding", "size", "nan", "unknown_device", "unknown_target", "stale", "future", "out_of_order",
             "duplicate", "invalid", "unexpected")


def malformed_count(counts) -> int:
    """How many of the drops ``counts`` ({reason: n}) were of malformed input."""
    return sum(int(counts.get(reason, 0)) for reason in MALFORMED)


class Dropped(ValueError):
    """An input the node must log and drop; ``reason`` is one of :data:`DROP_REASONS`."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


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


class DropLog:
    """Counts dropped inputs per reason and decides when to log one (at most once per ``period_s`` per reason).

    ``logger``: anything with ``warning(text)`` (a node's logger); :meth:`warn` counts and logs through it.
    """

    def __init__(self, period_s: float = 5.0, clock: Callable[[], float] = time.monotonic, logger=None):
        self.period_s, self.clock, self.logger = period_s, clock, logger
        self.counts: dict[str, int] = defaultdict(int)
        self._last: dict[str, float] = {}

    def drop(self, reason: str, n: int = 1) -> bool:
        """Count ``n`` drops; True when it should be logged now."""
        self.counts[reason] += n
        now = self.clock()
        if reason not in self._last or now - self._last[reason] >= self.period_s:
            self._last[reason] = now
            return True
        return False

    def warn(self, reason: str, text: str, n: int = 1) -> None:
        """Count ``n`` dropped inputs and log ``text`` as a warning when :meth:`drop` says so."""
        if self.drop(reason, n) and self.logger is not None:
            self.logger.warning(f"dropped ({reason}): {text} [{self.counts[reason]} so far]")

    def summary(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())) or "none"


def guarded(callback: Callable) -> Callable:
    """Decorate a node's callback method: no exception it raises ends the node.

    A :class:`Dropped` counts under its reason; any other exception (one the callback did not anticipate) counts
    as ``unexpected``, logged (throttled) through ``self.drops`` with its type, message and where it was raised.
    ``KeyboardInterrupt`` and ``SystemExit`` (not ``Exception``) still stop the process.
    """
    @functools.wraps(callback)
    def wrapper(self, *args, **kwargs):
        try:
            return callback(self, *args, **kwargs)
        except Dropped as exc:
            self.drops.warn(exc.reason, f"{callback.__name__}: {exc}")
        except Exception as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
            self.drops.warn("unexpected", f"{callback.__name__}: {type(exc).__name__}: {exc}{where}")
        return None

    return wrapper
