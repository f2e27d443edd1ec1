"""disac_ros.config: invalid configs fail before anything is rendered, with a message naming the field."""
from __future__ import annotations

import math
import typing

import numpy as np
import pytest

from disac_ros.config import DECODER_KINDS, PRESETS, ModelConfig, load_scene


@pytest.mark.parametrize("preset", [None, *PRESETS])
def test_shipped_configs_are_valid(preset):
    cfg = load_scene(preset=preset)
    assert cfg.devices[0].id == cfg.center.id
    assert {t.type for t in cfg.targets} == {"car", "dog", "drone"}
    assert len(cfg.devices) == 4


@pytest.mark.parametrize("override, field", [
    ({"devices": []}, "devices"),
    ({"targets": [{"type": "car", "speed": -1.0}]}, "speed"),
    ({"targets": [{"type": "tank", "speed": 1.0}]}, "type"),
    ({"devices": [{"id": "device_0", "position": [500.0, 0.0, 5.0]}]}, "devices[0].position"),
    ({"camera": {"width": 0}}, "width"),
    ({"radar": {"chirp_bandwidth": 90e6}}, "chirp_bandwidth"),
    # the farthest slant range must fit c * PRI / 2, the speed bound the chirps' Doppler ambiguity
    ({"radar": {"pulse_repetition_interval": 1e-7, "sampling_frequency": 6e8}}, "pulse_repetition_interval"),
    ({"radar": {"num_chirps": 8, "chirp_interval": 2e-3}}, "chirp_interval"),
    ({"targets": [{"type": "car", "speed": 1.0, "swerling": 5}]}, "swerling"),
    ({"targets": [{"type": "car", "speed": [5.0, 2.0]}]}, "speed"),
    ({"propagation": {"building_loss_db": -1.0}}, "building_loss_db"),
    ({"radar": {"noise_figure_db": -3.0}}, "noise_figure_db"),
    ({"conditions": {"fog_probability": 0.7, "low_light_probability": 0.5}}, "fog_probability"),
])
def test_invalid_config_names_the_field(override, field):
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
        load_scene(preset="smoke", overrides=override)


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown preset"):
        load_scene(preset="huge")


def test_config_refuses_an_unknown_decoder_kind():
    with pytest.raises(ValueError, match="decoder"):
        ModelConfig(decoder="nope")
    # The config's Literal is DECODER_KINDS itself, not a copy of it.
    assert typing.get_args(ModelConfig.model_fields["decoder"].annotation) == DECODER_KINDS


# The world digest (issue 28, item 8): what runs, artifacts and live scenes compare.
SAME_WORLD = [{"seed": 4242}, {"dataset": {"sequences": 30}}, {"dataset": {"duration": 1.0}},
              {"dataset": {"split": [0.0, 0.0, 1.0]}}, {"dataset": {"chunk_frames": 3}}]


def _moved_device(cfg):
    devices = [d.model_dump(mode="json") for d in cfg.devices]
    devices[1]["position"] = [devices[1]["position"][0] - 1.0, *devices[1]["position"][1:]]
    return {"devices": devices}


def _obstacles_without_the_first(cfg):
    return {"obstacles": [o.model_dump(mode="json") for o in cfg.obstacles[1:]]}


def _louder_car(cfg):
    targets = [t.model_dump(mode="json") for t in cfg.targets]
    targets[0]["rcs"] = 50.0
    return {"targets": targets}


OTHER_WORLD = [_moved_device, _obstacles_without_the_first, _louder_car,
               lambda cfg: {"radar": {"num_chirps": 2, "chirp_interval": 5e-4}},
               lambda cfg: {"radar": {"noise": "reference_snr"}}, lambda cfg: {"camera": {"width": 32}},
               lambda cfg: {"conditions": {"fog_probability": 0.5}}, lambda cfg: {"motion": {"model": "linear"}},
               lambda cfg: {"propagation": {"building_loss_db": 10.0}}, lambda cfg: {"dataset": {"fps": 4.0}}]


