"""disac_ros.ros.bags: the MCAP file of a bag carries what rosbag2's MCAP plugin writes (channel metadata, the
``rosbag2`` metadata record), read back with foxglove's ``mcap`` reader; an interrupted writer leaves a ``.partial``
folder that is never taken for a bag and whose file gives back every message of its complete chunks."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from bagtools import mcap_file, recover_messages, string_cdr

STRING = "std_msgs/msg/String"


def _qos():
    from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime

    never = QosTime(sec=0, nsec=0)
    return Qos(QosHistory.KEEP_LAST, 10, QosReliability.BEST_EFFORT, QosDurability.VOLATILE, never, never,
               QosLiveliness.AUTOMATIC, never, False)


def test_mcap_channels_and_metadata_record_are_what_rosbag2_writes(tmp_path, monkeypatch):
    """rosbag2_storage_mcap (jazzy) mcap_storage.cpp: channel metadata ``offered_qos_profiles`` and
    ``topic_type_hash`` (create_topic), a ``rosbag2`` record with ``serialized_metadata`` at open and close
    (update_metadata), profile ``ros2``."""
    from mcap.reader import make_reader

    from disac_ros.ros.bags import BagWriter

    monkeypatch.delenv("ROS_DISTRO", raising=False)
    with BagWriter(tmp_path / "bag") as writer:
        hashes = {"/targets": writer.add_topic("/targets", "disac_ros/msg/TargetStateArray"),
                  "/chatter": writer.add_topic("/chatter", STRING, [_qos()])}
        for i in range(3):
            writer.write("/chatter", 1_000 + i, string_cdr(f"m{i}"))
    bag = tmp_path / "bag"
    info = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    yaml_topics = {t["topic_metadata"]["name"]: t["topic_metadata"] for t in info["topics_with_message_count"]}

    with open(bag / "bag_0.mcap", "rb") as fh:
        reader = make_reader(fh, validate_crcs=True)
        assert reader.get_header().profile == "ros2"
        summary = reader.get_summary()
        channels = {c.topic: c for c in summary.channels.values()}
        records = list(reader.iter_metadata())
    assert sorted(channels) == ["/chatter", "/targets"]
    for topic, channel in channels.items():
        assert sorted(channel.metadata) == ["offered_qos_profiles", "topic_type_hash"]
        assert channel.metadata["topic_type_hash"] == yaml_topics[topic]["type_description_hash"] == hashes[topic]
        assert channel.metadata["topic_type_hash"].startswith("RIHS01_")
        # rosbag2 stores the QoS list as a YAML string in the channel, as a YAML list in metadata.yaml
        assert yaml.safe_load(channel.metadata["offered_qos_profiles"]) == yaml_topics[topic]["offered_qos_profiles"]
    assert yaml.safe_load(channels["/chatter"].metadata["offered_qos_profiles"])[0]["reliability"] == "best_effort"
    assert channels["/targets"].metadata["offered_qos_profiles"].strip() == "[]"

    assert [r.name for r in records] == ["rosbag2", "rosbag2"]  # at open, at close
    assert all(sorted(r.metadata) == ["serialized_metadata"] for r in records)
    first, last = (yaml.safe_load(r.metadata["serialized_metadata"]) for r in records)
    assert first["ros_distro"] == last["ros_distro"] == info["ros_distro"] == "jazzy"
    assert first["message_count"] == 0 and first["relative_file_paths"] == ["bag_0.mcap"]
    assert last == info  # the record at close is metadata.yaml's content

    monkeypatch.setenv("ROS_DISTRO", "rolling")
    with BagWriter(tmp_path / "other") as writer:
        writer.add_topic("/chatter", STRING)
    with open(tmp_path / "other" / "other_0.mcap", "rb") as fh:
        assert {yaml.safe_load(r.metadata["serialized_metadata"])["ros_distro"]
                for r in make_reader(fh).iter_metadata()} == {"rolling"}


def test_every_truncation_gives_back_exactly_the_complete_chunks(tmp_path):
    """Cut a bag's file at every byte: the reader yields the messages of the chunks that end before the cut and
    nothing of a torn one (the chunk CRC catches a cut between two messages of a chunk)."""
    from mcap.reader import make_reader

    from disac_ros.ros.bags import BagWriter

    sent = []
    with BagWriter(tmp_path / "bag") as writer:
        writer.add_topic("/a", STRING)
        for n in (3, 4, 2):  # three chunks
            for _ in range(n):
                sent.append(("/a", len(sent), string_cdr(f"message {len(sent)}")))
                writer.write(*sent[-1])
            assert writer.flush()
        assert not writer.flush()  # nothing in progress
    data = mcap_file(tmp_path / "bag").read_bytes()
    with open(mcap_file(tmp_path / "bag"), "rb") as fh:
        chunks = sorted(make_reader(fh).get_summary().chunk_indexes, key=lambda c: c.chunk_start_offset)
    ends = [c.chunk_start_offset + c.chunk_length for c in chunks]
    assert len(ends) == 3
    for cut in range(len(data) + 1):
        got, error = recover_messages(data[:cut])
        complete = sum(n for n, end in zip((3, 4, 2), ends, strict=True) if end <= cut)
        assert got == sent[:complete], cut
        assert (error is None) == (cut == len(data)), cut


def test_a_chunk_reaches_the_file_when_full_or_old(tmp_path, monkeypatch):
    """While the writer is open its file already holds every finished chunk; a chunk is finished at CHUNK_SIZE or
    once its first message is CHUNK_MAX_AGE_S old (at the next write, or flush(older_than_s) from the recorder)."""
    from disac_ros.ros import bags

    monkeypatch.setattr(bags, "CHUNK_MAX_AGE_S", 0.2)
    writer = bags.BagWriter(tmp_path / "bag")
    try:
        writer.add_topic("/a", STRING)
        live = mcap_file(writer.partial)
        writer.write("/a", 1, string_cdr("one"))
        assert recover_messages(live)[0] == []
        assert not writer.flush(older_than_s=5.0)  # too young
        time.sleep(0.25)
        writer.write("/a", 2, string_cdr("two"))  # the chunk is old now: written with this message
        assert [m[1] for m in recover_messages(live)[0]] == [1, 2]
        writer.write("/a", 3, string_cdr("three"))
        assert [m[1] for m in recover_messages(live)[0]] == [1, 2]
        time.sleep(0.05)
        assert writer.flush(older_than_s=0.01)
        assert [m[1] for m in recover_messages(live)[0]] == [1, 2, 3]
        big = b"\0\1\0\0" + bytes(100_000)
        for i in range(4, 4 + bags.CHUNK_SIZE // len(big) + 2):
            writer.write("/a", i, big)
        got = [m[1] for m in recover_messages(live)[0]]
        assert 3 + bags.CHUNK_SIZE // len(big) <= len(got) < i  # a full chunk is written at once, the rest waits
        assert got == list(range(1, len(got) + 1))
    finally:
        writer.abort()


def test_an_aborted_writer_keeps_every_message_in_the_partial_folder(tmp_path):
    from disac_ros.ros.bags import BagWriter, read_bag

    bag = tmp_path / "bag"
    with pytest.raises(RuntimeError):
        with BagWriter(bag) as writer:
            writer.add_topic("/a", STRING)
            for i in range(5):
                writer.write("/a", i, string_cdr(str(i)))
            raise RuntimeError("the recording failed")
    assert not bag.exists()
    got, error = recover_messages(mcap_file(tmp_path / "bag.partial"))
    assert [m[1] for m in got] == list(range(5)) and error is not None  # no footer
    with pytest.raises(FileNotFoundError, match="interrupted recording"):
        list(read_bag(bag))


_KILLED_WRITER = """
import sys, time
sys.path.insert(0, sys.argv[2])
from bagtools import string_cdr
from disac_ros.ros.bags import BagWriter

