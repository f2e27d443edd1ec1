"""Fixtures of the in-process node tests: a stand-in for a loaded run, so the nodes start without a model."""
from __future__ import annotations

import types

import pytest


class _FakeSide:
    """What the encoder and the aggregator use of their half (SensingDevice / AggregationCenter), without a model."""

    device_ids = ["device_0", "device_1", "device_2"]
    center = "device_0"
    collaborators = ["device_1", "device_2"]
    target_classes = [0, 1, 2]
    image_shape, echo_shape, code_shape = (4, 4, 3), (1, 2, 3), (4, 8)
    frame_period_s = 0.0  # unknown: no skipped-frame count
    model_cfg = types.SimpleNamespace(scheme="llm_disac")
    decoder_precision = "float32"

    def __init__(self, device_id: str | None = None):
        import torch

        self.device_id = device_id
        self.model = types.SimpleNamespace(rvfn=torch.nn.Identity(), encoder=torch.nn.Identity())
        self.features_model = types.SimpleNamespace(rvfn=torch.nn.Identity())
        self.decoders = {k: torch.nn.Identity() for k in self.collaborators}
        self.center_model = torch.nn.Identity()

    def check_scene(self, scene, num_devices=None) -> None:  # any scene is the run's scene
        return None

    def start(self, image, echoes):
        """A partial aggregation that does nothing until ``finish``, which calls ``aggregate`` (tests replace it)."""
        side = self

        class Partial:
            busy_s = 0.0

            def add(self, device_id, received) -> None:
                return None

            def finish(self, received):
                return side.aggregate(image, echoes, received)

        return Partial()


@pytest.fixture
def fake_run(monkeypatch):
    """The nodes load a model-free half for any ``run``: device_1's or device_2's encoder, device_0's center."""
    import disac_ros.inference

    monkeypatch.setattr(disac_ros.inference.SensingDevice, "load", lambda path, device_id: _FakeSide(device_id))
    monkeypatch.setattr(disac_ros.inference.AggregationCenter, "load",
                        lambda path, center=None, decoder_precision="float32": _FakeSide())


@pytest.fixture
def published(monkeypatch):
    """``published(publisher)`` -> the list of messages an in-process node publishes on it from then on."""

    def capture(publisher) -> list:
        sent: list = []
        monkeypatch.setattr(publisher, "publish", sent.append)
        return sent

    return capture
