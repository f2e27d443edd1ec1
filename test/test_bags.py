"""rosbag2 without rosbag2: ``disac record``, ``disac play`` and bag evaluation, checked with independent readers.

The test publishes synthetic messages itself (no Genesis, no model) in the session's private ROS domain.
"""
from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

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


@pytest.fixture(scope="module")
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


def test_record_writes_a_rosbag2_mcap_bag(recorded):
    bag = recorded["bag"]
    assert sorted(p.name for p in bag.iterdir()) == ["metadata.yaml", "run1_0.mcap"]
    assert not bag.with_name("run1.partial").exists()
    info = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert info["storage_identifier"] == "mcap" and info["version"] == 9
    assert info["relative_file_paths"] == ["run1_0.mcap"]
    topics = {t["topic_metadata"]["name"]: t for t in info["topics_with_message_count"]}
    assert sorted(topics) == sorted(TOPICS)
    types = {name: t["topic_metadata"]["type"] for name, t in topics.items()}
    assert types == {"/clock": "rosgraph_msgs/msg/Clock", "/targets": "disac_ros/msg/TargetStateArray",
                     "/device_0/camera/image_raw": "sensor_msgs/msg/Image",
                     "/device_1/semantic/tx": "disac_ros/msg/SemanticCode"}
    counts = {name: t["message_count"] for name, t in topics.items()}
    for name in ("/clock", "/targets", "/device_1/semantic/tx"):  # reliable: every message
        assert counts[name] == N, counts
    assert N - 2 <= counts["/device_0/camera/image_raw"] <= N, counts  # best effort over loopback
    assert info["message_count"] == sum(counts.values())
    # The graph's type hash is what rosidl computed for our .msg: the bag must carry the same.
    assert topics["/targets"]["topic_metadata"]["type_description_hash"] == recorded["type_hash"]
    qos = {name: t["topic_metadata"]["offered_qos_profiles"][0]["reliability"] for name, t in topics.items()}
    assert qos["/device_0/camera/image_raw"] == "best_effort" and qos["/targets"] == "reliable"
    assert "run1" in recorded["stdout"] and "/targets" in recorded["stdout"]


def test_recorded_messages_decode_from_the_bag_alone(recorded):
    """AnyReader with no typestore of ours: the definitions (and their hashes) come from the bag."""
    from rosbags.highlevel import AnyReader

    sent = recorded["sent"]
    got: dict[str, list] = {t: [] for t in TOPICS}
    log_times: dict[str, list[int]] = {t: [] for t in TOPICS}
    with AnyReader([recorded["bag"]]) as reader:
        for conn, timestamp, data in reader.messages():
            got[conn.topic].append(reader.deserialize(data, conn.msgtype))
            log_times[conn.topic].append(timestamp)
    assert [t.targets[0].distance for t in got["/targets"]] == [10.0 + i for i in range(N)]
    assert [t.targets[0].label for t in got["/targets"]] == [f"t{i}" for i in range(N)]
    assert [list(t.targets[0].contributing_devices) for t in got["/targets"]] == \
        [list(m.targets[0].contributing_devices) for m in sent["/targets"]]
    assert [(t.header.stamp.sec, t.header.stamp.nanosec) for t in got["/targets"]] == \
        [(m.header.stamp.sec, m.header.stamp.nanosec) for m in sent["/targets"]]
    np.testing.assert_array_equal(got["/targets"][3].targets[0].class_probabilities, [0.25, 0.5, 0.25])
    codes = got["/device_1/semantic/tx"]
    assert [c.target_id for c in codes] == list(range(N))
    np.testing.assert_array_equal(codes[4].symbols, np.float32([4, 4.5, -4, 0.25]))
    assert math.isnan(codes[4].snr_db)
    assert [c.clock.sec + c.clock.nanosec * 1e-9 for c in got["/clock"]] == \
        pytest.approx([SIM_T0 + i * PERIOD for i in range(N)])
    assert {bytes(im.data) for im in got["/device_0/camera/image_raw"]} <= {bytes([i] * 12) for i in range(N)}
    # Log times are receive times on the wall clock, spaced as the messages were sent.
    gaps = np.diff(log_times["/targets"]) / 1e9
    assert abs(log_times["/targets"][0] / 1e9 - time.time()) < 600
    assert np.median(gaps) == pytest.approx(PERIOD, abs=0.03)


def test_bag_is_valid_mcap_for_other_readers(recorded):
    """The MCAP file follows the ros2 profile: foxglove's reader sees schemas with full definitions."""
    from mcap.reader import make_reader

    with open(recorded["bag"] / "run1_0.mcap", "rb") as fh:
        reader = make_reader(fh)
        assert reader.get_header().profile == "ros2"
        summary = reader.get_summary()
        schemas = {s.name: s for s in summary.schemas.values()}
        assert schemas["disac_ros/msg/TargetStateArray"].encoding == "ros2msg"
        definition = schemas["disac_ros/msg/TargetStateArray"].data.decode()
        assert "MSG: disac_ros/TargetState" in definition and "float64 radial_velocity" in definition
        channels = {c.topic: c for c in summary.channels.values()}
        assert channels["/targets"].message_encoding == "cdr"
        assert "offered_qos_profiles" in channels["/targets"].metadata
        assert sum(1 for _ in reader.iter_messages(topics=["/targets"])) == N


