"""disac_ros.sim.conditions: fog (Koschmieder) and low light (shot + read noise) on camera images, per sequence."""
from __future__ import annotations

import numpy as np
import pytest

from disac_ros.config import ConditionsConfig, load_scene
from disac_ros.sim.conditions import (
    CONDITION_KINDS,
    Condition,
    apply_condition,
    decode,
    draw_condition,
    fog_linear,
    linear_to_srgb,
    needs_depth,
    ray_distance,
    sequence_condition,
    srgb_to_linear,
)

CFG = ConditionsConfig(fog_airlight=0.8, full_well=2000.0, read_noise=4.0, sensor_noise="low_light")  # noise-free


def _srgb(linear: float) -> float:
    """Hand-written sRGB encoding of one value (IEC 61966-2-1)."""
    return 12.92 * linear if linear <= 0.0031308 else 1.055 * linear ** (1 / 2.4) - 0.055


def _lin(code: int) -> float:
    """Hand-written sRGB decoding of one 8-bit code."""
    v = code / 255
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def test_srgb_round_trip_and_hand_values():
    codes = np.arange(256)
    np.testing.assert_allclose(srgb_to_linear(codes / 255), [_lin(c) for c in codes], rtol=1e-12)
    np.testing.assert_array_equal(np.rint(linear_to_srgb(srgb_to_linear(codes / 255)) * 255), codes)
    assert _lin(128) == pytest.approx(0.2158605, rel=1e-6)  # mid-grey code is ~22 % linear light


def test_clear_returns_the_input_values():
    rgb = np.random.default_rng(0).integers(0, 256, (8, 9, 3), dtype=np.uint8)
    out = apply_condition(rgb, Condition("clear"), CFG, np.random.default_rng(1))
    assert out.dtype == np.uint8 and out is not rgb
    np.testing.assert_array_equal(out, rgb)
    assert not needs_depth(Condition("clear")) and not needs_depth(Condition("low_light", gain=0.1))
    assert needs_depth(Condition("fog", visibility_m=50.0))


def test_every_exposure_has_the_sensors_shot_and_read_noise_in_clear_air_and_fog():
    """sensor_noise: every_image (the default): a flat grey scene's linear values spread by the shot and read noise
    of its electrons, sqrt(x FW + r^2) / FW; in fog the noise is added to the fogged (brighter, flatter) image."""
    cfg = ConditionsConfig(full_well=2000.0, read_noise=4.0)
    assert cfg.sensor_noise == "every_image"
    flat = np.full((200, 200, 3), 188, dtype=np.uint8)                  # linear 0.5
    x = srgb_to_linear(188 / 255)
    lin = decode(apply_condition(flat, Condition("clear"), cfg, np.random.default_rng(3)))
    assert lin.mean() == pytest.approx(x, rel=0.01)
    assert lin.std() == pytest.approx(np.sqrt(x * 2000 + 16) / 2000, rel=0.1)
    again = apply_condition(flat, Condition("clear"), cfg, np.random.default_rng(3))
    np.testing.assert_array_equal(again, apply_condition(flat, Condition("clear"), cfg, np.random.default_rng(3)))
    fog = decode(apply_condition(flat, Condition("fog", visibility_m=60.0), cfg, np.random.default_rng(4),
                                 depth=np.full((200, 200), 60.0)))
    y = 0.02 * x + cfg.fog_airlight * 0.98
    assert fog.mean() == pytest.approx(y, rel=0.01) and fog.std() == pytest.approx(np.sqrt(y * 2000 + 16) / 2000,
                                                                                   rel=0.1)


