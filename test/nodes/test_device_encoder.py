"""disac_ros.nodes.device_encoder, in-process: it follows its namespace and remaps, declares its table, checks its
sensors and never publishes a code that is not all finite."""
from __future__ import annotations

import math

import numpy as np
import pytest
from nodetools import _assert_declared_as_table, _topics


def test_device_encoder_follows_its_namespace_and_remaps(rclpy_context, fake_run):
    from rclpy.parameter import Parameter

    from disac_ros.nodes.device_encoder import PARAMETERS, DeviceEncoder

    overrides = [Parameter("device_id", value="device_1"), Parameter("run", value="fake")]
    node = DeviceEncoder(namespace="/robot_7", parameter_overrides=overrides,
                         cli_args=["--ros-args", "-r", "camera/image_raw:=/elsewhere/image"])
    try:
        subscribed, published = _topics(node)
        assert subscribed == {"/elsewhere/image", "/robot_7/radar/echo", "/robot_7/frame_stride"}
        assert {"/robot_7/semantic/tx", "/robot_7/semantic/timing"} <= published
        _assert_declared_as_table(node, PARAMETERS)
    finally:
        node.destroy_node()
    node = DeviceEncoder(namespace="/device_2", parameter_overrides=overrides)  # as the launchers start it
    try:
        assert _topics(node)[0] == {"/device_2/camera/image_raw", "/device_2/radar/echo", "/device_2/frame_stride"}
    finally:
        node.destroy_node()


def _frame(node, sec: int, nanosec: int = 0, echo_value: float = 1.0) -> None:
    """device_1's image and its 3 echoes of one stamp (the fake run's shapes)."""
    from disac_ros.msg import RadarEcho
    from sensor_msgs.msg import Image

    image = Image(height=4, width=4, encoding="rgb8", step=12, data=bytes(48))
    image.header.stamp.sec, image.header.stamp.nanosec = sec, nanosec
    node.sensors.on_image(image)
    for n in range(3):
        echo = RadarEcho(device_id="device_1", target_id=n, num_chirps=1, num_antennas=2, num_samples=3,
                         real=[echo_value] * 6, imag=[0.0] * 6)
        echo.header.stamp.sec, echo.header.stamp.nanosec = sec, nanosec
        node.sensors.on_echo(echo)


@pytest.fixture
def encoder(rclpy_context, fake_run, published):
    """device_1's encoder on the fake run; its model gives ``node.codes()`` (finite unless a test says otherwise)."""
    from rclpy.parameter import Parameter

    from disac_ros.nodes.device_encoder import DeviceEncoder

    node = DeviceEncoder(namespace="/device_1", parameter_overrides=[Parameter("device_id", value="device_1"),
                                                                     Parameter("run", value="fake")])
    node.codes = lambda: np.full((3, 4, 8), 0.5, np.float32)
    node.system.encode = lambda image, echoes: node.codes()
    node.sent, node.sent_timing = published(node.tx_pub), published(node.timing_pub)
    yield node
    node.destroy_node()


def test_codes_with_nan_or_inf_are_not_published(encoder):
    for n, bad in enumerate((math.nan, math.inf)):
        codes = np.full((3, 4, 8), 0.5, np.float32)
        codes[1, 2, 3] = bad
        encoder.codes = lambda codes=codes: codes
        _frame(encoder, 3 + n)
    encoder.codes = lambda: np.full((2, 4, 8), 0.5, np.float32)  # one target short
    _frame(encoder, 5)
    assert encoder.sent == [] and encoder.sent_timing == []
    assert encoder.drops.counts["nonfinite_output"] == 2 and encoder.drops.counts["size"] == 1
    encoder.codes = lambda: np.full((3, 4, 8), 0.5, np.float32)
    _frame(encoder, 6)
    assert len(encoder.sent) == 3 and len(encoder.sent_timing) == 1
    assert all(np.isfinite(np.asarray(m.symbols)).all() for m in encoder.sent)


