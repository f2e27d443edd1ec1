"""disac_ros.nodes.channel, in-process: it declares its table, checks run-time parameter changes, and nothing a
publisher sends (nor any setting) ends it or makes it publish something non-finite."""
from __future__ import annotations

import math

import numpy as np
import pytest
from nodetools import _assert_declared_as_table, _topics


def _channel(**params):
    from rclpy.parameter import Parameter

    from disac_ros.nodes.channel import Channel

    overrides = [Parameter("preset", value="smoke"), Parameter("center", value="device_0"),
                 Parameter("devices", value=["device_1", "device_2"])]
    return Channel(parameter_overrides=overrides + [Parameter(k, value=v) for k, v in params.items()])


def _code(values=None, length: int = 4, dim: int = 8, device: str = "device_1", target: int = 0, sec: int = 3,
          nanosec: int = 0, dtype: int = 0, payload: int = 0):
    """A SemanticCode as an encoder sends it on ``<device>/semantic/tx`` (SNR and distance NaN)."""
    from disac_ros.msg import SemanticCode

    values = np.linspace(-1.0, 1.0, length * dim).tolist() if values is None else values
    msg = SemanticCode(device_id=device, target_id=target, length=length, dim=dim, dtype=dtype, symbols=values,
                       snr_db=math.nan, distance_m=math.nan, payload_bytes=payload)
    msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nanosec
    return msg


@pytest.fixture
def channel(rclpy_context, published):
    """A channel for device_1 and device_2 of the smoke scene, with what it publishes on device_1's link."""
    node = _channel()
    node.sent_rx, node.sent_stats = published(node.rx_pubs["device_1"]), published(node.stats_pubs["device_1"])
    yield node
    node.destroy_node()


def _assert_forwards(node, sent_before: int = 0) -> None:
    """The channel still forwards a valid code of device_1, with finite values and link statistics."""
    node.on_code("device_1", _code(sec=50 + len(node.sent_rx)))
    assert len(node.sent_rx) == sent_before + 1 and len(node.sent_stats) == sent_before + 1
    assert np.isfinite(np.asarray(node.sent_rx[-1].symbols)).all() and np.isfinite(node.sent_rx[-1].snr_db)
    stats = node.sent_stats[-1]
    assert stats.device_id == "device_1" and stats.header.stamp == node.sent_rx[-1].header.stamp
    assert np.isfinite([getattr(stats, f) for f in ("payload_bits", "snr_db", "distance_m", "gain", "noise_power_w",
                                                    "rate_bps", "delay_s")]).all()


def test_channel_declares_its_table_and_checks_runtime_changes(rclpy_context):
    from rclpy.parameter import Parameter

    from disac_ros.nodes.channel import PARAMETERS, RUNTIME

    node = _channel()
    try:
        _assert_declared_as_table(node, PARAMETERS)
        assert set(RUNTIME) == {"snr_db", "snr_profile", "snr_amplitude_db", "snr_period_s", "bandwidth_hz",
                                "power_w", "lossless"}
        subscribed, published = _topics(node)
        assert subscribed == {"/device_1/semantic/tx", "/device_2/semantic/tx"}
        assert {"/device_1/semantic/rx", "/device_2/link/stats"} <= published
        assert node.set_parameters([Parameter("snr_db", value=5.0)])[0].successful and node.link["snr_db"] == 5.0
        (bad,) = node.set_parameters([Parameter("bandwidth_hz", value=0.0)])  # below the range's 1 Hz
        assert not bad.successful and "bandwidth_hz" in bad.reason and node.link["bandwidth_hz"] == 1000.0
        sine = node.set_parameters_atomically([Parameter("snr_profile", value="sine"),
                                               Parameter("snr_period_s", value=0.0)])
        assert not sine.successful and node.link["snr_profile"] == "constant"
        # What rclpy lets through, the table's own checks refuse, with the reason `ros2 param set` prints:
        (square,) = node.set_parameters([Parameter("snr_profile", value="square")])
        assert not square.successful and "snr_profile must be one of constant | sine" in square.reason
        swing = node.set_parameters_atomically([Parameter("snr_profile", value="sine"),
                                                Parameter("snr_amplitude_db", value=60.0)])  # 5 +- 60 dB
        assert not swing.successful and "swings" in swing.reason and node.link["snr_amplitude_db"] == 0.0
        assert node.get_parameter("snr_profile").value == "constant"
        assert not node.set_parameters([Parameter("seed", value=3)])[0].successful  # read-only
        ok = node.set_parameters_atomically([Parameter("snr_profile", value="sine"),
                                             Parameter("snr_amplitude_db", value=10.0)])
        assert ok.successful and node.link["snr_profile"] == "sine" and node.link["snr_amplitude_db"] == 10.0
    finally:
        node.destroy_node()
    from disac_ros.nodes.spin import ConfigError

    with pytest.raises(ConfigError, match="out of range"):  # the range of the table, at start
        _channel(snr_db=150.0)
    with pytest.raises(ConfigError, match="snr_profile must be one of"):  # a row's check, at start
        _channel(snr_profile="square")
    with pytest.raises(ConfigError, match="swings"):  # the link's joint check, at start
        _channel(snr_profile="sine", snr_db=90.0, snr_amplitude_db=20.0)


