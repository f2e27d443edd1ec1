"""Shared fixtures: an isolated ROS domain per test session so parallel runs never cross-talk, the smoke preset's
scene, dataset and training run, and a bag recorded by ``disac record``."""
from __future__ import annotations

import os
import random
import time

import pytest
from bagtools import PERIOD, SIM_T0, TOPICS, N, disac, stamp, stop, targets_msg, wait_for

from disac_ros.config import load_section
from disac_ros.ros.transport import use_graph_profile

# One DDS domain for this pytest process (and the subprocesses it starts), away from the default 0.
os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(100, 200)))
# Only this machine: tests never send DDS traffic beyond loopback.
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
use_graph_profile()  # as every node process does: a frame's burst fits Fast DDS's shared memory


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


# -- aliases of the smoke fixtures, and the smoke model config, as several test files call them
@pytest.fixture
def dataset(smoke_data):
    return smoke_data


@pytest.fixture(scope="module")
def run(smoke_run):
    return smoke_run


@pytest.fixture(scope="module")
def model_cfg():
    return load_section("model", "smoke")


# -- one recording for the whole session: read-only for the record, play and `disac record` tests
@pytest.fixture(scope="session")
def recorded(rclpy_context, tmp_path_factory):
    """A bag recorded by ``disac record`` from messages this test published; the published values beside it."""
    import rclpy
    from disac_ros.msg import SemanticCode, TargetStateArray
    from rclpy.qos import QoSProfile, qos_profile_sensor_data
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image

    bag = tmp_path_factory.mktemp("record") / "run1"
    node = rclpy.create_node("bag_test_publisher")
    reliable = QoSProfile(depth=10)
    pubs = {"/clock": node.create_publisher(Clock, "/clock", reliable),
            "/targets": node.create_publisher(TargetStateArray, "/targets", reliable),
            "/device_0/camera/image_raw": node.create_publisher(Image, "/device_0/camera/image_raw",
                                                                qos_profile_sensor_data)}
    proc = disac("record", "--topics", *TOPICS, "--out", str(bag))
    try:
        wait_for(lambda: all(p.get_subscription_count() > 0 for p in pubs.values()), "the recorder", proc=proc)
        # A topic that appears only after the recorder started, with a custom message type.
        pubs["/device_1/semantic/tx"] = node.create_publisher(SemanticCode, "/device_1/semantic/tx", reliable)
        wait_for(lambda: pubs["/device_1/semantic/tx"].get_subscription_count() > 0, "the late topic", proc=proc)
        assert not bag.exists() and bag.with_name("run1.partial").is_dir(), "a recording must live in BAG.partial"
        sent = {t: [] for t in TOPICS}
        for i in range(N):
            t = SIM_T0 + i * PERIOD
            msgs = {
                "/clock": Clock(clock=stamp(t)),
                "/targets": targets_msg(t, [dict(target_id=i % 3, class_id=i % 3, label=f"t{i}", distance=10.0 + i,
                                                 azimuth=-0.1 * i, class_probabilities=[0.25, 0.5, 0.25],
                                                 contributing_devices=[f"device_{k}" for k in range(i % 4 + 1)])]),
                "/device_0/camera/image_raw": Image(height=2, width=2, encoding="rgb8", step=6, data=bytes([i] * 12)),
                "/device_1/semantic/tx": SemanticCode(device_id="device_1", target_id=i, length=2, dim=2,
                                                      symbols=[i, i + 0.5, -i, 0.25], snr_db=float("nan")),
            }
            for topic, msg in msgs.items():
                pubs[topic].publish(msg)
                sent[topic].append(msg)
            time.sleep(PERIOD)
        type_hash = str(node.get_publishers_info_by_topic("/targets")[0].topic_type_hash)
        time.sleep(0.5)
        out, err = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        node.destroy_node()
    assert proc.returncode == 0, err
    return {"bag": bag, "sent": sent, "stdout": out, "type_hash": type_hash}
