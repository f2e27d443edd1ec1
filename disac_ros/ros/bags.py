"""rosbag2 bags (MCAP storage) without rosbag2: write and read them with the pure-Python ``rosbags``.

No rclpy import here: :mod:`disac_ros.ros.recorder` and :mod:`disac_ros.ros.player` add the ROS side, and
:mod:`disac_ros.evaluation.estimates` scores the estimates :func:`read_target_arrays` reads.

A bag is what ``ros2 bag record -s mcap`` writes: a directory ``BAG/`` with ``BAG_0.mcap`` and ``metadata.yaml``
(rosbag2 format version 9, as Jazzy writes), each topic with its type, the publishers' offered QoS and the type
hash (RIHS01), and every message type's full definition in the MCAP schema, so any rosbag2 or MCAP reader decodes
the project's own messages without our code.

The MCAP file is what rosbag2's MCAP storage plugin (``rosbag2_storage_mcap``, Jazzy) writes, written with
foxglove's ``mcap`` library as rosbag2 does with its C++ twin: profile ``ros2``; a schema per type (``ros2msg``, the
full definition); a channel per topic whose metadata holds ``offered_qos_profiles`` (the publishers' QoS as YAML)
and ``topic_type_hash`` (RIHS01); a ``rosbag2`` metadata record with one key, ``serialized_metadata`` (the
``metadata.yaml`` content, ``ros_distro`` included), written once at open and again at close; uncompressed chunks
of at most 768 KiB (libmcap's default, which rosbag2 keeps). Unlike rosbag2, a chunk is also finished once it
holds a message written :data:`CHUNK_MAX_AGE_S` ago, and chunks carry a CRC, so that a crash loses little and a torn
chunk is detected. Publish times equal log times (rosbag2 stores the sender's time there).

A recording is written into ``BAG.partial/`` and renamed to ``BAG`` only after a clean close, so a killed recorder
never leaves a directory that looks like a complete bag: the ``.partial`` folder has no ``metadata.yaml``, and
:class:`BagWriter` and every reader here refuse it. What a killed recorder leaves is
``BAG.partial/BAG_0/BAG_0.mcap`` without summary or footer, holding every chunk finished before the kill (each one
is pushed to the OS when finished): a crash loses the chunk in progress only, i.e. the messages of the last
:data:`CHUNK_MAX_AGE_S` s (or of the last 768 KiB). Recovery rule: read that file front to back, e.g.
``mcap.reader.NonSeekingReader(f, validate_crcs=True).iter_messages(log_time_order=False)``, and stop at the first
error: every message yielded before it comes from a complete chunk whose CRC matched (foxglove's ``mcap recover``
command rewrites such a file into a complete MCAP, without the CRC check). Log times are nanoseconds since the epoch.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import yaml
from mcap.writer import LIBRARY_IDENTIFIER, CompressionType
from mcap.writer import Writer as McapFileWriter
from rosbags.highlevel import AnyReader
from rosbags.interfaces import Connection, MessageDefinitionFormat, Qos
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.rosbag2.enums import CompressionMode
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from disac_ros.topics import GROUND_TRUTH, TARGETS, absolute

PARTIAL_SUFFIX = ".partial"
BAG_VERSION = 9  # rosbag2 metadata version written by Jazzy
PROJECT_PACKAGE = "disac_ros"
PROJECT_MSG_DIR = Path(__file__).resolve().parents[2] / "msg"
TARGET_ARRAY_TYPE = "disac_ros/msg/TargetStateArray"
CHUNK_SIZE = 768 * 1024  # bytes: libmcap's DefaultChunkSize, which rosbag2's MCAP plugin writes with
CHUNK_MAX_AGE_S = 1.0  # a chunk is finished once its first message is this old: what a crash can lose

_PRIMITIVES = {"bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32",
               "int64", "uint64", "string", "wstring"}


class BagMessage(NamedTuple):
    """One recorded message: topic, type name, log time [ns since epoch] and CDR bytes."""

    topic: str
    msgtype: str
    timestamp: int
    data: bytes


# ---------------------------------------------------------------------------------------------------- types


def _msg_file(msgtype: str) -> Path | None:
    """The ``.msg`` file of ``pkg/msg/Name``: the project's ``msg/`` first, then every ament prefix's share."""
    pkg, _, name = msgtype.split("/")
    if pkg == PROJECT_PACKAGE and (PROJECT_MSG_DIR / f"{name}.msg").is_file():
        return PROJECT_MSG_DIR / f"{name}.msg"
    for prefix in filter(None, os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep)):
        path = Path(prefix) / "share" / pkg / "msg" / f"{name}.msg"
        if path.is_file():
            return path
    return None


def _referenced_types(text: str, pkg: str) -> set[str]:
    """Message types a ``.msg`` text uses in its fields, as ``pkg/msg/Name``."""
    out = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue  # blank or comment; constants have primitive types, skipped below
        typ = re.sub(r"\[.*\]$", "", line.split()[0]).split("<=")[0]
        if typ in _PRIMITIVES:
            continue
        if typ == "Header":
            out.add("std_msgs/msg/Header")
        elif "/" in typ:
            parts = typ.split("/")
            out.add(f"{parts[0]}/msg/{parts[-1]}")
        else:
            out.add(f"{pkg}/msg/{typ}")
    return out


def ensure_type(typestore: Typestore, msgtype: str) -> bool:
    """Register ``msgtype`` (and what it uses) from its ``.msg`` file if the store lacks it; False if not found."""
    if msgtype in typestore.fielddefs:
        return True
    found: dict = {}
    pending = [msgtype]
    while pending:
        name = pending.pop()
        if name in found or name in typestore.fielddefs:
            continue
        path = _msg_file(name)
        if path is None:
            return False
        text = path.read_text()
        found.update(get_types_from_msg(text, name))
        pending.extend(_referenced_types(text, name.split("/")[0]))
    typestore.register(found)
    return True


def load_typestore(msgtypes: Iterable[str] = ()) -> Typestore:
    """The Jazzy types plus the project's ``msg/*.msg`` and any other ``msgtypes`` found in an ament share."""
    typestore = get_typestore(Stores.ROS2_JAZZY)
    project = {}
    for path in sorted(PROJECT_MSG_DIR.glob("*.msg")):
        project.update(get_types_from_msg(path.read_text(), f"{PROJECT_PACKAGE}/msg/{path.stem}"))
    if project:
        typestore.register(project)
    for msgtype in msgtypes:
        ensure_type(typestore, msgtype)
    return typestore


