"""disac_ros.nodes.channel, in-process: it declares its table and checks run-time parameter changes."""
from __future__ import annotations

import pytest
from nodetools import _assert_declared_as_table, _topics


def test_channel_declares_its_table_and_checks_runtime_changes(rclpy_context):
    from rclpy.parameter import Parameter

    from disac_ros.nodes.channel import PARAMETERS, RUNTIME, Channel

    node = Channel(parameter_overrides=[Parameter("preset", value="smoke"), Parameter("center", value="device_0"),
                                        Parameter("devices", value=["device_1", "device_2"])])
    try:
        _assert_declared_as_table(node, PARAMETERS)
        assert set(RUNTIME) == {"snr_db", "snr_profile", "snr_amplitude_db", "snr_period_s", "bandwidth_hz",
                                "power_w", "lossless"}
        subscribed, published = _topics(node)
        assert subscribed == {"/device_1/semantic/tx", "/device_2/semantic/tx"}
        assert {"/device_1/semantic/rx", "/device_2/link/stats"} <= published
        assert node.set_parameters([Parameter("snr_db", value=5.0)])[0].successful and node.link["snr_db"] == 5.0
        (bad,) = node.set_parameters([Parameter("bandwidth_hz", value=0.0)])  # in the range, refused by check_link
        assert not bad.successful and "bandwidth_hz" in bad.reason and node.link["bandwidth_hz"] == 1000.0
        sine = node.set_parameters_atomically([Parameter("snr_profile", value="sine"),
                                               Parameter("snr_period_s", value=0.0)])
        assert not sine.successful and node.link["snr_profile"] == "constant"
        assert not node.set_parameters([Parameter("seed", value=3)])[0].successful  # read-only
    finally:
        node.destroy_node()
    from disac_ros.nodes.spin import ConfigError

    with pytest.raises(ConfigError, match="out of range"):  # the range of the table, at start
        Channel(parameter_overrides=[Parameter("snr_db", value=150.0)])
