"""disac_ros.nodes.device_encoder, in-process: it follows its namespace and remaps, and declares its table."""
from __future__ import annotations

from nodetools import _assert_declared_as_table, _topics


def test_device_encoder_follows_its_namespace_and_remaps(rclpy_context, fake_run):
    from rclpy.parameter import Parameter

    from disac_ros.nodes.device_encoder import PARAMETERS, DeviceEncoder

    overrides = [Parameter("device_id", value="device_1"), Parameter("run", value="fake")]
    node = DeviceEncoder(namespace="/robot_7", parameter_overrides=overrides,
                         cli_args=["--ros-args", "-r", "camera/image_raw:=/elsewhere/image"])
    try:
        subscribed, published = _topics(node)
        assert subscribed == {"/elsewhere/image", "/robot_7/radar/echo"}
        assert {"/robot_7/semantic/tx", "/robot_7/semantic/timing"} <= published
        _assert_declared_as_table(node, PARAMETERS)
    finally:
        node.destroy_node()
    node = DeviceEncoder(namespace="/device_2", parameter_overrides=overrides)  # as the launchers start it
    try:
        assert _topics(node)[0] == {"/device_2/camera/image_raw", "/device_2/radar/echo"}
    finally:
        node.destroy_node()
