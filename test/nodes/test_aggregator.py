"""disac_ros.nodes.aggregator, in-process: it declares its table and names the devices' topics; nothing a publisher
sends ends it, and an estimate that is not all finite is never published."""
from __future__ import annotations

import math

import numpy as np
import pytest
from nodetools import _assert_declared_as_table, _topics

NS = 1_000_000_000


def _aggregator(**params):
    from rclpy.parameter import Parameter

    from disac_ros.nodes.aggregator import Aggregator

    overrides = [Parameter("run", value="fake"), Parameter("preset", value="smoke")]
    return Aggregator(parameter_overrides=overrides + [Parameter(k, value=v) for k, v in params.items()])


def _timing(sec=4, t_ft=0.01, t_se=0.002, device="device_1", nanosec=0):
    """An EncoderTiming as a device's encoder publishes it."""
    from disac_ros.msg import EncoderTiming

    msg = EncoderTiming(device_id=device, feature_extraction_s=t_ft, encoding_s=t_se)
    msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nanosec
    return msg


def _stats(sec=4, target=0, delay=0.15, device="device_1", nanosec=0):
    """A LinkStats as the channel publishes it (one code of a 128-byte payload at 20 dB)."""
    from disac_ros.msg import LinkStats

    msg = LinkStats(device_id=device, target_id=target, payload_bytes=128, payload_bits=1024.0, snr_db=20.0,
                    distance_m=46.0, gain=1.0, noise_power_w=0.01, rate_bps=6658.0, delay_s=delay)
    msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nanosec
    return msg


def _estimate(target: int, distance: float = 12.0):
    from disac_ros.inference import TargetEstimate

    return TargetEstimate(target_id=target, class_id=0, label="car", class_probabilities=[0.8, 0.1, 0.1],
                          distance=distance, azimuth=0.1, pitch=0.0, radial_velocity=1.0,
                          contributing_devices=["device_0"])


def _center_frame(node, sec: int) -> None:
    """The center's image and its 3 echoes of one stamp, as the bridge sends them (the fake run's shapes)."""
    from disac_ros.msg import RadarEcho
    from sensor_msgs.msg import Image

    image = Image(height=4, width=4, encoding="rgb8", step=12, data=bytes(48))
    image.header.stamp.sec = sec
    node.sensors.on_image(image)
    for n in range(3):
        echo = RadarEcho(device_id="device_0", target_id=n, num_chirps=1, num_antennas=2, num_samples=3,
                         real=[1.0] * 6, imag=[0.0] * 6)
        echo.header.stamp.sec = sec
        node.sensors.on_echo(echo)


@pytest.fixture
def aggregator(rclpy_context, fake_run, published):
    """An aggregator on the fake run that releases each center frame at once (window 0), with what it publishes;
    its model gives finite estimates unless a test says otherwise (``node.estimates``)."""
    node = _aggregator(window_s=0.0)
    node.estimates = lambda: [_estimate(n) for n in range(3)]
    node.system.aggregate = lambda image, echoes, received: node.estimates()
    node.sent = published(node.targets_pub)
    node.sent_markers = published(node.markers_pub)
    yield node
    node.destroy_node()


def _assert_aggregates(node, sec: int) -> None:
    """The aggregator still turns a center frame into one published, finite estimate array."""
    before = len(node.sent)
    _center_frame(node, sec)
    assert len(node.sent) == before + 1 and len(node.sent[-1].targets) == 3
    assert all(math.isfinite(t.distance) for t in node.sent[-1].targets)


def test_aggregator_declares_its_table_and_names_device_topics(rclpy_context, fake_run):
    from disac_ros.nodes.aggregator import PARAMETERS

    node = _aggregator()
    try:
        _assert_declared_as_table(node, PARAMETERS)
        subscribed, published = _topics(node)
        assert subscribed == {"/device_0/camera/image_raw", "/device_0/radar/echo", "/ground_truth/targets",
                              "/diagnostics",
                              *(f"/device_{k}/{t}" for k in (1, 2) for t in ("semantic/rx", "semantic/timing",
                                                                            "link/stats"))}
        assert {"/targets", "/targets/markers"} <= published
    finally:
        node.destroy_node()


def test_side_information_is_typed_and_kept():
    """Issue 16: timings and link statistics were Float64MultiArrays whose stamp_s = inf or NaN (OverflowError,
    ValueError) killed the aggregator; as EncoderTiming / LinkStats the stamp is an integer header stamp."""
    from disac_ros.msg import EncoderTiming, LinkStats

    assert EncoderTiming.get_fields_and_field_types()["header"] == "std_msgs/Header"
    assert LinkStats.get_fields_and_field_types()["delay_s"] == "double"