writer = BagWriter(sys.argv[1])
writer.add_topic("/a", "std_msgs/msg/String")
writer.add_topic("/b", "std_msgs/msg/String")
for i in range(3):
    writer.write("/a", i, string_cdr(f"a{i}"))
writer.flush()
for i in range(3, 5):
    writer.write("/a", i, string_cdr(f"a{i}"))
    writer.write("/b", i, string_cdr(f"b{i}"))
writer.flush()
for i in range(5, 7):  # in the chunk in progress when the kill comes
    writer.write("/a", i, string_cdr(f"a{i}"))
print("ready", flush=True)
time.sleep(120)
"""


def test_a_killed_writer_leaves_a_partial_folder_with_its_complete_chunks(tmp_path):
    from rosbags.rosbag2 import Reader, ReaderError

    from disac_ros.ros.bags import BagWriter, bag_topics, read_bag

    bag = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(bag), os.path.dirname(os.path.dirname(
        __file__))], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if proc.stdout.readline().strip() != "ready":
            proc.wait(timeout=30)
            pytest.fail(f"the writer failed: {proc.stderr.read()}")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL

    partial = tmp_path / "killed.partial"
    assert not bag.exists()
    assert partial.is_dir() and not list(partial.rglob("metadata.yaml"))
    for folder in (partial, partial / "killed_0"):  # no reader takes it for a bag
        with pytest.raises((ReaderError, FileNotFoundError)):
            Reader(folder).open()
        with pytest.raises(ValueError, match="not a complete rosbag2 bag"):
            bag_topics(folder)
    with pytest.raises(FileNotFoundError, match="interrupted recording"):
        list(read_bag(bag))
    with pytest.raises(ValueError, match="interrupted recording"):
        BagWriter(bag)

    got, error = recover_messages(mcap_file(partial))
    assert error is not None  # no summary, no footer
    assert [(t, ts) for t, ts, _ in got] == [("/a", 0), ("/a", 1), ("/a", 2), ("/a", 3), ("/b", 3), ("/a", 4),
                                             ("/b", 4)]  # both flushed chunks, nothing of the third
    assert got[4][2] == string_cdr("b3")
    # What is recovered still says what it is: channels with their type hash, the rosbag2 record of the open.
    from mcap.records import Channel, Metadata
    from mcap.stream_reader import StreamReader

    records = []
    with open(mcap_file(partial), "rb") as fh:
        try:
            records.extend(StreamReader(fh).records)
        except Exception:  # noqa: BLE001  (the torn end)
            pass
    channels = [r for r in records if isinstance(r, Channel)]
    assert [c.topic for c in channels] == ["/a", "/b"]
    assert all(c.metadata["topic_type_hash"].startswith("RIHS01_") for c in channels)
    distro = [yaml.safe_load(r.metadata["serialized_metadata"])["ros_distro"] for r in records
              if isinstance(r, Metadata) and r.name == "rosbag2"]
    assert distro == [os.environ.get("ROS_DISTRO") or "jazzy"]