# ---------------------------------------------------------------------------------------------------- writing


def ros_distro() -> str:
    """The distro a bag says it was recorded with: ``$ROS_DISTRO``, else ``jazzy`` (the rclpy this project runs)."""
    return os.environ.get("ROS_DISTRO") or "jazzy"


# rosbag2's order of the keys in its metadata (rosbag2_storage/yaml.hpp, convert<BagMetadata>::encode and friends).
_METADATA_KEYS = ("version", "storage_identifier", "duration", "starting_time", "message_count",
                  "topics_with_message_count", "compression_format", "compression_mode", "relative_file_paths",
                  "files", "custom_data", "ros_distro")
_TOPIC_KEYS = ("name", "type", "serialization_format", "offered_qos_profiles", "type_description_hash")
_FILE_KEYS = ("path", "starting_time", "duration", "message_count")


def _ordered(mapping: dict, keys: Sequence[str]) -> dict:
    return {**{k: mapping[k] for k in keys if k in mapping}, **{k: v for k, v in mapping.items() if k not in keys}}


def _serialized_metadata(info: dict) -> str:
    """The ``serialized_metadata`` value of rosbag2's MCAP metadata record: the bag information as YAML."""
    info = _ordered({**info, "ros_distro": ros_distro()}, _METADATA_KEYS)
    info["topics_with_message_count"] = [
        {"topic_metadata": _ordered(t["topic_metadata"], _TOPIC_KEYS), "message_count": t["message_count"]}
        for t in info.get("topics_with_message_count") or []]
    info["files"] = [_ordered(f, _FILE_KEYS) for f in info.get("files") or []]
    return yaml.safe_dump(info, sort_keys=False, default_flow_style=False, width=1 << 16)


