"""Property-based fuzz (hypothesis) of every subscribed topic of every node, in process, on the smoke run (issue 16).

Each node is built as the launchers build it: the smoke run's real models, sim time (``use_sim_time``, the clock set
through the node's own ``/clock`` subscription). Its subscriptions are found through ``node.subscriptions``, so a
new one is fuzzed without editing this file (``/clock`` and ``/parameter_events`` are rclpy's own). For each,
hypothesis draws a valid message of the topic's type and breaks one to three of its fields, recursively through
nested messages and sequences: wrong sizes and encodings, NaN / Inf, negative or huge values, stamps in the past
and far in the future, unknown device and target ids, with values only a publisher of that type could send. The
message goes to the subscription's callback, as rclpy's executor calls it after deserialising.

Afterwards each node is alive: no callback needed the catch-all of :func:`disac_ros.live.drops.guarded` (drop
reason ``unexpected``: zero), it still turns a valid input into valid output, and nothing it published held a
non-finite number where one is not NaN by design. Derandomised: CI runs the same examples every time.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

EXAMPLES = 60                                             # per (node, topic): a few minutes for the whole file
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
RCLPY_TOPICS = {"/clock", "/parameter_events"}
#: (message type, field) that are NaN by design when published (msg/*.msg comments).
NAN_BY_DESIGN = {("SemanticCode", "snr_db"), ("SemanticCode", "distance_m"),
                 ("EncoderTiming", "feature_extraction_s"), ("EncoderTiming", "encoding_s"),
                 *(("TargetState", f"{k}_std") for k in ("distance", "azimuth", "pitch", "radial_velocity"))}
_INT = {"uint8": (0, 2**8 - 1), "int8": (-(2**7), 2**7 - 1), "uint16": (0, 2**16 - 1), "int16": (-(2**15), 2**15 - 1),
        "uint32": (0, 2**32 - 1), "int32": (-(2**31), 2**31 - 1), "uint64": (0, 2**64 - 1),
        "int64": (-(2**63), 2**63 - 1)}
_STRINGS = ["", "device_0", "device_1", "device_2", "device_9", "rgb8", "bgr8", "mono8", "32FC1", "car", "x" * 300,
            "-1", "nan", "1e400"]


# -- breaking one field of a message -------------------------------------------------------------------------
def _scalar(kind: str) -> st.SearchStrategy:
    if kind in _INT:
        lo, hi = _INT[kind]
        return st.one_of(st.sampled_from(sorted({lo, 0, 1, 2, 3, 7, hi})), st.integers(lo, hi))
    if kind in ("float", "double"):
        width = 32 if kind == "float" else 64
        big = 3.0e38 if width == 32 else 1e300
        return st.one_of(st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, big, -big, 1e-30]),
                         st.floats(width=width))
    if kind == "boolean":
        return st.booleans()
    if kind == "octet":  # e.g. a diagnostic status's level
        return st.binary(min_size=1, max_size=1)
    if kind == "string":
        return st.one_of(st.sampled_from(_STRINGS), st.text(max_size=12))
    raise AssertionError(f"no strategy for {kind}")


def _leaves(msg, prefix=()) -> list[tuple[tuple, str]]:
    """(path, rosidl type) of every field of ``msg``, nested messages and sequence items included."""
    out = []
    for name, kind in msg.get_fields_and_field_types().items():
        path, value = (*prefix, name), getattr(msg, name)
        out.append((path, kind))
        if "/" in kind and not kind.startswith("sequence<"):
            out += _leaves(value, path)
        elif kind.startswith("sequence<") and "/" in kind:
            for i, item in enumerate(value):
                out += _leaves(item, (*path, i))
    return out


def _get(msg, path):
    for p in path:
        msg = msg[p] if isinstance(p, int) else getattr(msg, p)
    return msg


def _set(msg, path, value) -> None:
    parent = _get(msg, path[:-1])
    if isinstance(path[-1], int):
        parent[path[-1]] = value
    else:
        setattr(parent, path[-1], value)


def _break(data, msg, path, kind) -> None:
    """Replace the field at ``path`` (rosidl type ``kind``) by something a publisher of that type could send."""
    current = _get(msg, path)
    if kind.startswith("sequence<"):
        item = kind[len("sequence<"):-1]
        items = list(current)
        if "/" in item:  # a sequence of messages: drop, duplicate or empty it
            how = data.draw(st.sampled_from(["drop", "duplicate", "empty"]))
            items = items[1:] if how == "drop" else items + items[:1] if how == "duplicate" else []
        else:
            how = data.draw(st.sampled_from(["poison", "truncate", "extend", "empty", "random"]))
            scalar = _scalar(item)
            if how == "poison" and items:
                for i in data.draw(st.lists(st.integers(0, len(items) - 1), min_size=1, max_size=4)):
                    items[i] = data.draw(scalar)
            elif how == "truncate" and items:
                items = items[:data.draw(st.integers(0, len(items) - 1))]
            elif how == "extend":
                items = items + data.draw(st.lists(scalar, min_size=1, max_size=5))
            elif how == "empty":
                items = []
            else:
                items = data.draw(st.lists(scalar, max_size=8))
            if item == "uint8":
                items = bytes(items)
        _set(msg, path, items)
    elif "/" in kind:  # a whole nested message: leave it to its leaves
        return
    else:
        _set(msg, path, data.draw(_scalar(kind)))


def _broken(data, msg):
    for _ in range(data.draw(st.integers(1, 3))):  # the leaves anew each time: a break may remove some
        leaves = [(p, k) for p, k in _leaves(msg) if "/" not in k or k.startswith("sequence<")]
        path, kind = data.draw(st.sampled_from(leaves))
        _break(data, msg, path, kind)
    return msg


# -- valid messages --------------------------------------------------------------------------------------------
def _stamp(msg, ns: int):
    msg.header.stamp.sec, msg.header.stamp.nanosec = ns // 10**9, ns % 10**9
    return msg


class Valid:
    """Valid messages of every subscribed type for the smoke run, at stamp ``ns``.

    ``system``: the node's half of the run (its shapes); None for the channel, which has no run and takes the
    smoke run's 4 x 8 codes.
    """

    def __init__(self, system=None):
        self.system = system
        self.code_shape = system.code_shape if system is not None else (4, 8)
        self.rng = np.random.default_rng(0)

    def __call__(self, msg_type, topic: str, ns: int):
        from disac_ros.msg import EncoderTiming, LinkStats, RadarEcho, SemanticCode, TargetState, TargetStateArray
        from sensor_msgs.msg import Image
        from std_msgs.msg import Float64

        device = topic.strip("/").split("/")[0]
        s = self.system
        if msg_type is Image:
            h, w, _ = s.image_shape
            return _stamp(Image(height=h, width=w, encoding="rgb8", step=3 * w,
                                data=self.rng.integers(0, 256, h * w * 3, dtype=np.uint8).tobytes()), ns)
        if msg_type is RadarEcho:
            c, a, n = s.echo_shape
            x = self.rng.normal(size=(2, c * a * n)).astype(np.float32)
            return _stamp(RadarEcho(device_id=device, target_id=0, num_chirps=c, num_antennas=a, num_samples=n,
                                    real=x[0], imag=x[1], carrier_frequency=77e9, sampling_frequency=20e6,
                                    pulse_repetition_interval=5e-5, chirp_slope=3e12, chirp_interval=5e-4,
                                    array_rows=1, array_cols=a, element_spacing=0.5, radar_snr_db=20.0), ns)
        if msg_type is SemanticCode:
            length, dim = self.code_shape
            return _stamp(SemanticCode(device_id=device, target_id=0, length=length, dim=dim,
                                       symbols=self.rng.normal(size=length * dim).astype(np.float32),
                                       snr_db=20.0 if topic.endswith("/rx") else math.nan,
                                       distance_m=30.0 if topic.endswith("/rx") else math.nan), ns)
        if msg_type is EncoderTiming:
            return _stamp(EncoderTiming(device_id=device, feature_extraction_s=0.01, encoding_s=0.001), ns)
        if msg_type is LinkStats:
            return _stamp(LinkStats(device_id=device, target_id=0, payload_bytes=128, payload_bits=1024.0,
                                    snr_db=20.0, distance_m=30.0, gain=1.0, noise_power_w=0.01, rate_bps=6658.0,
                                    delay_s=0.15), ns)
        if msg_type is TargetStateArray:
            states = [_stamp(TargetState(target_id=n, class_id=0, label="car", class_probabilities=[1.0, 0.0, 0.0],
                                         distance=10.0 + n, contributing_devices=["device_0"]), ns)
                      for n in range(len(s.target_classes))]
            return _stamp(TargetStateArray(reference_device_id="device_0", targets=states), ns)
        if msg_type is Float64:  # the center's frame stride
            return Float64(data=1.0)
        from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

        if msg_type is DiagnosticArray:  # another node's status, which the center reads for malformed-input drops
            values = [KeyValue(key="dropped.nan", value="3"), KeyValue(key="dropped.skipped", value="12"),
                      KeyValue(key="frames_encoded", value="40")]
            return DiagnosticArray(status=[DiagnosticStatus(name="/device_1/device_encoder", hardware_id="device_1",
                                                            message="running", values=values)])
        raise AssertionError(f"no valid {msg_type.__name__} for {topic}: add it here")


# -- the nodes, as the launchers start them ------------------------------------------------------------------
class Harness:
    """A node under fuzz: its subscriptions by topic, everything it publishes, and its sim clock."""

    def __init__(self, node):
        from rosgraph_msgs.msg import Clock

        self.node, self.sent = node, []
        self.subs = {s.topic_name: s for s in node.subscriptions if s.topic_name not in RCLPY_TOPICS}
        self._clock = next(s for s in node.subscriptions if s.topic_name == "/clock")
        self._Clock = Clock
        for pub in node.publishers:
            if pub.topic_name not in RCLPY_TOPICS:
                pub.publish = lambda msg, topic=pub.topic_name: self.sent.append((topic, msg))
        self.now = 10 * 10**9
        self.tick(0)

    def tick(self, ns: int = 250_000_000) -> int:
        """Advance sim time by ``ns`` (a frame at 4 Hz) through the node's /clock subscription; the new time."""
        self.now += ns
        msg = self._Clock()
        msg.clock.sec, msg.clock.nanosec = self.now // 10**9, self.now % 10**9
        self._clock.callback(msg)
        return self.now


