"""disac_ros.nodes.aggregator, in-process: it declares its table and names the devices' topics."""
from __future__ import annotations

from nodetools import _assert_declared_as_table, _topics


def test_aggregator_declares_its_table_and_names_device_topics(rclpy_context, fake_run):
    from rclpy.parameter import Parameter

    from disac_ros.nodes.aggregator import PARAMETERS, Aggregator

    node = Aggregator(parameter_overrides=[Parameter("run", value="fake"), Parameter("preset", value="smoke")])
    try:
        _assert_declared_as_table(node, PARAMETERS)
        subscribed, published = _topics(node)
        assert subscribed == {"/device_0/camera/image_raw", "/device_0/radar/echo", "/ground_truth/targets",
                              *(f"/device_{k}/{t}" for k in (1, 2) for t in ("semantic/rx", "semantic/timing",
                                                                            "link/stats"))}
        assert {"/targets", "/targets/markers"} <= published
    finally:
        node.destroy_node()
