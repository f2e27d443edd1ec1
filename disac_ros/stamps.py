"""Message stamps as integer nanoseconds, the one form in which the live graph and the bag tools compare them.

``sec * 10**9 + nanosec`` (ROS-free: works on rclpy and rosbags messages alike), so that equal stamps compare
equal; :data:`NS` converts to seconds for display.
"""
from __future__ import annotations

NS = 1_000_000_000


def stamp_of(msg) -> int:
    """The header stamp of ``msg`` (anything with ``.header.stamp.sec`` / ``.nanosec``) in integer nanoseconds."""
    return int(msg.header.stamp.sec) * NS + int(msg.header.stamp.nanosec)
