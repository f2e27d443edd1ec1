"""disac_ros.ros.recorder: ``disac record`` writes rosbag2 MCAP bags that independent readers open, and closes them on
SIGTERM; a killed recording never looks like a bag."""
from __future__ import annotations

import math
import signal
import time

import numpy as np
import pytest
import yaml
from bagtools import PERIOD, SIM_T0, TOPICS, N, disac, evaluate_bag, stop, targets_msg, wait_for


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
        # as rosbag2_storage_mcap writes them: the graph's type hash with each channel, the distro in the record
        assert channels["/targets"].metadata["topic_type_hash"] == recorded["type_hash"]
        assert all(c.metadata["topic_type_hash"].startswith("RIHS01_") for c in channels.values())
        assert sum(1 for _ in reader.iter_messages(topics=["/targets"])) == N
        records = [yaml.safe_load(r.metadata["serialized_metadata"]) for r in reader.iter_metadata()
                   if r.name == "rosbag2"]
    info = yaml.safe_load((recorded["bag"] / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert records[-1] == info and records[-1]["ros_distro"] == "jazzy"


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
    from bagtools import mcap_file, recover_messages
    from disac_ros.msg import TargetStateArray
    from rclpy.qos import QoSProfile
    from rosbags.rosbag2 import Reader, ReaderError

    from disac_ros.cli import main
    from disac_ros.ros.bags import CHUNK_MAX_AGE_S

    bag = tmp_path / "killed"
    node = rclpy.create_node("bag_test_kill")
    pub = node.create_publisher(TargetStateArray, "/kill_test", QoSProfile(depth=10))
    proc = disac("record", "--topics", "/kill_test", "--out", str(bag))
    try:
        wait_for(lambda: pub.get_subscription_count() > 0, "the recorder", proc=proc)
        for i in range(5):
            pub.publish(targets_msg(float(i), [dict(target_id=i, distance=1.0)]))
        time.sleep(CHUNK_MAX_AGE_S + 1.0)  # the recorder writes a chunk once its first message is that old
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
    # ... but its file gives back what was received up to CHUNK_MAX_AGE_S before the kill (bags.py's rule)
    got, error = recover_messages(mcap_file(partial))
    assert error is not None and [t for t, _, _ in got] == ["/kill_test"] * 5