def test_sensors_with_an_insane_stamp_or_nan_are_dropped(encoder):
    _frame(encoder, 3, nanosec=1_500_000_000)  # not a stamp: nanosec >= 10^9
    assert encoder.drops.counts["invalid"] == 4 and encoder.sent == []
    _frame(encoder, 4, echo_value=math.nan)
    assert encoder.drops.counts["nan"] == 3 and encoder.sent == []

    def fails():
        raise RuntimeError("an error nobody anticipated")

    encoder.codes = fails
    _frame(encoder, 5)
    assert encoder.drops.counts["unexpected"] == 1 and encoder.sent == []
    encoder.codes = lambda: np.full((3, 4, 8), 0.5, np.float32)
    _frame(encoder, 6)
    assert len(encoder.sent) == 3


def _set_clock(node, sec: int) -> None:
    """Sim time ``sec`` through the node's own /clock subscription (what the bridge or `disac play` sends)."""
    from rosgraph_msgs.msg import Clock

    (sub,) = [s for s in node.subscriptions if s.topic_name == "/clock"]
    msg = Clock()
    msg.clock.sec = sec
    sub.callback(msg)


def test_a_jump_of_sim_time_resets_pairing_instead_of_dropping_everything(rclpy_context, fake_run, published):
    """Issue 15: after a looped bag or a restarted simulation every input was stale until a restart."""
    from rclpy.parameter import Parameter

    from disac_ros.nodes.device_encoder import DeviceEncoder

    overrides = [Parameter("device_id", value="device_1"), Parameter("run", value="fake"),
                 Parameter("use_sim_time", value=True)]
    node = DeviceEncoder(namespace="/device_1", parameter_overrides=overrides)
    try:
        node.system.encode = lambda image, echoes: np.full((3, 4, 8), 0.5, np.float32)
        sent = published(node.tx_pub)
        _set_clock(node, 100)
        _frame(node, 100)
        assert len(sent) == 3
        _set_clock(node, 5)                       # backwards: the bag looped
        _frame(node, 5)
        assert len(sent) == 6 and node.sensors.resets == 1 and not node.drops.counts  # the first /clock is no jump
        _set_clock(node, 5000)                    # far ahead: a restarted simulation at another time
        _frame(node, 5000)
        assert len(sent) == 9 and node.sensors.resets == 2
        _set_clock(node, 5001)                    # an ordinary step is not a jump
        _frame(node, 5001)
        assert len(sent) == 12 and node.sensors.resets == 2
    finally:
        node.destroy_node()


def test_the_encoder_encodes_only_the_frames_of_the_centers_stride(encoder):
    """Issue 15: with the center's frame stride 2 (latched on ``frame_stride``), only even frames are encoded, at
    1.25 four frames in five; the others are counted as ``strided``; a stride outside 1..64 (or NaN) is dropped and
    the last valid one kept."""
    from std_msgs.msg import Float64

    (sub,) = [s for s in encoder.subscriptions if s.topic_name == "/device_1/frame_stride"]
    assert sub.qos_profile.durability.name == "TRANSIENT_LOCAL"
    encoder.system.frame_period_s = 1.0  # frame k at k s
    sub.callback(Float64(data=2.0))
    sub.callback(Float64(data=0.0))
    sub.callback(Float64(data=math.nan))
    for sec in range(1, 7):
        _frame(encoder, sec)
    assert [m.header.stamp.sec for m in encoder.sent[::3]] == [2, 4, 6]
    assert encoder.drops.counts["strided"] == 3 and encoder.drops.counts["invalid"] == 2
    assert encoder.frame_stride == 2
    sub.callback(Float64(data=1.25))
    for sec in range(7, 12):
        _frame(encoder, sec)
    assert [m.header.stamp.sec for m in encoder.sent[9::3]] == [7, 8, 9, 10]  # floor(k / 1.25) steps up