def test_an_snr_of_minus_1000_db_is_refused_and_the_channel_keeps_forwarding(channel):
    """Issue 16: `ros2 param set /channel snr_db -1000.0` was accepted; the next code killed the channel."""
    from rclpy.parameter import Parameter

    (result,) = channel.set_parameters([Parameter("snr_db", value=-1000.0)])
    assert not result.successful and "snr_db" in result.reason and "-50" in result.reason, result.reason
    assert channel.get_parameter("snr_db").value == 20.0
    _assert_forwards(channel)
    assert channel.sent_rx[-1].snr_db == pytest.approx(20.0)
    # The lowest SNR of the range works: the code arrives (as noise), finite, with a finite link budget.
    assert channel.set_parameters([Parameter("snr_db", value=-50.0)])[0].successful
    _assert_forwards(channel, 1)
    assert channel.sent_rx[-1].snr_db == pytest.approx(-50.0)


def test_a_code_with_a_single_value_is_dropped_and_the_channel_keeps_forwarding(channel):
    """Issue 16: one SemanticCode with a single value killed the channel (modulate needs I/Q pairs)."""
    channel.on_code("device_1", _code([0.5], length=1, dim=1))
    assert channel.sent_rx == [] and channel.drops.counts["size"] == 1
    _assert_forwards(channel)


@pytest.mark.parametrize("bad, reason", [
    (dict(values=[0.1, 0.2, 0.3], length=1, dim=3), "size"),                    # odd: not I/Q pairs
    (dict(values=[], length=0, dim=0), "size"),                                 # empty
    (dict(values=[0.0] * 31), "size"),                                          # 4 x 8 announced, 31 sent
    (dict(values=[0.0] * 31 + [math.nan]), "nan"),
    (dict(values=[0.0] * 31 + [math.inf]), "nan"),
    (dict(dtype=7), "invalid"),                                                 # no such on-air dtype
    (dict(payload=12345), "size"),                                              # payload of another code
    (dict(nanosec=2_000_000_000), "invalid"),                                   # not a stamp
    (dict(device="device_2"), "unknown_device"),                                # on device_1's link
])
def test_a_malformed_code_is_counted_and_dropped(channel, bad, reason):
    channel.on_code("device_1", _code(**bad))
    assert channel.sent_rx == [] and channel.sent_stats == [] and dict(channel.drops.counts) == {reason: 1}
    _assert_forwards(channel)


def test_a_link_too_weak_for_floats_is_dropped_not_published(channel, monkeypatch):
    """A gain far beyond any scene (1e-320) makes the rate underflow to 0 (delay inf); a channel model that returns
    inf: both counted as nonfinite_output, never published."""
    import disac_ros.nodes.channel

    channel.gain["device_1"] = 1e-320
    channel.on_code("device_1", _code())
    assert channel.sent_rx == [] and channel.sent_stats == [] and channel.drops.counts["nonfinite_output"] == 1
    channel.gain["device_1"] = 1.0
    with monkeypatch.context() as m:
        m.setattr(disac_ros.nodes.channel, "transmit_codes", lambda codes, *a, **k: np.full_like(codes, np.inf))
        channel.on_code("device_1", _code())
    assert channel.sent_rx == [] and channel.drops.counts["nonfinite_output"] == 2
    _assert_forwards(channel)


def test_an_unexpected_error_in_a_callback_is_counted_not_fatal(channel):
    from types import SimpleNamespace

    channel.on_code("device_1", SimpleNamespace(device_id="device_1"))  # no header, no symbols: AttributeError
    assert channel.drops.counts["unexpected"] == 1 and channel.sent_rx == []
    _assert_forwards(channel)