def test_record_refuses_an_existing_bag(recorded, capsys):
    from disac_ros.cli import main

    bag = recorded["bag"]
    before = (bag / "metadata.yaml").stat().st_mtime_ns
    assert main(["record", "--topics", "/targets", "--out", str(bag)]) == 2
    assert "exists already" in capsys.readouterr().err
    assert (bag / "metadata.yaml").stat().st_mtime_ns == before
    assert main(["record", "--out", str(bag.with_name("other"))]) == 2  # no topics named
    assert "--topics" in capsys.readouterr().err


def test_sigterm_closes_the_bag_with_every_message(rclpy_context, tmp_path):
    import rclpy
    from disac_ros.msg import TargetStateArray
    from rclpy.qos import QoSProfile

    from disac_ros.ros.bags import bag_topics, read_bag

    bag = tmp_path / "terminated"
    node = rclpy.create_node("bag_test_term")
    pub = node.create_publisher(TargetStateArray, "/term_test", QoSProfile(depth=10))
    proc = disac("record", "--topics", "term_test", "--out", str(bag))  # a relative name means /term_test
    try:
        wait_for(lambda: pub.get_subscription_count() > 0, "the recorder", proc=proc)
        for i in range(7):
            pub.publish(targets_msg(float(i), [dict(target_id=i, distance=1.0)]))
        time.sleep(0.3)
        _, err = stop(proc, signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
        node.destroy_node()
    assert proc.returncode == 0, err
    assert bag_topics(bag)["/term_test"].count == 7
    assert [m.topic for m in read_bag(bag)] == ["/term_test"] * 7


def test_killed_recording_never_looks_like_a_bag(rclpy_context, tmp_path, capsys):
    import rclpy
    from disac_ros.msg import TargetStateArray
    from rclpy.qos import QoSProfile
    from rosbags.rosbag2 import Reader, ReaderError

    from disac_ros.cli import main
    bag = tmp_path / "killed"
    node = rclpy.create_node("bag_test_kill")
    pub = node.create_publisher(TargetStateArray, "/kill_test", QoSProfile(depth=10))
    proc = disac("record", "--topics", "/kill_test", "--out", str(bag))
    try:
        wait_for(lambda: pub.get_subscription_count() > 0, "the recorder", proc=proc)
        for i in range(5):
            pub.publish(targets_msg(float(i), [dict(target_id=i, distance=1.0)]))
        time.sleep(0.3)
        stop(proc, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        node.destroy_node()
    partial = tmp_path / "killed.partial"
    assert not bag.exists()
    assert partial.is_dir() and not list(partial.rglob("metadata.yaml"))
    for folder in (partial, partial / "killed_0"):  # neither opens as a bag
        with pytest.raises((ReaderError, FileNotFoundError)):
            Reader(folder).open()
    with pytest.raises(FileNotFoundError, match="interrupted recording"):
        evaluate_bag(bag)
    assert main(["record", "--topics", "/kill_test", "--out", str(bag)]) == 2
    assert "interrupted recording" in capsys.readouterr().err


def spin_collect(node, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    import rclpy

    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.005)
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.005)


def test_play_replays_with_recorded_timing_and_clock(recorded, rclpy_context):
    import rclpy
    from disac_ros.msg import SemanticCode, TargetStateArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rosbags.rosbag2 import Reader
    from rosgraph_msgs.msg import Clock

    with Reader(recorded["bag"]) as reader:
        conns = [c for c in reader.connections if c.topic == "/targets"]
        log_times = np.array([t for _, t, _ in reader.messages(connections=conns)]) / 1e9
    got: dict[str, list] = {"/targets": [], "/clock": [], "/device_1/semantic/tx": []}
    node = rclpy.create_node("bag_test_player_listener")

    def keep(topic):
        return lambda msg: got[topic].append((time.monotonic(), msg))

    node.create_subscription(TargetStateArray, "/targets", keep("/targets"), QoSProfile(depth=50))
    node.create_subscription(SemanticCode, "/device_1/semantic/tx", keep("/device_1/semantic/tx"), QoSProfile(depth=50))
    # As rclpy's TimeSource subscribes to /clock: best effort.
    node.create_subscription(Clock, "/clock", keep("/clock"),
                             QoSProfile(depth=50, reliability=ReliabilityPolicy.BEST_EFFORT))
    proc = disac("play", str(recorded["bag"]), "--topics", "/clock", "/targets", "/device_1/semantic/tx", "--delay",
                 "30", "--wait-for-subscribers")
    try:
        spin_collect(node, proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        node.destroy_node()
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert [m.targets[0].distance for _, m in got["/targets"]] == [10.0 + i for i in range(N)]
    assert [m.target_id for _, m in got["/device_1/semantic/tx"]] == list(range(N))
    # /clock is the recorded sim time, in order.
    assert [m.clock.sec + m.clock.nanosec * 1e-9 for _, m in got["/clock"]] == \
        pytest.approx([SIM_T0 + i * PERIOD for i in range(N)])
    # Same spacing as recorded (not as fast as possible, not the sim-time stamps by chance).
    arrivals = np.array([t for t, _ in got["/targets"]])
    assert np.median(np.abs(np.diff(arrivals) - np.diff(log_times))) < 0.02
    assert arrivals[-1] - arrivals[0] == pytest.approx(log_times[-1] - log_times[0], rel=0.2)
    assert f"published {sum(len(v) for v in recorded['sent'].values())}" in out or "published" in out


# ---------------------------------------------------------------------------------------------- evaluation

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


def test_evaluate_bag_matches_hand_computed_metrics(tmp_path):
    result = evaluate_bag(build_eval_bag(tmp_path / "eval"))
    # Matched pairs: (t=1.0, id 0), (t=1.0, id 1), (t=1.1, id 0).
    assert (result["matched"], result["unmatched_estimates"], result["missed_targets"]) == (3, 2, 1)
    assert (result["ground_truth_arrays"], result["estimate_arrays"], result["frames_without_estimate"]) == (3, 3, 1)
    assert result["accuracy"] == pytest.approx(2 / 3)
    assert result["mean_contributing_devices"] == pytest.approx(3.0)
    # distance errors 1, -2, 0 over true 10, 20, 10: 10 log10(5 / 600); RMSE sqrt(5 / 3)
    assert result["nmse_db_distance"] == pytest.approx(-20.7918, abs=1e-3)
    assert result["rmse_distance"] == pytest.approx(1.290994, abs=1e-5)
    # azimuth errors 0.1, 0, 0 over |true| 0.5: 10 log10(0.01 / 0.75)
    assert result["nmse_db_azimuth"] == pytest.approx(-18.7506, abs=1e-3)
    assert result["rmse_azimuth"] == pytest.approx(0.0577350, abs=1e-6)
    # pitch errors 0, 0.05, 0 over 0.1, 0.2, 0.1: 10 log10(0.0025 / 0.06)
    assert result["nmse_db_pitch"] == pytest.approx(-13.8021, abs=1e-3)
    assert result["rmse_pitch"] == pytest.approx(0.0288675, abs=1e-6)
    # velocity errors 0, 1, 0 over 1, -2, 1: 10 log10(1 / 6)
    assert result["nmse_db_radial_velocity"] == pytest.approx(-7.7815, abs=1e-3)
    assert result["rmse_radial_velocity"] == pytest.approx(0.577350, abs=1e-5)
    assert result["per_target"]["1"]["count"] == 1 and result["per_target"]["0"]["rmse_distance"] == \
        pytest.approx(math.sqrt(1 / 2))


def test_evaluate_command_and_missing_topic(tmp_path, capsys):
    from disac_ros.cli import main
    bag = build_eval_bag(tmp_path / "eval")
    out = tmp_path / "metrics" / "eval.json"
    assert main(["evaluate", "--bag", str(bag), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "accuracy 66.67 %" in printed and "-20.79" in printed
    assert json.loads(out.read_text())["matched"] == 3
    assert main(["evaluate", "--run", "runs/x", "--data", "data/x"]) == 2
    assert "no run.json" in capsys.readouterr().err  # the --run mode (evaluation suite) checks its inputs

    no_estimates = build_eval_bag(tmp_path / "gt_only", with_estimates=False)
    with pytest.raises(ValueError, match="has no /targets topic"):
        evaluate_bag(no_estimates)
    assert main(["evaluate", "--bag", str(no_estimates)]) == 2
    assert "has no /targets topic" in capsys.readouterr().err


def test_play_publishes_clock_from_log_times_without_recorded_clock(tmp_path, rclpy_context):
    import rclpy
    from disac_ros.msg import TargetStateArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rosgraph_msgs.msg import Clock

    bag = build_eval_bag(tmp_path / "no_clock")
    clocks, arrays = [], []
    node = rclpy.create_node("bag_test_clock_listener")
    node.create_subscription(Clock, "/clock", lambda m: clocks.append(m.clock.sec * 1_000_000_000 + m.clock.nanosec),
                             QoSProfile(depth=1000, reliability=ReliabilityPolicy.BEST_EFFORT))
    node.create_subscription(TargetStateArray, "/targets", arrays.append, QoSProfile(depth=50))
    # 8.05 s of log time at rate 8: about 1 s of playback.
    proc = disac("play", str(bag), "--rate", "8", "--topics", "/targets", "--delay", "30", "--wait-for-subscribers")
    try:
        spin_collect(node, proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        node.destroy_node()
    assert proc.returncode == 0, proc.communicate()[1]
    assert len(arrays) == 3
    assert len(clocks) >= 20  # 40 Hz between messages
    assert clocks == sorted(clocks)
    assert clocks[0] >= int(1.0e9) and clocks[-1] == int(9.05e9)