def _nonfinite(msg, kind: str = "") -> list[str]:
    """Fields of ``msg`` holding NaN or Inf that are not NaN by design."""
    bad, name = [], type(msg).__name__
    for field, ftype in msg.get_fields_and_field_types().items():
        value = getattr(msg, field)
        if (name, field) in NAN_BY_DESIGN:
            continue
        if ftype in ("float", "double") and not math.isfinite(value):
            bad.append(f"{name}.{field}")
        elif ftype in ("sequence<float>", "sequence<double>") and not np.isfinite(np.asarray(value)).all():
            bad.append(f"{name}.{field}")
        elif "/" in ftype and not ftype.startswith("sequence<"):
            bad += _nonfinite(value)
        elif ftype.startswith("sequence<") and "/" in ftype:
            for item in value:
                bad += _nonfinite(item)
    return bad


def _encoder(run):
    from rclpy.parameter import Parameter

    from disac_ros.nodes.device_encoder import DeviceEncoder

    return DeviceEncoder(namespace="/device_1", parameter_overrides=[
        Parameter("device_id", value="device_1"), Parameter("run", value=str(run)),
        Parameter("use_sim_time", value=True)])


def _channel(run):
    from rclpy.parameter import Parameter

    from disac_ros.nodes.channel import Channel

    return Channel(parameter_overrides=[Parameter("preset", value="smoke"), Parameter("center", value="device_0"),
                                        Parameter("devices", value=["device_1", "device_2"]),
                                        Parameter("use_sim_time", value=True)])


