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


@pytest.fixture(scope="session")
def smoke_cfg():
    from disac_ros.config import load_scene

    return load_scene(preset="smoke")


@pytest.fixture(scope="session")
def smoke_scene(smoke_cfg):
    """One Genesis scene of the smoke preset for the whole session (building one costs ~20 s warm)."""
    import disac_ros.inference  # noqa: F401  (torch's compiler stack must load before Genesis renders: segfault)
    from disac_ros.sim.scene import GenesisScene

    scene = GenesisScene(smoke_cfg)
    yield scene
    scene.close()


@pytest.fixture(scope="session")
def smoke_data(smoke_cfg, smoke_scene, tmp_path_factory):
    """A generated smoke-preset dataset directory (read-only for tests: copy it before changing it)."""
    from disac_ros.data.generate import Generator

    root = tmp_path_factory.mktemp("smoke_data")
    Generator(smoke_cfg, root, scene=smoke_scene).run(progress=False)
    return root


@pytest.fixture(scope="session")
def smoke_run(smoke_data, tmp_path_factory):
    """A complete smoke training run through the command line (stage 1 on every device, hand-over, stage 2).

    Read-only for tests: copy it before changing it.
    """
    from disac_ros.cli import main

    out = tmp_path_factory.mktemp("smoke_run")
    assert main(["train", "--data", str(smoke_data), "--out", str(out), "--preset", "smoke", "--no-progress"]) == 0
    return out
