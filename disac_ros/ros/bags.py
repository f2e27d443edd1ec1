"""rosbag2 bags (MCAP storage) without rosbag2: write and read them with the pure-Python ``rosbags``.

No rclpy import here: :mod:`disac_ros.ros.recorder` and :mod:`disac_ros.ros.player` add the ROS side, and
:mod:`disac_ros.evaluation.estimates` scores the estimates :func:`read_target_arrays` reads.

A bag is what ``ros2 bag record -s mcap`` writes: a directory ``BAG/`` with ``BAG_0.mcap`` and ``metadata.yaml``
(rosbag2 format version 9, as Jazzy writes), each topic with its type, the publishers' offered QoS and the type
hash (RIHS01), and every message type's full definition in the MCAP schema, so any rosbag2 or MCAP reader decodes
the project's own messages without our code.

A recording is written into ``BAG.partial/`` and renamed to ``BAG`` only after a clean close, so a killed recorder
never leaves a directory that looks like a complete bag. Log times are nanoseconds since the epoch.
"""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from rosbags.highlevel import AnyReader
from rosbags.interfaces import Connection, Qos
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from disac_ros.topics import GROUND_TRUTH, TARGETS, absolute

PARTIAL_SUFFIX = ".partial"
BAG_VERSION = 9  # rosbag2 metadata version written by Jazzy
PROJECT_PACKAGE = "disac_ros"
PROJECT_MSG_DIR = Path(__file__).resolve().parents[2] / "msg"
TARGET_ARRAY_TYPE = "disac_ros/msg/TargetStateArray"

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
        # rosbags names the storage file after its folder: BAG.partial/BAG/BAG_0.mcap is moved to BAG/BAG_0.mcap.
        self._inner = self.partial / f"{self.path.name}_0"
        self.partial.mkdir(parents=True)
        self._writer = Writer(self._inner, version=BAG_VERSION, storage_plugin=StoragePlugin.MCAP)
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

    def close(self) -> Path:
        """Finish the MCAP file and metadata.yaml, then move the bag to its final name; returns that path."""
        if self.closed:
            return self.path
        self._writer.close()
        meta = self._inner / "metadata.yaml"
        # rosbags writes ros_distro "rosbags"; a recording made with Jazzy's rclpy says which distro, as rosbag2 does.
        distro = os.environ.get("ROS_DISTRO", "jazzy")
        meta.write_text(meta.read_text().replace("ros_distro: rosbags", f"ros_distro: {distro}"))
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
        """Stop without finishing: an empty recording is removed, anything else stays in ``BAG.partial``."""
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