def test_timing_and_link_statistics_are_remembered(aggregator):
    aggregator.on_timing("device_1", _timing())
    aggregator.on_stats("device_1", _stats(target=0))
    aggregator.on_stats("device_1", _stats(target=1))
    assert aggregator._timing["device_1"][4 * NS] == (0.01, 0.002)
    assert aggregator._t_com["device_1"][4 * NS] == pytest.approx(0.30)
    assert not aggregator.drops.counts
    _assert_aggregates(aggregator, 4)


@pytest.mark.parametrize("callback, msg, reason", [
    ("on_timing", lambda: _timing(t_ft=math.inf), "nan"),
    ("on_timing", lambda: _timing(t_se=-0.01), "invalid"),                    # a negative duration
    ("on_timing", lambda: _timing(t_ft=1e6), "invalid"),                      # longer than a day
    ("on_timing", lambda: _timing(sec=-3), "invalid"),                        # before sim time 0
    ("on_timing", lambda: _timing(nanosec=NS), "invalid"),                    # not a time
    ("on_timing", lambda: _timing(device="device_2"), "unknown_device"),      # on another device's topic
    ("on_stats", lambda: _stats(delay=math.nan), "nan"),                      # no delay
    ("on_stats", lambda: _stats(delay=-1.0), "invalid"),
    ("on_stats", lambda: _stats(delay=math.inf), "nan"),
    ("on_stats", lambda: _stats(target=7), "unknown_target"),
    ("on_stats", lambda: _stats(sec=-1), "invalid"),
    ("on_stats", lambda: _stats(device="device_9"), "unknown_device"),
])
def test_malformed_side_information_is_counted_and_dropped(aggregator, callback, msg, reason):
    getattr(aggregator, callback)("device_1", msg())
    assert dict(aggregator.drops.counts) == {reason: 1}
    assert not aggregator._timing["device_1"] and not aggregator._t_com["device_1"]
    _assert_aggregates(aggregator, 4)


def _status(name: str, **drops):
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

    values = [KeyValue(key=f"dropped.{reason}", value=str(n)) for reason, n in drops.items()]
    return DiagnosticArray(status=[DiagnosticStatus(name=name, values=values)])


def test_malformed_input_anywhere_in_the_graph_is_a_disturbance_not_congestion(aggregator):
    """The stride advisor is told of malformed drops: the node's own and every other node's on /diagnostics."""
    assert not aggregator._disturbed()
    aggregator.on_diagnostics(_status("/device_1/device_encoder", encoding=3, skipped=9))
    assert aggregator._disturbed() and not aggregator._disturbed()  # a rise since the last update, once
    aggregator.on_diagnostics(_status("/device_1/device_encoder", encoding=3, skipped=40))
    assert not aggregator._disturbed()                                # being busy is not malformed input
    aggregator.on_diagnostics(_status("/device_2/device_encoder", nan="x", size="1e400"))  # not counts: dropped
    assert aggregator.drops.counts["invalid"] == 1
    assert aggregator._disturbed() and not aggregator._disturbed()    # that was malformed input too
    aggregator.drops.drop("nan")                                      # its own, e.g. a code with NaN symbols
    assert aggregator._disturbed()
    own = aggregator.get_fully_qualified_name()
    aggregator.on_diagnostics(_status(own, nan=100))                  # its own status, heard back: not twice
    assert not aggregator._disturbed()


def test_an_estimate_with_nan_or_inf_is_not_published(aggregator):
    """Issue 16: under a fuzz, 2 of 156 published estimate arrays held NaN or Inf."""
    for n, bad in enumerate((math.nan, math.inf)):
        aggregator.estimates = lambda bad=bad: [_estimate(0), _estimate(1, distance=bad), _estimate(2)]
        _center_frame(aggregator, 5 + n)
    assert aggregator.sent == [] and aggregator.sent_markers == []
    assert aggregator.drops.counts["nonfinite_output"] == 2
    aggregator.estimates = lambda: [_estimate(0), _estimate(1), _estimate(2)]
    _assert_aggregates(aggregator, 7)
    probabilities = [_estimate(0), _estimate(1), _estimate(2)]
    probabilities[2].class_probabilities = [math.nan, 0.5, 0.5]
    aggregator.estimates = lambda: probabilities
    _center_frame(aggregator, 8)
    assert len(aggregator.sent) == 1 and aggregator.drops.counts["nonfinite_output"] == 3


def test_a_model_error_or_a_malformed_message_is_counted_not_fatal(aggregator):
    from types import SimpleNamespace

    def fails():
        raise RuntimeError("CUDA error: an illegal memory access")

    aggregator.estimates = fails
    _center_frame(aggregator, 5)
    assert aggregator.sent == [] and aggregator.drops.counts["unexpected"] == 1
    aggregator.on_code("device_1", SimpleNamespace(device_id="device_1"))  # no header: AttributeError, guarded
    aggregator.on_truth(SimpleNamespace())
    assert aggregator.drops.counts["unexpected"] == 3
    aggregator.estimates = lambda: [_estimate(n) for n in range(3)]
    _assert_aggregates(aggregator, 6)