def test_fog_koschmieder_in_linear_light():
    V, A = 60.0, CFG.fog_airlight
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    depth = np.tile(np.array([0.0, 5.0, 20.0, 60.0, 150.0, 1e4, np.inf]), (6, 1))
    out = apply_condition(rgb, Condition("fog", visibility_m=V), CFG, rng, depth=depth)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:, 0], rgb[:, 0])                  # at the camera: no fog
    airlight_code = round(_srgb(A) * 255)
    assert (out[:, 5:] == airlight_code).all()                           # far beyond V, and the sky: airlight
    for col, d in enumerate(depth[0, :5]):                               # hand computation, pixel by pixel
        t = np.exp(-3.912 * d / V)
        for y in range(6):
            for c in range(3):
                expected = round(_srgb(_lin(int(rgb[y, col, c])) * t + A * (1 - t)) * 255)
                assert abs(int(out[y, col, c]) - expected) <= 1, (d, y, c)
    # The transmission read back in linear light from a black and a white pixel: t = (I_white - I_black) / 1.
    pair = np.array([[[0, 0, 0], [255, 255, 255]]], dtype=np.uint8)
    for d in (10.0, 30.0):
        lin = decode(apply_condition(pair, Condition("fog", visibility_m=V), CFG, rng, depth=np.full((1, 2), d)))
        assert lin[0, 1, 0] - lin[0, 0, 0] == pytest.approx(np.exp(-3.912 * d / V), abs=0.01)


def test_contrast_at_the_visibility_is_two_percent():
    """The definition of V: the (linear) difference between two grey levels falls to 2 % at distance V."""
    V = 80.0
    lo, hi = srgb_to_linear(60 / 255), srgb_to_linear(200 / 255)
    grey = np.zeros((1, 2, 3), dtype=np.float64)
    # Compare unquantised linear values: the 8-bit codes are too coarse for a 2 % check of a small difference.
    grey[0, 0], grey[0, 1] = lo, hi
    fogged = fog_linear(grey, np.full((1, 2), V), V, CFG.fog_airlight)
    assert (fogged[0, 1, 0] - fogged[0, 0, 0]) / (hi - lo) == pytest.approx(0.02, rel=1e-3)
    # And through the whole uint8 pipeline, with white and black (contrast 1 -> 0.02 +- quantisation).
    pair = np.array([[[0, 0, 0], [255, 255, 255]]], dtype=np.uint8)
    lin = decode(apply_condition(pair, Condition("fog", visibility_m=V), CFG, None, depth=np.full((1, 2), V)))
    assert lin[0, 1, 0] - lin[0, 0, 0] == pytest.approx(0.02, abs=0.004)