def _aggregator(run):
    from rclpy.parameter import Parameter

    from disac_ros.nodes.aggregator import Aggregator

    return Aggregator(parameter_overrides=[Parameter("run", value=str(run)), Parameter("preset", value="smoke"),
                                           Parameter("window_s", value=0.0),
                                           Parameter("use_sim_time", value=True)])


NODES = {"device_encoder": _encoder, "channel": _channel, "aggregator": _aggregator}
#: What each node publishes from a valid input, and the topics that carry it.
OUTPUT = {"device_encoder": "/device_1/semantic/tx", "channel": "/device_1/semantic/rx", "aggregator": "/targets"}


@pytest.fixture(scope="module")
def harnesses(smoke_run, rclpy_context):
    made = {name: Harness(make(smoke_run)) for name, make in NODES.items()}
    yield made
    for h in made.values():
        h.node.destroy_node()


def _valid_input(h: Harness, name: str, ns: int) -> None:
    """One complete valid input of ``name`` at stamp ``ns``: a frame of its sensors and/or its collaborators' codes."""
    from disac_ros.msg import RadarEcho, SemanticCode
    from sensor_msgs.msg import Image
    from std_msgs.msg import Float64

    valid = Valid(getattr(h.node, "system", None))
    if name == "channel":
        h.subs["/device_1/semantic/tx"].callback(valid(SemanticCode, "/device_1/semantic/tx", ns))
        return
    prefix = "/device_1" if name == "device_encoder" else "/device_0"
    if name == "device_encoder":  # every frame again, whatever stride the fuzz left
        h.subs["/device_1/frame_stride"].callback(valid(Float64, "/device_1/frame_stride", ns))
    if name == "aggregator":
        for k in h.node.devices:
            for n in range(len(h.node.system.target_classes)):
                code = valid(SemanticCode, f"/{k}/semantic/rx", ns)
                code.target_id = n
                h.subs[f"/{k}/semantic/rx"].callback(code)
    for n in range(len(h.node.system.target_classes)):
        echo = valid(RadarEcho, f"{prefix}/radar/echo", ns)
        echo.target_id = n
        h.subs[f"{prefix}/radar/echo"].callback(echo)
    h.subs[f"{prefix}/camera/image_raw"].callback(valid(Image, f"{prefix}/camera/image_raw", ns))