def test_codes_and_ground_truth_are_checked(aggregator):
    from disac_ros.msg import SemanticCode, TargetState, TargetStateArray

    def code(**fields):
        msg = SemanticCode(device_id="device_1", target_id=0, length=4, dim=8, symbols=[0.5] * 32, snr_db=20.0,
                           distance_m=46.0, payload_bytes=128)
        for k, v in fields.items():
            setattr(msg, k, v)
        msg.header.stamp.sec = 9
        return msg

    for bad in (dict(symbols=[0.5] * 31 + [math.nan]), dict(length=2, dim=16), dict(dtype=9),
                dict(snr_db=math.inf), dict(target_id=5), dict(device_id="device_2")):
        aggregator.on_code("device_1", code(**bad))
    assert sum(aggregator.drops.counts.values()) == 6, dict(aggregator.drops.counts)
    truth = TargetStateArray(targets=[TargetState(target_id=0, distance=math.nan)])
    truth.header.stamp.sec = 9
    aggregator.on_truth(truth)
    assert not aggregator._truth and aggregator.drops.counts["nan"] >= 2
    truth.targets[0].distance = 10.0
    aggregator.on_truth(truth)
    assert 9 * NS in aggregator._truth
    aggregator.on_code("device_1", code())  # a valid code is kept in the window
    assert aggregator.window._codes[9 * NS]["device_1"][0][0].shape == (4, 8)
    assert np.isfinite(aggregator.window._codes[9 * NS]["device_1"][0][0]).all()


def test_a_backwards_jump_of_sim_time_lets_estimates_resume(rclpy_context, fake_run, published):
    """Issue 15: a backwards /clock jump followed by valid inputs gives estimates again (at once: window 0)."""
    from rosgraph_msgs.msg import Clock

    node = _aggregator(window_s=0.0, use_sim_time=True)
    try:
        node.system.aggregate = lambda image, echoes, received: [_estimate(n) for n in range(3)]
        node.sent = published(node.targets_pub)
        (clock,) = [s for s in node.subscriptions if s.topic_name == "/clock"]
        for sec in (100, 5):
            msg = Clock()
            msg.clock.sec = sec
            clock.callback(msg)
            node.on_timing("device_1", _timing(sec=sec))
            _center_frame(node, sec)
        assert len(node.sent) == 2 and node.sensors.resets == 1 and not node.drops.counts
        assert node._timing["device_1"].keys() == {5 * NS}     # the state of before the jump is gone
    finally:
        node.destroy_node()


def test_a_burst_faster_than_the_center_leaves_no_backlog(rclpy_context, fake_run, published):
    """Issue 15: 30 center frames at 100 Hz over DDS to a center that needs 50 ms per frame. It serves them newest
    first: its output stamps increase, at most 2 estimates come after the burst (no queue worked through), the
    newest frame is served, and every frame is published or counted as superseded or skipped."""
    import threading
    import time

    import rclpy
    from disac_ros.msg import RadarEcho
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import Image

    from disac_ros.ros.qos import SENSOR_QOS

    period_ns, frames = 10_000_000, 30
    node = _aggregator(window_s=0.0, max_stride=1)  # newest first alone (the stride is tested below)
    node.sensors.assembler.frame_period_ns = period_ns     # the fake run has no scene fps

    def slow(image, echoes, received):
        time.sleep(0.05)
        return [_estimate(n) for n in range(3)]

    node.system.aggregate = slow
    node.sent = published(node.targets_pub)
    source = rclpy.create_node("burst_source")
    images = source.create_publisher(Image, "/device_0/camera/image_raw", SENSOR_QOS)
    echoes = source.create_publisher(RadarEcho, "/device_0/radar/echo", SENSOR_QOS)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinning = threading.Thread(target=executor.spin, daemon=True)
    spinning.start()
    try:
        deadline = time.monotonic() + 10
        while not (images.get_subscription_count() and echoes.get_subscription_count()):
            assert time.monotonic() < deadline, "the aggregator did not subscribe"
            time.sleep(0.05)
        for k in range(frames):
            image = Image(height=4, width=4, encoding="rgb8", step=12, data=bytes(48))
            image.header.stamp.sec, image.header.stamp.nanosec = 1, k * period_ns
            images.publish(image)
            for n in range(3):
                echo = RadarEcho(device_id="device_0", target_id=n, num_chirps=1, num_antennas=2, num_samples=3,
                                 real=[1.0] * 6, imag=[0.0] * 6)
                echo.header.stamp = image.header.stamp
                echoes.publish(echo)
            time.sleep(period_ns / 1e9)
        during = len(node.sent)
        quiet_since, count = time.monotonic(), during
        while time.monotonic() - quiet_since < 0.5:
            time.sleep(0.05)
            if len(node.sent) != count:
                quiet_since, count = time.monotonic(), len(node.sent)
    finally:
        executor.shutdown(timeout_sec=2)
        spinning.join(timeout=5)
        source.destroy_node()
        node.destroy_node()
    stamps = [m.header.stamp.sec * NS + m.header.stamp.nanosec for m in node.sent]
    assert stamps == sorted(set(stamps)) and len(stamps) < frames
    assert len(node.sent) - during <= 2, f"{len(node.sent) - during} estimates after the burst: a backlog"
    assert stamps[-1] == NS + (frames - 1) * period_ns, "the newest frame must be served"
    counts = node.drops.counts
    spanned = (stamps[-1] - stamps[0]) // period_ns + 1
    assert len(stamps) + counts.get("superseded", 0) + counts.get("skipped", 0) == spanned, dict(counts)
    assert set(counts) <= {"superseded", "skipped"}, dict(counts)


