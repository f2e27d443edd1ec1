"""``/diagnostics`` of a node (diagnostic_msgs/DiagnosticArray, about 1 Hz), as ROS's diagnostic tools read it.

One status per node, named by its fully qualified name, ``hardware_id`` its device (or empty), with key-values from
the node's ``report()`` plus, for every counter it names, the rate since the last status (``<counter>_per_s``) and
the drops by reason (``dropped.<reason>``, cumulative). The level is OK; WARN while inputs are being dropped (a
drop since the last status) or while the node says so (``report()`` key ``warn``: the message); ERROR when a
callback raised something no check anticipated (drop reason ``unexpected``). The rclpy ``diagnostic_updater``
package (what a C++ or Python ROS node would use) has no wheel here; this is its publishing part.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.clock import Clock, ClockType

from disac_ros.ros.qos import RELIABLE_QOS
from disac_ros.topics import DIAGNOSTICS

PERIOD_S = 1.0


def _text(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class Diagnostics:
    """Publishes ``node``'s status on ``/diagnostics`` every ``period_s`` (steady time).

    ``report() -> dict``: the node's key-values (numbers or text); ``counters() -> dict[str, int]``: monotonic
    counts (frames in, messages out) whose rates are reported; ``drops``: the node's
    :class:`~disac_ros.live.drops.DropLog`.
    """

    def __init__(self, node, report: Callable[[], dict], counters: Callable[[], dict[str, int]], drops,
                 hardware_id: str = "", period_s: float = PERIOD_S):
        self.node, self.report, self.counters, self.drops = node, report, counters, drops
        self.hardware_id = hardware_id
        self.pub = node.create_publisher(DiagnosticArray, DIAGNOSTICS, RELIABLE_QOS)
        self._last_counts, self._last_drops, self._last_t = dict(counters()), 0, time.monotonic()
        node.create_timer(period_s, self.publish, clock=Clock(clock_type=ClockType.STEADY_TIME))

    def status(self) -> DiagnosticStatus:
        now = time.monotonic()
        elapsed = max(now - self._last_t, 1e-9)
        values = dict(self.report())
        warn = values.pop("warn", "")
        counts = dict(self.counters())
        for key, count in counts.items():
            values[key] = count
            values[f"{key}_per_s"] = (count - self._last_counts.get(key, 0)) / elapsed
        drops = dict(self.drops.counts)
        values.update({f"dropped.{reason}": n for reason, n in sorted(drops.items())})
        total = sum(drops.values())
        if drops.get("unexpected"):
            level, message = DiagnosticStatus.ERROR, f"{drops['unexpected']} unexpected errors in callbacks"
        elif total > self._last_drops:
            level, message = DiagnosticStatus.WARN, f"dropping inputs ({total - self._last_drops} since last status)"
        elif warn:
            level, message = DiagnosticStatus.WARN, str(warn)
        else:
            level, message = DiagnosticStatus.OK, "running"
        self._last_counts, self._last_drops, self._last_t = counts, total, now
        return DiagnosticStatus(level=level, name=self.node.get_fully_qualified_name(), message=message,
                                hardware_id=self.hardware_id,
                                values=[KeyValue(key=k, value=_text(v)) for k, v in values.items()])

    def publish(self) -> None:
        try:
            status = self.status()
        except Exception as exc:  # a report that fails must not end the node; say so in the status
            status = DiagnosticStatus(level=DiagnosticStatus.ERROR, name=self.node.get_fully_qualified_name(),
                                      message=f"diagnostics failed: {type(exc).__name__}: {exc}",
                                      hardware_id=self.hardware_id)
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.node.get_clock().now().to_msg()
        self.pub.publish(msg)
