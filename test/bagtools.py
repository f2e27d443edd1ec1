"""Synthetic messages and bags for the rosbag2 tests (``disac record``, ``disac play``, bag evaluation), and the
``disac`` subprocesses they run; the messages are published in the session's private ROS domain (no Genesis, no model).
"""
from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from disac_ros.evaluation.estimates import evaluate_estimates
from disac_ros.topics import CLOCK, IMAGE, TARGETS, TX, absolute, device_topic

N = 10  # messages per topic
PERIOD = 0.1  # seconds between them
SIM_T0 = 100.0  # sim time of the first message [s]
TOPICS = [CLOCK, absolute(TARGETS), absolute(device_topic("device_0", IMAGE)), absolute(device_topic("device_1", TX))]


def evaluate_bag(path):
    """The metrics of a bag's estimates, composed as ``disac evaluate --bag`` does."""
    from disac_ros.ros.bags import read_target_arrays

    return evaluate_estimates(*read_target_arrays(path))


def disac(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "disac_ros.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(condition, what: str, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"process exited while waiting for {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def stop(proc: subprocess.Popen, sig: int = signal.SIGINT) -> tuple[str, str]:
    proc.send_signal(sig)
    try:
        return proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def stamp(seconds: float):
    from builtin_interfaces.msg import Time

    sec = math.floor(seconds)
    return Time(sec=sec, nanosec=int(round((seconds - sec) * 1e9)))


def targets_msg(t: float, states: list[dict]):
    from disac_ros.msg import TargetState, TargetStateArray

    msg = TargetStateArray(reference_device_id="device_0")
    msg.header.stamp, msg.header.frame_id = stamp(t), "device_0"
    for s in states:
        state = TargetState(**s)
        state.header = msg.header
        msg.targets.append(state)
    return msg


GT = {0: dict(target_id=0, class_id=0, label="car", distance=10.0, azimuth=0.5, pitch=0.1, radial_velocity=1.0),
      1: dict(target_id=1, class_id=1, label="dog", distance=20.0, azimuth=-0.5, pitch=0.2, radial_velocity=-2.0)}


def estimate(tid: int, devices: int, **changes) -> dict:
    base = dict(GT.get(tid, GT[0]), target_id=tid, contributing_devices=[f"device_{k}" for k in range(devices)])
    return {**base, **changes}


def build_eval_bag(path: Path, with_estimates: bool = True) -> Path:
    """Ground truth at t = 1.0, 1.1, 1.2 s; estimates at 1.0 (3 targets, one unknown), 1.1 (one missed), 9.0."""
    from rclpy.serialization import serialize_message

    from disac_ros.ros.bags import BagWriter

    with BagWriter(path) as writer:
        writer.add_topic("/ground_truth/targets", "disac_ros/msg/TargetStateArray")
        for t in (1.0, 1.1, 1.2):
            writer.write("/ground_truth/targets", int(t * 1e9), serialize_message(targets_msg(t, list(GT.values()))))
        if with_estimates:
            writer.add_topic("/targets", "disac_ros/msg/TargetStateArray")
            arrays = [
                (1.0, [estimate(0, 4, distance=11.0, azimuth=0.6),
                       estimate(1, 3, class_id=2, distance=18.0, pitch=0.25, radial_velocity=-1.0),
                       estimate(7, 1)]),
                (1.1, [estimate(0, 2)]),
                (9.0, [estimate(0, 4)]),
            ]
            for t, states in arrays:
                writer.write("/targets", int((t + 0.05) * 1e9), serialize_message(targets_msg(t, states)))
    return path


# ---------------------------------------------------------------------------------------------------- MCAP files


def string_cdr(text: str) -> bytes:
    """A ``std_msgs/msg/String`` in CDR (little endian), without rclpy."""
    import struct

    data = text.encode() + b"\0"
    return b"\0\1\0\0" + struct.pack("<I", len(data)) + data


def mcap_file(folder: Path) -> Path:
    """The one MCAP file of a bag or of a ``.partial`` folder (``BAG.partial/BAG_0/BAG_0.mcap``)."""
    files = sorted(Path(folder).rglob("*.mcap"))
    assert len(files) == 1, files
    return files[0]


def recover_messages(source) -> tuple[list, Exception | None]:
    """The messages of an MCAP file (path, bytes or stream) read front to back with foxglove's reader, CRCs checked,
    up to the first error (a file without footer ends in one), as ``[(topic, log_time, data)]``, and that error."""
    import io

    from mcap.reader import NonSeekingReader

    if isinstance(source, (str, Path)):
        source = Path(source).read_bytes()
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    out: list = []
    try:
        for _, channel, message in NonSeekingReader(stream, validate_crcs=True).iter_messages(log_time_order=False):
            out.append((channel.topic, message.log_time, bytes(message.data)))
    except Exception as exc:  # noqa: BLE001  (EndOfFile, struct.error, CRCValidationError...: the torn end)
        return out, exc
    return out, None
