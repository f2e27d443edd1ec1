"""disac_ros.config: invalid configs fail before anything is rendered, with a message naming the field."""
from __future__ import annotations

import typing

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
