"""disac_ros.runs: one home for a run directory's layout, configs, scene identity and model loading."""
from __future__ import annotations

import json
import shutil

import pytest

from disac_ros.config import load_scene
from disac_ros.runs import Run, default_data, default_run

pytestmark = pytest.mark.slow


def test_layout_and_what_the_run_knows(smoke_run, smoke_cfg):
    run = Run(smoke_run)
    assert run.devices == [d.id for d in smoke_cfg.devices] and run.center == "device_0"
    assert run.stage1_dir("device_2") == smoke_run / "stage1" / "device_2"
    assert run.handover_dir("device_1") == smoke_run / "handover" / "device_1"
    assert run.stage2_dir() == run.stage2_dir("device_0") == smoke_run / "stage2"
    assert run.stage2_dir("device_3") == smoke_run / "stage2-device_3"
    assert run.trained_centers() == ["device_0"]
    assert run.image_shape == (smoke_cfg.camera.height, smoke_cfg.camera.width, 3)
    assert run.echo_shape == (smoke_cfg.radar.num_chirps, smoke_cfg.radar.num_antennas, smoke_cfg.radar.num_samples)
    assert run.scene == smoke_cfg and run.scene_digest == smoke_cfg.digest()
    assert not run.handover_stale("device_1")


def test_not_a_run_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a training run.*disac train"):
        Run(tmp_path)


def test_a_live_scene_other_than_the_runs_is_refused_naming_both_digests(smoke_run, smoke_cfg):
    run = Run(smoke_run)
    run.check_scene(smoke_cfg)
    run.check_scene(smoke_cfg, num_devices=2)
    other = load_scene(preset="default")
    with pytest.raises(ValueError) as err:
        run.check_scene(other)
    assert smoke_cfg.digest() in str(err.value) and other.digest() in str(err.value)
    moved = smoke_cfg.model_copy(update={"seed": smoke_cfg.seed + 1})
    with pytest.raises(ValueError, match=moved.digest()):
        run.check_scene(moved)


def test_a_dataset_of_another_scene_is_refused(smoke_run, smoke_data, tmp_path):
    run = Run(smoke_run)
    assert run.check_data(smoke_data)["config_digest"] == run.scene_digest
    data = tmp_path / "data"
    shutil.copytree(smoke_data, data)
    manifest = json.loads((data / "manifest.json").read_text())
    manifest["config_digest"] = "0" * 16
    (data / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=f"{run.scene_digest}.*{'0' * 16}"):
        run.check_data(data)


def test_models_load_and_unknown_devices_are_named(smoke_run):
    run = Run(smoke_run)
    model = run.load_device_model("device_1")
    assert not model.training and model.uses_link
    assert not run.load_center_model().training
    decoder = run.load_decoder("device_1")
    assert not any(p.requires_grad for p in decoder.parameters())
    with pytest.raises(ValueError, match="unknown device 'device_9'"):
        run.load_device_model("device_9")


def test_default_directories_follow_the_scene_digest():
    digest = load_scene(preset="smoke").digest()[:8]
    assert default_data("smoke").name == default_run("smoke").name == f"smoke-{digest}"
    assert default_data("smoke").parent.name == "data" and default_run("smoke").parent.name == "runs"