def test_fog_needs_a_valid_depth():
    rgb = np.zeros((4, 4, 3), dtype=np.uint8)
    fog = Condition("fog", visibility_m=50.0)
    with pytest.raises(ValueError, match="depth"):
        apply_condition(rgb, fog, CFG, np.random.default_rng(0))
    with pytest.raises(ValueError, match="depth"):
        apply_condition(rgb, fog, CFG, np.random.default_rng(0), depth=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        apply_condition(rgb, fog, CFG, np.random.default_rng(0), depth=np.full((4, 4), np.nan))


def test_ray_distance_from_planar_depth():
    K = np.array([[100.0, 0, 50.0], [0, 100.0, 40.0], [0, 0, 1]])
    z = np.full((80, 100), 10.0)
    z[0, 0] = np.inf
    d = ray_distance(z, K)
    assert d[40, 50] == pytest.approx(10.0 * np.sqrt(1 + 0.005**2 * 2))   # the pixel at the principal point
    assert d[79, 99] == pytest.approx(10.0 * np.sqrt(1 + 0.495**2 + 0.395**2))
    assert np.isinf(d[0, 0])
    # Passing the intrinsics makes fog use the ray distance: the corner is foggier than the centre.
    rgb = np.zeros((80, 100, 3), dtype=np.uint8)
    out = apply_condition(rgb, Condition("fog", visibility_m=30.0), CFG, None, depth=np.full((80, 100), 10.0),
                          intrinsics=K)
    assert out[79, 99, 0] > out[40, 50, 0]


@pytest.mark.parametrize("gain", [0.05, 0.1, 0.3])
def test_low_light_mean_and_noise(gain):
    code = 150
    patch = np.full((400, 400, 3), code, dtype=np.uint8)   # 480,000 samples
    out = apply_condition(patch, Condition("low_light", gain=gain), CFG, np.random.default_rng(3))
    assert out.dtype == np.uint8 and out.shape == patch.shape
    electrons = decode(out) * CFG.full_well
    mean_e = _lin(code) * gain * CFG.full_well              # Poisson mean = variance in electrons
    assert electrons.mean() == pytest.approx(mean_e, rel=0.01)
    # shot (mean_e) + read (read_noise^2) + the uint8 quantisation (a code step, converted to electrons, / 12)
    step = CFG.full_well * (srgb_to_linear((out.mean() + 0.5) / 255) - srgb_to_linear((out.mean() - 0.5) / 255))
    assert electrons.var() == pytest.approx(mean_e + CFG.read_noise**2 + step**2 / 12, rel=0.04)
    # Determinism given the generator, and a different draw with another one.
    again = apply_condition(patch, Condition("low_light", gain=gain), CFG, np.random.default_rng(3))
    np.testing.assert_array_equal(out, again)
    assert not np.array_equal(out, apply_condition(patch, Condition("low_light", gain=gain), CFG,
                                                   np.random.default_rng(4)))


def test_low_light_mean_scales_with_gain_in_linear_light():
    patch = np.full((300, 300, 3), 200, dtype=np.uint8)
    means = [decode(apply_condition(patch, Condition("low_light", gain=g), CFG, np.random.default_rng(5))).mean()
             for g in (0.05, 0.2)]
    assert means[1] / means[0] == pytest.approx(4.0, rel=0.02)
    assert means[1] == pytest.approx(0.2 * _lin(200), rel=0.01)


def test_low_light_without_noise_is_the_scaled_image():
    cfg = ConditionsConfig(full_well=1e14, read_noise=0.0)  # shot noise negligible (relative std ~1e-7)
    rgb = np.random.default_rng(6).integers(0, 256, (5, 5, 3), dtype=np.uint8)
    out = apply_condition(rgb, Condition("low_light", gain=0.25), cfg, np.random.default_rng(7))
    expected = np.array([round(_srgb(_lin(int(c)) * 0.25) * 255) for c in rgb.ravel()]).reshape(rgb.shape)
    np.testing.assert_array_equal(out, expected)


def test_draw_condition_frequencies_and_ranges():
    cfg = ConditionsConfig(fog_probability=0.3, fog_visibility_m=(40.0, 200.0), low_light_probability=0.2,
                           low_light_gain=(0.05, 0.3))
    rng = np.random.default_rng(8)
    draws = [draw_condition(cfg, rng) for _ in range(10_000)]
    kinds = np.array([d.kind for d in draws])
    assert set(kinds) <= set(CONDITION_KINDS)
    assert np.mean(kinds == "fog") == pytest.approx(0.3, abs=0.02)
    assert np.mean(kinds == "low_light") == pytest.approx(0.2, abs=0.02)
    assert np.mean(kinds == "clear") == pytest.approx(0.5, abs=0.02)
    vis = np.array([d.visibility_m for d in draws if d.kind == "fog"])
    gains = np.array([d.gain for d in draws if d.kind == "low_light"])
    assert 40.0 <= vis.min() and vis.max() <= 200.0 and vis.mean() == pytest.approx(120.0, rel=0.03)
    assert 0.05 <= gains.min() and gains.max() <= 0.3 and gains.mean() == pytest.approx(0.175, rel=0.03)
    assert all(d.gain is None for d in draws if d.kind != "low_light")
    assert all(d.visibility_m is None for d in draws if d.kind != "fog")
    # Off by default (the smoke preset): always clear.
    assert {draw_condition(ConditionsConfig(), rng).kind for _ in range(200)} == {"clear"}


def test_sequence_condition_is_deterministic():
    scene = load_scene(preset="smoke")
    scene = scene.model_copy(update={"conditions": ConditionsConfig(fog_probability=0.4, low_light_probability=0.4)})
    a = [sequence_condition(scene, 5, s) for s in range(200)]
    assert a == [sequence_condition(scene, 5, s) for s in range(200)]
    assert a != [sequence_condition(scene, 6, s) for s in range(200)]
    assert len({c.kind for c in a}) == 3
    assert sequence_condition(load_scene(preset="smoke"), 5, 0) == Condition("clear")


def test_condition_validates():
    with pytest.raises(ValueError):
        Condition("rain")
    with pytest.raises(ValueError):
        Condition("fog")
    with pytest.raises(ValueError):
        Condition("low_light", gain=0.0)
    with pytest.raises(ValueError):
        Condition("clear", gain=0.5)
