"""Fixtures of the in-process node tests: a stand-in for a loaded run, so the nodes start without a model."""
from __future__ import annotations

import types

import pytest


class _FakeRun:
    """What the encoder and the aggregator use of a loaded run (LLMDiSAC), without a model."""

    device_ids = ["device_0", "device_1", "device_2"]
    center = "device_0"
    target_classes = [0, 1, 2]
    image_shape, echo_shape, code_shape = (4, 4, 3), (1, 2, 3), (4, 8)
    model_cfg = types.SimpleNamespace(scheme="llm_disac")
    run = types.SimpleNamespace(check_scene=lambda scene, num_devices=None: None)  # any scene is the run's scene

    def device_model(self, device_id):
        import torch

        return types.SimpleNamespace(uses_link=True, rvfn=torch.nn.Identity(), encoder=torch.nn.Identity(),
                                     decoder=torch.nn.Identity())

    def center_model(self):
        import torch

        return torch.nn.Identity()

    def center_features_model(self):
        import torch

        return types.SimpleNamespace(uses_link=False, rvfn=torch.nn.Identity())


@pytest.fixture
def fake_run(monkeypatch):
    import disac_ros.inference

    monkeypatch.setattr(disac_ros.inference.LLMDiSAC, "load", lambda run: _FakeRun())


@pytest.fixture
def published(monkeypatch):
    """``published(publisher)`` -> the list of messages an in-process node publishes on it from then on."""

    def capture(publisher) -> list:
        sent: list = []
        monkeypatch.setattr(publisher, "publish", sent.append)
        return sent

    return capture
