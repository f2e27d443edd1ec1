"""disac_ros.checkpoint: a checkpoint of another config, or a corrupt one, is refused with a clear error."""
from __future__ import annotations

import pytest

from disac_ros import checkpoint
from disac_ros.config import load_section
from disac_ros.data import store
from disac_ros.models.llm_disac import DeviceModel

pytestmark = pytest.mark.slow


def device_model(model_cfg, data):
    image, echo = store.input_shapes(store.load_manifest(data))
    return DeviceModel(model_cfg, image_size=image[0], echo_shape=echo)


def test_checkpoint_from_another_config_is_refused(run, model_cfg, smoke_data):
    other = load_section("model", "smoke", {"d_se": 4})
    with pytest.raises(ValueError, match="another config"):
        checkpoint.load_weights(device_model(model_cfg, smoke_data), run / "stage1" / "device_1" / "model.safetensors",
                                {"model": other.model_dump(mode="json"), "data_config_digest": "x"})


def test_corrupt_checkpoint_is_a_clear_error(run, model_cfg, smoke_data, tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes((run / "stage1" / "device_1" / "model.safetensors").read_bytes()[:200])
    model = device_model(model_cfg, smoke_data)
    with pytest.raises(ValueError, match="not a readable safetensors"):
        checkpoint.load_weights(model, bad, {})
