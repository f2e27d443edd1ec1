"""disac_ros.topics: every topic name of the live graph is relative and resolves to the graph's topics."""
from __future__ import annotations

import pytest

from disac_ros import topics


def test_topic_names_are_relative_and_resolve_to_the_graph_topics():
    assert topics.device_topic("device_1", topics.IMAGE) == "device_1/camera/image_raw"
    assert topics.device_topic("", topics.TX) == "semantic/tx"  # in the node's own namespace
    assert topics.absolute(topics.device_topic("device_1", topics.RX)) == "/device_1/semantic/rx"
    assert topics.absolute(topics.TARGETS) == "/targets" and topics.absolute(topics.CLOCK) == "/clock"
    names = [v for k, v in vars(topics).items() if k.isupper() and isinstance(v, str)]
    absolute = {topics.CLOCK, topics.DIAGNOSTICS, topics.TF_STATIC}  # where rclpy, diagnostics and tf2 look
    assert all(not n.startswith("/") for n in names if n not in absolute)
    assert all(n.startswith("/") for n in absolute)
    with pytest.raises(ValueError):
        topics.absolute(" ")
