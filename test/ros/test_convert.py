"""disac_ros.ros.convert: NumPy <-> ROS message conversion, and the clear errors nodes log when inputs are malformed."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from disac_ros.config import RadarConfig
from disac_ros.ros import convert


def test_time_round_trip():
    t = convert.to_time(12.345678901)
    assert (t.sec, t.nanosec) == (12, 345678901)
    assert convert.to_seconds(t) == pytest.approx(12.345678901)


def test_image_round_trip_and_bgr():
    rgb = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    msg = convert.image_to_msg(rgb, convert.to_time(1.0), "device_0/camera")
    np.testing.assert_array_equal(convert.msg_to_image(msg, (48, 64)), rgb)
    msg.encoding, msg.data = "bgr8", rgb[..., ::-1].tobytes()
    np.testing.assert_array_equal(convert.msg_to_image(msg), rgb)


@pytest.mark.parametrize("mutate, match", [
    (lambda m: setattr(m, "encoding", "mono8"), "encoding 'mono8' not supported"),
    (lambda m: setattr(m, "data", bytes(10)), "bytes"),
])
def test_bad_images_raise(mutate, match):
    msg = convert.image_to_msg(np.zeros((8, 8, 3), np.uint8), convert.to_time(0), "f")
    mutate(msg)
    with pytest.raises(ValueError, match=match):
        convert.msg_to_image(msg)


def test_image_of_wrong_size_raises():
    msg = convert.image_to_msg(np.zeros((8, 8, 3), np.uint8), convert.to_time(0), "f")
    with pytest.raises(ValueError, match="expected 64x64"):
        convert.msg_to_image(msg, (64, 64))


def test_echo_round_trip_and_checks():
    cfg = RadarConfig(num_chirps=2, chirp_interval=1e-4)
    rng = np.random.default_rng(1)
    echo = (rng.standard_normal((2, 16, 60)) + 1j * rng.standard_normal((2, 16, 60))).astype(np.complex64)
    msg = convert.echo_to_msg(echo, cfg, "device_1", 2, convert.to_time(0.5), "device_1/radar")
    assert msg.chirp_slope == cfg.chirp_slope and msg.array_rows == 4
    np.testing.assert_array_equal(convert.msg_to_echo(msg, (2, 16, 60)), echo)
    with pytest.raises(ValueError, match=r"expected \[1, 16, 60\]"):
        convert.msg_to_echo(msg, (1, 16, 60))
    real = np.asarray(msg.real).copy()
    real[5] = np.nan
    msg.real = real
    with pytest.raises(ValueError, match="NaN"):
        convert.msg_to_echo(msg)
    msg.real = real[:-1]
    with pytest.raises(ValueError, match="expected 1920"):
        convert.msg_to_echo(msg)


def test_code_round_trip_and_checks():
    code = np.arange(32, dtype=np.float32).reshape(4, 8)
    msg = convert.code_to_msg(code, "device_2", 0, convert.to_time(3.0), "device_2", snr_db=7.0, distance_m=21.5)
    assert msg.payload_bytes == 128 and math.isclose(msg.distance_m, 21.5)
    np.testing.assert_array_equal(convert.msg_to_code(msg, (4, 8)), code)
    with pytest.raises(ValueError, match="expected 2x16"):
        convert.msg_to_code(msg, (2, 16))


def test_states_to_msg():
    s = SimpleNamespace(target_id=1, class_id=2, label="drone", class_probabilities=[0.1, 0.1, 0.8], distance=20.0,
                        azimuth=0.5, pitch=-0.1, radial_velocity=1.5, contributing_devices=["device_0", "device_3"])
    msg = convert.states_to_msg([s], convert.to_time(2.0), "device_0")
    assert msg.targets[0].label == "drone" and msg.targets[0].contributing_devices == ["device_0", "device_3"]
    assert math.isnan(msg.targets[0].distance_std)
