"""disac_ros.models.llm_disac: a DeviceModel builds the decoder its config names."""
from __future__ import annotations

from disac_ros.config import ModelConfig
from disac_ros.models.decoders import RNNSemanticDecoder


def test_device_model_builds_the_configured_decoder():
    from disac_ros.models.llm_disac import DeviceModel

    cfg = ModelConfig(scheme="sm-md-rf", decoder="gru", L_sf=6, d_sf=16, L_se=2, d_se=4)
    model = DeviceModel(cfg, image_size=32, echo_shape=(1, 16, 60))
    assert isinstance(model.decoder, RNNSemanticDecoder) and model.decoder.kind == "gru"
    assert (model.decoder.L_sf, model.decoder.d_sf, model.decoder.L_se, model.decoder.d_se) == (6, 16, 2, 4)
