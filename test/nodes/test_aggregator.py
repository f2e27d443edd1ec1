"""disac_ros.nodes.aggregator, in-process: it declares its table and names the devices' topics; nothing a publisher
sends ends it, and an estimate that is not all finite is never published."""
from __future__ import annotations

import math

import numpy as np
import pytest
from nodetools import _assert_declared_as_table, _topics

NS = 1_000_000_000
TIMING = ("stamp_s", "feature_extraction_s", "encoding_s")
STATS = ("stamp_s", "target_id", "payload_bytes", "payload_bits", "snr_db", "distance_m", "gain", "noise_power_w",
         "rate_bps", "delay_s")


def _aggregator(**params):
    from rclpy.parameter import Parameter

    from disac_ros.nodes.aggregator import Aggregator

    overrides = [Parameter("run", value="fake"), Parameter("preset", value="smoke")]
    return Aggregator(parameter_overrides=overrides + [Parameter(k, value=v) for k, v in params.items()])


def _array(fields, values):
    """A labelled Float64MultiArray as the encoders (timings) and the channel (link statistics) publish it."""
    from std_msgs.msg import Float64MultiArray, MultiArrayDimension

    msg = Float64MultiArray(data=[float(v) for v in values])
    msg.layout.dim = [MultiArrayDimension(label=",".join(fields), size=len(fields), stride=len(fields))]
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
                              *(f"/device_{k}/{t}" for k in (1, 2) for t in ("semantic/rx", "semantic/timing",
                                                                            "link/stats"))}
        assert {"/targets", "/targets/markers"} <= published
    finally:
        node.destroy_node()


@pytest.mark.parametrize("stamp", [math.inf, math.nan])
def test_a_timing_with_a_non_finite_stamp_is_dropped(aggregator, stamp):
    """Issue 16: one timing with stamp_s = inf (OverflowError) or NaN (ValueError) killed the aggregator."""
    aggregator.on_timing("device_1", _array(TIMING, [stamp, 0.01, 0.002]))
    assert aggregator.drops.counts["nan"] == 1 and not aggregator._timing["device_1"]
    aggregator.on_timing("device_1", _array(TIMING, [4.0, 0.01, 0.002]))
    assert aggregator._timing["device_1"][4 * NS] == (0.01, 0.002)
    _assert_aggregates(aggregator, 4)


def test_link_statistics_with_a_nan_stamp_are_dropped(aggregator):
    """Issue 16: link statistics with a NaN stamp_s killed the aggregator (on_stats)."""
    aggregator.on_stats("device_1", _array(STATS, [math.nan, 0, 128, 1024, 20, 46, 1, 0.01, 6658, 0.15]))
    assert aggregator.drops.counts["nan"] == 1 and not aggregator._t_com["device_1"]
    aggregator.on_stats("device_1", _array(STATS, [4.0, 0, 128, 1024, 20, 46, 1, 0.01, 6658, 0.15]))
    assert aggregator._t_com["device_1"][4 * NS] == pytest.approx(0.15)
    _assert_aggregates(aggregator, 4)


@pytest.mark.parametrize("callback, fields, values, reason", [
    ("on_timing", TIMING, [-3.0, 0.01, 0.002], "invalid"),                    # before sim time 0
    ("on_timing", TIMING, [1e300, 0.01, 0.002], "invalid"),                   # beyond any ROS stamp
    ("on_timing", TIMING, [4.0, -0.01, 0.002], "invalid"),                    # a negative duration
    ("on_timing", TIMING, [4.0, math.inf, 0.002], "nan"),
    ("on_timing", ("feature_extraction_s", "encoding_s"), [0.01, 0.002], "size"),   # no stamp
    ("on_timing", TIMING, [4.0, 0.01], "size"),                               # 3 labels, 2 values
    ("on_timing", (), [], "size"),                                            # no layout at all
    ("on_stats", STATS, [4.0, 0, 128, 1024, 20, 46, 1, 0.01, 6658, math.nan], "nan"),    # no delay
    ("on_stats", STATS, [4.0, 0, 128, 1024, 20, 46, 1, 0.01, 6658, -1.0], "invalid"),
    ("on_stats", STATS, [4.0, 7, 128, 1024, 20, 46, 1, 0.01, 6658, 0.15], "unknown_target"),
    ("on_stats", STATS, [4.0, 0.5, 128, 1024, 20, 46, 1, 0.01, 6658, 0.15], "unknown_target"),
    ("on_stats", ("stamp_s", "stamp_s"), [4.0, 4.0], "size"),                 # a label twice
])
def test_malformed_side_information_is_counted_and_dropped(aggregator, callback, fields, values, reason):
    msg = _array(fields, values)
    if not fields:
        msg.layout.dim = []
    getattr(aggregator, callback)("device_1", msg)
    assert dict(aggregator.drops.counts) == {reason: 1}
    assert not aggregator._timing["device_1"] and not aggregator._t_com["device_1"]
    _assert_aggregates(aggregator, 4)


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
    assert aggregator.sent == [] and aggregator.drops.counts["invalid"] == 1
    aggregator.on_code("device_1", SimpleNamespace(device_id="device_1"))  # no header: AttributeError, guarded
    aggregator.on_truth(SimpleNamespace())
    assert aggregator.drops.counts["invalid"] == 3
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