def _cases():
    return [(name, topic) for name, topic in (
        ("device_encoder", "/device_1/camera/image_raw"), ("device_encoder", "/device_1/radar/echo"),
        ("device_encoder", "/device_1/frame_stride"),
        ("channel", "/device_1/semantic/tx"), ("channel", "/device_2/semantic/tx"),
        ("aggregator", "/device_0/camera/image_raw"), ("aggregator", "/device_0/radar/echo"),
        ("aggregator", "/device_1/semantic/rx"), ("aggregator", "/device_1/semantic/timing"),
        ("aggregator", "/device_1/link/stats"), ("aggregator", "/ground_truth/targets"),
        ("aggregator", "/diagnostics"))]


def test_every_subscribed_topic_is_fuzzed(harnesses):
    """The cases below cover every subscription of every node (a new subscription fails here until added)."""
    covered = set(_cases())
    for name, h in harnesses.items():
        for topic in h.subs:
            collaborator = topic.split("/")[1] in ("device_2", "device_3") and name == "aggregator"
            assert (name, topic) in covered or collaborator, f"{name} subscribes {topic}, which is not fuzzed"


@pytest.mark.parametrize("name, topic", _cases())
def test_nothing_sent_on_a_topic_ends_a_node_or_makes_it_publish_nonfinite(harnesses, name, topic):
    h = harnesses[name]
    sub = h.subs[topic]
    valid = Valid(getattr(h.node, "system", None))

    @FUZZ
    @given(st.data())
    def fuzz(data):
        ns = h.tick()
        offset = data.draw(st.sampled_from([0, -5 * 10**9, 10**9, 2**62]), label="stamp offset")
        stamp = min(max(ns + offset, 0), (2**31 - 1) * 10**9)
        msg = valid(sub.msg_type, topic, stamp)
        sub.callback(_broken(data, msg))

    dropped = sum(h.node.drops.counts.values())
    fuzz()
    print(f"{name} {topic}: {h.node.drops.summary()}")
    assert sum(h.node.drops.counts.values()) - dropped >= 3, "the fuzz broke nothing the node checks"
    before = len(h.sent)
    _valid_input(h, name, h.tick(10**9))  # a second later: nothing of the fuzz makes this stale
    assert h.node.drops.counts.get("unexpected", 0) == 0, h.node.drops.summary()
    assert any(t == OUTPUT[name] for t, _ in h.sent[before:]), \
        f"{name} published nothing for a valid input after the fuzz of {topic}; dropped: {h.node.drops.summary()}"
    bad = [(t, f) for t, m in h.sent for f in _nonfinite(m)]
    assert not bad, f"{name} published non-finite values: {bad[:5]}"
