"""Shared fixtures: an isolated ROS domain per test session so parallel runs never cross-talk."""
from __future__ import annotations

import os
import random

import pytest

# One DDS domain for this pytest process (and the subprocesses it starts), away from the default 0.
os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(100, 200)))
# Only this machine: tests never send DDS traffic beyond loopback.
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")


@pytest.fixture(scope="session")
def rclpy_context():
    """Initialise rclpy once for the session and shut it down at the end."""
    import rclpy

    rclpy.init()
    yield
    rclpy.shutdown()
