"""disac_ros.nodes.diagnostics: each node's status on /diagnostics: its values, rates, drops and level."""
from __future__ import annotations

import time


def test_status_values_rates_and_levels(rclpy_context, published):
    import rclpy
    from diagnostic_msgs.msg import DiagnosticStatus

    from disac_ros.live.drops import DropLog
    from disac_ros.nodes.diagnostics import Diagnostics

    node = rclpy.create_node("diag_test", namespace="/device_1")
    try:
        frames, drops, warn = [0], DropLog(), [""]
        diag = Diagnostics(node, lambda: {"t_ft_ms": 12.5, **({"warn": warn[0]} if warn[0] else {})},
                           lambda: {"frames": frames[0]}, drops, hardware_id="device_1")
        sent = published(diag.pub)
        frames[0] = 10
        time.sleep(0.2)
        diag.publish()
        (status,) = sent[-1].status
        values = {kv.key: kv.value for kv in status.values}
        assert status.name == "/device_1/diag_test" and status.hardware_id == "device_1"
        assert status.level == DiagnosticStatus.OK and values["t_ft_ms"] == "12.5" and values["frames"] == "10"
        assert 10 < float(values["frames_per_s"]) < 60      # 10 frames in ~0.2 s
        drops.drop("stale")
        diag.publish()
        (status,) = sent[-1].status
        assert status.level == DiagnosticStatus.WARN and {kv.key: kv.value for kv in status.values}[
            "dropped.stale"] == "1"
        diag.publish()                                       # no new drop: OK again
        assert sent[-1].status[0].level == DiagnosticStatus.OK
        warn[0] = "not hearing from device_2"
        diag.publish()
        assert sent[-1].status[0].level == DiagnosticStatus.WARN and "device_2" in sent[-1].status[0].message
        drops.drop("unexpected")
        diag.publish()
        assert sent[-1].status[0].level == DiagnosticStatus.ERROR
        diag.report = lambda: 1 / 0                          # a failing report is an ERROR status, not a crash
        diag.publish()
        assert sent[-1].status[0].level == DiagnosticStatus.ERROR and "ZeroDivisionError" in sent[-1].status[0].message
    finally:
        node.destroy_node()
