"""disac_ros.nodes.params, in-process: every parameter of every node refuses a value of another type or outside its
range, with a reason, at start and on ``set_parameters`` (what ``ros2 param set`` calls), and keeps its value."""
from __future__ import annotations

import math

import pytest
from nodetools import FakeScene, _tables


def _wrong_type(p):
    """A value of another ROS type than the row's."""
    return {"bool": "yes", "integer": 1.5, "double": "5 dB", "string": 3, "string_array": 2.0}[p.kind]


def _bad_values(p) -> list:
    """Values of the row's type that it must refuse: outside its range, and non-finite floats."""
    if p.range is None:
        return []
    low, high = p.range
    outside = [low - 1, high + 1] if p.kind == "integer" else [low - 1.0 - abs(low), high + 1.0 + abs(high)]
    return outside + ([math.nan, math.inf, -math.inf] if p.kind == "double" else [])


_BASE = {"genesis_bridge": {"preset": "smoke", "num_devices": 2},
         "device_encoder": {"device_id": "device_1", "run": "fake"},
         "channel": {"preset": "smoke", "center": "device_0", "devices": ["device_1", "device_2"]},
         "aggregator": {"run": "fake", "preset": "smoke"}}


@pytest.fixture
def make_node(rclpy_context, fake_run, monkeypatch):
    """``make_node(executable, **params)``: the node of ``executable`` in-process (fake run, stand-in scene)."""
    from rclpy.parameter import Parameter

    import disac_ros.sim.scene
    from disac_ros.nodes import aggregator, channel, device_encoder, genesis_bridge

    monkeypatch.setattr(disac_ros.sim.scene, "GenesisScene", FakeScene)
    classes = {"genesis_bridge": genesis_bridge.GenesisBridge, "device_encoder": device_encoder.DeviceEncoder,
               "channel": channel.Channel, "aggregator": aggregator.Aggregator}
    nodes = []

    def make(executable: str, **params):
        values = {**_BASE[executable], **params}
        node = classes[executable](parameter_overrides=[Parameter(k, value=v) for k, v in values.items()])
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        getattr(node, "close", lambda: None)()
        node.destroy_node()


@pytest.mark.parametrize("executable", ["genesis_bridge", "device_encoder", "channel", "aggregator"])
def test_every_parameter_refuses_a_wrong_type_or_an_out_of_range_value(make_node, executable):
    from rclpy.exceptions import ParameterUninitializedException
    from rclpy.parameter import Parameter

    def value_of(node, name):
        try:
            return node.get_parameter(name).value
        except ParameterUninitializedException:  # a string array declared by type only and not set
            return None

    node = make_node(executable)
    for p in _tables()[executable]:
        before = value_of(node, p.name)
        for value in [_wrong_type(p), *_bad_values(p)]:
            (result,) = node.set_parameters([Parameter(p.name, value=value)])
            assert not result.successful and result.reason, (executable, p.name, value)
            if p.read_only:
                assert p.name in result.reason and "read-only" in result.reason, result.reason
            assert value_of(node, p.name) == before, (p.name, value)


@pytest.mark.parametrize("executable", ["genesis_bridge", "device_encoder", "channel", "aggregator"])
def test_every_number_out_of_its_range_is_refused_at_start(make_node, executable):
    from disac_ros.nodes.spin import ConfigError

    for p in _tables()[executable]:
        for value in _bad_values(p):
            with pytest.raises(ConfigError, match=p.name):
                make_node(executable, **{p.name: value})


def test_a_check_that_raises_is_a_reason_not_an_exception(make_node):
    """Whatever a node's joint check raises, the set-parameters callback answers with a reason."""
    from rcl_interfaces.msg import SetParametersResult
    from rclpy.parameter import Parameter

    from disac_ros.live.params import Param
    from disac_ros.nodes.params import declare_all

    node = make_node("channel")
    calls = []

    def check(values):
        calls.append(values)
        if values["x_gain"] > 2.0:
            raise ZeroDivisionError("a bug in the check")

    values = declare_all(node, [Param("x_gain", 1.0, "test row", (0.0, 10.0), read_only=False)], check=check)
    assert values == {"x_gain": 1.0} and calls == [{"x_gain": 1.0}]
    (ok,) = node.set_parameters([Parameter("x_gain", value=2.0)])
    assert ok.successful and values["x_gain"] == 2.0
    (bad,) = node.set_parameters([Parameter("x_gain", value=3.0)])
    assert isinstance(bad, SetParametersResult) and not bad.successful and bad.reason == "a bug in the check"
    assert values["x_gain"] == 2.0 and node.get_parameter("x_gain").value == 2.0
    # ROS's own parameters are not the table's: they pass through the callback.
    assert node.set_parameters([Parameter("use_sim_time", value=True)])[0].successful