def test_an_overloaded_center_asks_its_collaborators_for_fewer_frames(rclpy_context, fake_run, published,
                                                                       monkeypatch):
    """Issue 15: a center offered twice the frames it can serve (every other one replaced in its keep-last queue)
    raises its frame stride to 2, tells every collaborator on ``<k>/frame_stride`` (latched), and then serves the
    even frames and skips the odd ones itself, counted as ``strided``."""
    import types

    from disac_ros.nodes import aggregator as module

    clock = [0.0]  # the node's wall clock, advanced by the model: 0.1 s per frame
    monkeypatch.setattr(module, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    node = _aggregator(window_s=0.0)
    try:
        node.system.frame_period_s, node.sensors.assembler.frame_period_ns = 1.0, NS  # frame k at k s

        def model(image, echoes, received):
            clock[0] += 0.1
            return [_estimate(n) for n in range(3)]

        node.system.aggregate = model
        node.sent = published(node.targets_pub)
        told = [published(pub) for pub in node.stride_pubs]
        assert {p.topic_name for p in node.stride_pubs} == {"/device_1/frame_stride", "/device_2/frame_stride"}
        assert all(p.qos_profile.durability.name == "TRANSIENT_LOCAL" for p in node.stride_pubs)
        node.update_stride()
        for sec in range(1, 41, 2):       # 20 frames/s offered, 10 served: load 2
            _center_frame(node, sec)
            if sec % 10 == 9:
                node.update_stride()
        assert node.stride.stride == 2 and all([m.data for m in t] == [2] for t in told), node.stride.__dict__
        before, strided = len(node.sent), node.drops.counts["strided"]  # the odd frames since the stride rose
        for sec in range(41, 51):
            _center_frame(node, sec)
        assert [m.header.stamp.sec for m in node.sent[before:]] == [42, 44, 46, 48, 50]
        assert node.drops.counts["strided"] - strided == 5
        assert node._diagnostics()["frame_stride"] == 2
    finally:
        node.destroy_node()


def test_the_center_works_on_a_held_frame_as_its_inputs_arrive(rclpy_context, fake_run, published):
    """Its own features when the frame is complete, a collaborator's decoding when its codes are, TRAM when the last
    arrive; the work done while waiting counts in the frame's service time (what the stride advisor reads)."""
    from disac_ros.msg import SemanticCode

    node = _aggregator(window_s=30.0)
    events = []

    class Partial:
        busy_s = 0.25

        def add(self, device_id, received):
            assert received.codes.shape == (3, 4, 8) and received.snr_db == 20.0
            events.append(("add", device_id))

        def finish(self, received):
            events.append(("finish", sorted(received)))
            return [_estimate(n) for n in range(3)]

    def code(device, target):
        msg = SemanticCode(device_id=device, target_id=target, length=4, dim=8, symbols=[0.5] * 32, snr_db=20.0,
                           distance_m=46.0, payload_bytes=128)
        msg.header.stamp.sec = 4
        return msg

    try:
        node.system.start = lambda image, echoes: events.append(("start",)) or Partial()
        sent = published(node.targets_pub)
        for n in range(3):  # device_2's codes come before the center's frame
            node.on_code("device_2", code("device_2", n))
        _center_frame(node, 4)
        assert events == [("start",), ("add", "device_2")] and not sent
        node.on_code("device_1", code("device_1", 0))
        assert events[-1] == ("add", "device_2")  # one code of three: nothing to decode yet
        node.on_code("device_1", code("device_1", 1))
        node.on_code("device_1", code("device_1", 2))  # the last codes: the frame is released and finished
        assert events[-1] == ("finish", ["device_1", "device_2"]) and len(sent) == 1 and not node.drops.counts
        assert node.stride._service >= 0.25 and not node._partial
    finally:
        node.destroy_node()