class _Rosbag2McapStorage:
    """rosbags' storage-writer interface over foxglove's ``mcap`` writer, writing what ``rosbag2_storage_mcap`` writes.

    It replaces rosbags' own MCAP writer (through ``Writer.STORAGE_PLUGINS``) because that one has no option for
    the channels' ``topic_type_hash``, says ``ros_distro: rosbags`` and keeps each 1 MiB chunk in memory unflushed
    (a rewrite at close could fix the first two, never a killed recording's file).
    """

    def __init__(self, path: Path, compression: CompressionMode) -> None:
        if compression != CompressionMode.NONE:
            raise ValueError(f"compression {compression.name} is not supported: bags are written uncompressed")
        self.path = path / f"{path.name}.mcap"
        self._file = self.path.open("xb")
        self._mcap = McapFileWriter(self._file, chunk_size=CHUNK_SIZE, compression=CompressionType.NONE)
        self._mcap.start(profile="ros2", library=LIBRARY_IDENTIFIER)
        self._schemas: dict[str, int] = {}
        self._channels: dict[int, int] = {}  # rosbags connection id -> MCAP channel id
        self._chunk_since: float | None = None  # monotonic time of the first message of the chunk in progress
        # rosbag2 writes its metadata when it opens the file (SequentialWriter::open) and again when it closes it.
        never = 2**63 - 1
        self._mcap.add_metadata("rosbag2", {"serialized_metadata": _serialized_metadata({
            "version": BAG_VERSION, "storage_identifier": "mcap", "duration": {"nanoseconds": 0},
            "starting_time": {"nanoseconds_since_epoch": never}, "message_count": 0,
            "topics_with_message_count": [], "compression_format": "", "compression_mode": "",
            "relative_file_paths": [self.path.name],
            "files": [{"path": self.path.name, "starting_time": {"nanoseconds_since_epoch": never},
                       "duration": {"nanoseconds": 0}, "message_count": 0}],
            "custom_data": None})})
        self._file.flush()

    def add_msgtype(self, connection: Connection) -> None:
        encoding = "ros2msg" if connection.msgdef.format == MessageDefinitionFormat.MSG else "ros2idl"
        self._schemas[connection.msgtype] = self._mcap.register_schema(
            connection.msgtype, encoding, connection.msgdef.data.encode())

    def add_connection(self, connection: Connection, offered_qos_profiles: str) -> None:
        self._channels[connection.id] = self._mcap.register_channel(
            connection.topic, connection.ext.serialization_format, self._schemas[connection.msgtype],
            {"offered_qos_profiles": offered_qos_profiles, "topic_type_hash": connection.digest})

    def write(self, connection: Connection, timestamp: int, data: bytes | memoryview) -> None:
        end = self._file.tell()
        self._mcap.add_message(self._channels[connection.id], log_time=timestamp, data=bytes(data),
                               publish_time=timestamp)
        now = time.monotonic()
        if self._file.tell() != end:  # the chunk reached CHUNK_SIZE and was written: push it out
            self._file.flush()
            self._chunk_since = None
        elif self._chunk_since is None:
            self._chunk_since = now
        elif now - self._chunk_since >= CHUNK_MAX_AGE_S:
            self.flush()

    def flush(self, older_than_s: float = 0.0) -> bool:
        """Finish the chunk in progress if it has a message written ``older_than_s`` ago; True if it did."""
        if self._chunk_since is None or time.monotonic() - self._chunk_since < older_than_s:
            return False
        self._mcap.flush()  # writes the chunk and its message indexes, and flushes the file (no fsync)
        self._chunk_since = None
        return True

    def close(self, version: int, metadata: str) -> None:
        self._mcap.flush()  # rosbag2 (libmcap) finishes the chunk before it writes a metadata record
        self._mcap.add_metadata("rosbag2", {"serialized_metadata": _serialized_metadata(yaml.safe_load(metadata))})
        self._mcap.finish()
        self._file.close()

    def abort(self) -> None:
        # Keep what was written: finish the chunk in progress, but write no summary or footer.
        with contextlib.suppress(Exception):
            self._mcap.flush()
        self._file.close()


