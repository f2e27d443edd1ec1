"""A TargetStateArray crosses process boundaries over DDS (Fast DDS, rclpy)."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

PUBLISHER = r"""
import sys, time, rclpy
from disac_ros.msg import TargetState, TargetStateArray
rclpy.init()
node = rclpy.create_node("test_publisher")
pub = node.create_publisher(TargetStateArray, "/targets", 10)
deadline = time.monotonic() + 30
seq = 0
while time.monotonic() < deadline and rclpy.ok():
    msg = TargetStateArray()
    msg.reference_device_id = "device_0"
    msg.header.stamp.sec = seq
    for i, name in enumerate(("car", "dog", "drone")):
        s = TargetState(target_id=i, class_id=i, label=name, distance=10.0 + i, radial_velocity=-1.5 * i)
        msg.targets.append(s)
    pub.publish(msg)
    seq += 1
    rclpy.spin_once(node, timeout_sec=0.1)
"""


def test_target_state_array_between_processes(rclpy_context):
    import rclpy
    from disac_ros.msg import TargetStateArray

    received: list[TargetStateArray] = []
    node = rclpy.create_node("test_subscriber")
    node.create_subscription(TargetStateArray, "/targets", received.append, 10)
    proc = subprocess.Popen([sys.executable, "-c", PUBLISHER])
    try:
        deadline = time.monotonic() + 30
        while len(received) < 3 and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.2)
            if proc.poll() is not None:
                pytest.fail(f"publisher process exited early with status {proc.returncode}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        node.destroy_node()
    assert len(received) >= 3, "no TargetStateArray arrived over DDS within 30 s"
    msg = received[-1]
    assert [t.label for t in msg.targets] == ["car", "dog", "drone"]
    assert [t.distance for t in msg.targets] == [10.0, 11.0, 12.0]
    stamps = [m.header.stamp.sec for m in received]
    assert stamps == sorted(stamps), "messages arrived out of order"