@pytest.mark.parametrize("override", SAME_WORLD, ids=lambda o: str(o))
def test_the_seed_and_the_sizes_leave_the_world_digest_and_change_the_datasets(override):
    base = load_scene(preset="smoke")
    other = load_scene(preset="smoke", overrides=override)
    assert other.digest() == base.digest() and other.world_identity() == base.world_identity()
    assert other.dataset_digest() != base.dataset_digest() and other.sampling() != base.sampling()


@pytest.mark.parametrize("change", OTHER_WORLD)
def test_layout_devices_radar_camera_targets_and_noise_models_change_the_world_digest(change):
    base = load_scene(preset="smoke")
    other = load_scene(preset="smoke", overrides=change(base))
    assert other.digest() != base.digest() and other.dataset_digest() != base.dataset_digest()


def test_every_sampling_field_is_a_field_of_the_scene():
    from disac_ros.config import SAMPLING_FIELDS

    cfg = load_scene(preset="smoke")
    assert set(cfg.sampling()) == set(SAMPLING_FIELDS)
    assert "seed" not in cfg.world_identity() and "fps" in cfg.world_identity()["dataset"]
    assert set(cfg.world_identity()["dataset"]) == {"fps"}


def test_a_surveyed_pose_differs_from_the_true_one_by_the_drawn_error():
    cfg = load_scene(overrides={"survey": {"position_sigma_m": 0.3, "heading_sigma_deg": 1.0, "seed": 3}})
    known = cfg.surveyed()
    offsets, headings = [], []
    for k, (true, dev) in enumerate(zip(cfg.devices, known.devices, strict=True)):
        offset, heading = cfg.survey_errors(k)
        assert dev.id == true.id
        np.testing.assert_allclose(np.subtract(dev.position, true.position), offset, atol=1e-12)
        v_true, v_known = np.subtract(true.lookat, true.position), np.subtract(dev.lookat, dev.position)
        turned = math.atan2(v_known[1], v_known[0]) - math.atan2(v_true[1], v_true[0])
        assert math.remainder(turned - heading, 2 * math.pi) == pytest.approx(0.0, abs=1e-12)
        assert v_known[2] == pytest.approx(v_true[2])
        assert np.linalg.norm(v_known) == pytest.approx(np.linalg.norm(v_true))
        offsets.append(offset)
        headings.append(heading)
    assert 0 < np.abs(offsets).max() < 5 * 0.3 and 0 < np.abs(headings).max() < math.radians(5.0)
    # the errors scale with the sigmas (one draw per device), another seed draws others, zero sigmas change nothing
    double = load_scene(overrides={"survey": {"position_sigma_m": 0.6, "heading_sigma_deg": 2.0, "seed": 3}})
    np.testing.assert_allclose(double.survey_errors(1)[0], 2 * cfg.survey_errors(1)[0])
    other = load_scene(overrides={"survey": {"seed": 4}})
    assert not np.allclose(other.survey_errors(1)[0], cfg.survey_errors(1)[0])
    exact = load_scene(overrides={"survey": {"position_sigma_m": 0.0, "heading_sigma_deg": 0.0}})
    assert exact.surveyed() is exact
    assert cfg.digest() != exact.digest() != other.digest()


def test_dotted_overrides_set_nested_fields_on_a_copy_and_name_a_bad_item():
    from disac_ros.config import dotted_overrides

    base = {"dataset": {"sequences": 4}}
    out = dotted_overrides(["clutter.model=none", "survey.heading_sigma_deg=0.5", "dataset.split=[0, 0, 1]"], base)
    assert out == {"dataset": {"sequences": 4, "split": [0, 0, 1]}, "clutter": {"model": "none"},
                   "survey": {"heading_sigma_deg": 0.5}}
    assert base == {"dataset": {"sequences": 4}}
    assert load_scene(overrides=out).clutter.model == "none"
    with pytest.raises(ValueError, match="KEY.PATH=VALUE"):
        dotted_overrides(["clutter.model"])