class _Rosbag2Writer(Writer):
    STORAGE_PLUGINS = {StoragePlugin.MCAP: _Rosbag2McapStorage}


def check_new_bag(path: str | Path) -> Path:
    """Raise ``ValueError`` if ``path`` or its unfinished ``.partial`` twin exists; return it as a Path."""
    path = Path(path)
    partial = path.with_name(path.name + PARTIAL_SUFFIX)
    if path.exists():
        raise ValueError(f"{path} exists already; a bag is never overwritten: choose another --out or delete it")
    if partial.exists():
        raise ValueError(f"{partial} is left from an interrupted recording (it is not a complete bag); "
                         f"delete it or choose another --out")
    return path


class BagWriter:
    """Writes a rosbag2 bag with MCAP storage into ``BAG.partial/`` and renames it to ``BAG`` on :meth:`close`.

    Use it as a context manager, or call :meth:`close` (keep everything) or :meth:`abort` (leave the
    ``.partial`` folder, which never looks like a bag) yourself. Not thread-safe: write from one thread.
    """

    def __init__(self, path: str | Path, typestore: Typestore | None = None) -> None:
        self.path = check_new_bag(path)
        self.partial = self.path.with_name(self.path.name + PARTIAL_SUFFIX)
        self.typestore = typestore or load_typestore()
        # The storage file is named after its folder: BAG.partial/BAG_0/BAG_0.mcap, whose folder becomes BAG/.
        self._inner = self.partial / f"{self.path.name}_0"
        self.partial.mkdir(parents=True)
        self._writer = _Rosbag2Writer(self._inner, version=BAG_VERSION, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._connections: dict[str, Connection] = {}
        self.counts: dict[str, int] = {}
        self.closed = False

    @property
    def topics(self) -> dict[str, str]:
        """Topic name to type name of every topic added so far."""
        return {t: c.msgtype for t, c in self._connections.items()}

    def add_topic(self, topic: str, msgtype: str, offered_qos: Sequence[Qos] = ()) -> str:
        """Declare a topic before writing to it; returns the type hash (RIHS01) stored with it."""
        if topic in self._connections:
            raise ValueError(f"topic {topic} was added already")
        if not ensure_type(self.typestore, msgtype):
            raise ValueError(f"no message definition for {msgtype} (not a Jazzy type, not in msg/, not in any "
                             f"AMENT_PREFIX_PATH share folder): cannot record {topic}")
        conn = self._writer.add_connection(topic, msgtype, typestore=self.typestore,
                                           offered_qos_profiles=list(offered_qos))
        self._connections[topic] = conn
        self.counts[topic] = 0
        return conn.digest

    def write(self, topic: str, timestamp_ns: int, data: bytes | memoryview) -> None:
        """Append one serialized (CDR) message with its log time [ns since epoch]."""
        self._writer.write(self._connections[topic], int(timestamp_ns), data)
        self.counts[topic] += 1

    def flush(self, older_than_s: float = 0.0) -> bool:
        """Write the chunk in progress to the file (no fsync) if it holds a message written ``older_than_s`` ago.

        A message is in the file, and survives a kill, once its chunk is written: when the chunk reaches
        :data:`CHUNK_SIZE`, when a write finds it :data:`CHUNK_MAX_AGE_S` old, or here. Returns True if it wrote one.
        """
        return not self.closed and self._writer.storage.flush(older_than_s)

    def close(self) -> Path:
        """Finish the MCAP file and metadata.yaml, then move the bag to its final name; returns that path."""
        if self.closed:
            return self.path
        self._writer.close()
        meta = self._inner / "metadata.yaml"
        # rosbags writes ros_distro "rosbags"; a recording made with Jazzy's rclpy says which distro, as rosbag2 does.
        meta.write_text(meta.read_text().replace("ros_distro: rosbags", f"ros_distro: {ros_distro()}"))
        for file in self._inner.iterdir():
            with open(file, "rb") as fh:
                os.fsync(fh.fileno())
        if self.path.exists():
            raise ValueError(f"{self.path} appeared while recording; the bag is kept in {self._inner}")
        os.replace(self._inner, self.path)
        self.partial.rmdir()
        self.closed = True
        return self.path

    def abort(self) -> None:
        """Stop without finishing: an empty recording is removed, anything else stays in ``BAG.partial``.

        The chunk in progress is written first, so the ``.partial`` file holds every message (without footer).
        """
        if self.closed:
            return
        self._writer.abort()
        self.closed = True
        if not any(self.counts.values()):
            shutil.rmtree(self.partial, ignore_errors=True)

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # Ctrl-C keeps what was written; any other error leaves the unfinished .partial folder.
        if exc_type is None or issubclass(exc_type, KeyboardInterrupt):
            self.close()
        else:
            self.abort()


# ---------------------------------------------------------------------------------------------------- reading


def _check_bag(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        partial = path.with_name(path.name + PARTIAL_SUFFIX)
        hint = f" ({partial} is an interrupted recording, not a bag)" if partial.exists() else ""
        raise FileNotFoundError(f"no bag at {path}{hint}")
    if path.is_dir() and not (path / "metadata.yaml").is_file():
        raise ValueError(f"{path} is not a complete rosbag2 bag: it has no metadata.yaml")
    return path


class TopicInfo(NamedTuple):
    """A recorded topic: type name, message count and the publishers' offered QoS profiles."""

    msgtype: str
    count: int
    offered_qos: list[Qos]


def bag_topics(path: str | Path) -> dict[str, TopicInfo]:
    """Topic name to :class:`TopicInfo` of every topic in the bag."""
    with Reader(_check_bag(path)) as reader:
        return {c.topic: TopicInfo(c.msgtype, c.msgcount, list(getattr(c.ext, "offered_qos_profiles", [])))
                for c in reader.connections}


def read_bag(path: str | Path, topics: Iterable[str] | None = None) -> Iterator[BagMessage]:
    """Yield the bag's messages (all, or those on ``topics``) in log-time order, as raw CDR bytes."""
    with Reader(_check_bag(path)) as reader:
        wanted = set(topics) if topics is not None else None
        conns = [c for c in reader.connections if wanted is None or c.topic in wanted]
        if not conns:
            return
        for conn, timestamp, data in reader.messages(connections=conns):
            yield BagMessage(conn.topic, conn.msgtype, timestamp, bytes(data))


# ---------------------------------------------------------------------------------------------------- estimates


class TargetArrays(NamedTuple):
    """The decoded ``TargetStateArray`` messages of a bag's ground-truth and estimate topics, in log-time order."""

    ground_truth: list
    estimates: list


def read_target_arrays(path: str | Path, ground_truth_topic: str = absolute(GROUND_TRUTH),
                       estimate_topic: str = absolute(TARGETS)) -> TargetArrays:
    """Ground truth and estimates of a bag, for :func:`disac_ros.evaluation.estimates.evaluate_estimates`.

    Raises ``ValueError`` if the bag lacks either topic or holds another type there.
    """
    path = _check_bag(path)
    with AnyReader([path], default_typestore=load_typestore()) as reader:
        present = {c.topic: c.msgtype for c in reader.connections}
        for topic in (ground_truth_topic, estimate_topic):
            if topic not in present:
                raise ValueError(f"bag {path} has no {topic} topic (it has: {', '.join(sorted(present)) or 'none'}); "
                                 f"record both {ground_truth_topic} and {estimate_topic} to evaluate")
            if present[topic] != TARGET_ARRAY_TYPE:
                raise ValueError(f"{topic} in {path} is {present[topic]}, expected {TARGET_ARRAY_TYPE}")
        out = TargetArrays([], [])
        conns = [c for c in reader.connections if c.topic in (ground_truth_topic, estimate_topic)]
        for conn, _, data in reader.messages(connections=conns):
            msg = reader.deserialize(data, conn.msgtype)
            (out.ground_truth if conn.topic == ground_truth_topic else out.estimates).append(msg)
    return out
