"""disac_ros.evaluation.offline: offline evaluation of the smoke run is deterministic and reports every metric."""
from __future__ import annotations

import json

import numpy as np
import pytest
from evaltools import KEYS

from disac_ros.evaluation.offline import EVALUATION_SPLIT, evaluate_offline

pytestmark = pytest.mark.slow


@pytest.mark.slow
def test_offline_evaluation_is_deterministic(smoke_data, smoke_run):
    from disac_ros.evaluation import offline

    a = offline.evaluate_offline(smoke_data, smoke_run, [0.0, 20.0], seed=3)
    b = offline.evaluate_offline(smoke_data, smoke_run, [0.0, 20.0], seed=3)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    entry = a["centers"]["device_0"]
    assert not entry["snr_independent"] and set(entry["by_snr"]) == {"0", "20"}
    for row in entry["by_snr"].values():
        for part in ("metrics", "center_only"):
            assert set(row[part]) == {"normalised", "si"}
            assert set(row[part]["normalised"]) == KEYS
            assert all(np.isfinite(v) for v in row[part]["si"].values())
    assert a["samples"]["device_0"] == 12  # one test sequence: 4 frames x 3 targets


def test_evaluation_reports_every_metric_and_examples(smoke_data, run):
    result = evaluate_offline(smoke_data, run, [10.0], examples=100)
    n = result["samples"]["device_0"]
    row = result["centers"]["device_0"]["by_snr"]["10"]
    assert n == len(row["examples"]) == 4 * 3  # one test sequence: 4 frames x 3 targets
    for part in ("metrics", "center_only"):
        for scale in ("normalised", "si"):
            assert set(row[part][scale]) == {"accuracy", *(f"{m}_{p}" for m in ("nmse_db", "rmse") for p in
                                                           ("distance", "azimuth", "pitch", "radial_velocity"))}
            assert all(np.isfinite(v) for v in row[part][scale].values())
    example = row["examples"][0]
    assert example["true_class"] in ("car", "dog", "drone") and len(example["pred"]) == 4


def test_int8_decoders_change_only_the_decoded_part_and_keep_no_records(smoke_data, run):
    """``decoder_precision="int8"`` (the aggregator's option) evaluates the same samples: the center alone, which
    decodes nothing, scores exactly as in float32, the full model near it; records (float32's) are refused."""
    full = evaluate_offline(smoke_data, run, [10.0])
    int8 = evaluate_offline(smoke_data, run, [10.0], decoder_precision="int8")
    assert (full["decoder_precision"], int8["decoder_precision"]) == ("float32", "int8")
    a, b = full["centers"]["device_0"]["by_snr"]["10"], int8["centers"]["device_0"]["by_snr"]["10"]
    assert a["center_only"] == b["center_only"]
    assert all(np.isfinite(v) for v in b["metrics"]["si"].values())
    assert a["metrics"]["normalised"] != b["metrics"]["normalised"]   # the decoders did change
    with pytest.raises(ValueError, match="records"):
        evaluate_offline(smoke_data, run, [10.0], decoder_precision="int8", records=True)


# --- issue 28, item 8: the world's identity is the world ----------------------------------------------------------

@pytest.fixture(scope="module")
def other_seed_data(smoke_scene, tmp_path_factory):
    """The smoke world drawn again with seed 4242, every sequence a test sequence (what the demo's fresh data is)."""
    from disac_ros.config import load_scene, sampling_overrides
    from disac_ros.data.generate import Generator

    cfg = load_scene(preset="smoke", overrides=sampling_overrides(4242, 3, EVALUATION_SPLIT))
    root = tmp_path_factory.mktemp("smoke_seed4242")
    Generator(cfg, root, scene=smoke_scene).run(progress=False)
    return root


def _copied_run(smoke_run, tmp_path):
    import shutil

    shutil.copytree(smoke_run, tmp_path / "run")
    return tmp_path / "run"


def test_a_dataset_of_another_seed_evaluates_with_its_own_codes_and_records(smoke_run, smoke_data, other_seed_data,
                                                                            tmp_path):
    from safetensors.torch import load_file

    from disac_ros.data import store
    from disac_ros.evaluation.offline import records_path
    from disac_ros.runs import OtherDataRun, Run

    run_dir = _copied_run(smoke_run, tmp_path)

    def own_files():  # the run's own hand-over and records (an earlier test may have written some), not eval/data-*
        files = [p for sub in ("handover", "eval") for p in (run_dir / sub).rglob("*")]
        return {p: p.stat().st_mtime_ns for p in files if not p.relative_to(run_dir).parts[1].startswith("data-")}

    before = own_files()
    manifest = store.load_manifest(other_seed_data)
    result = evaluate_offline(other_seed_data, run_dir, [20.0], records=True)
    assert not result["trained_on_this_dataset"] and result["dataset"]["seed"] == 4242
    assert result["dataset"]["config_digest"] == Run(run_dir).scene_digest
    assert result["samples"]["device_0"] == 3 * 4 * 3  # every sequence is a test sequence: 3 x 4 frames x 3 targets
    assert all(np.isfinite(v) for v in result["centers"]["device_0"]["by_snr"]["20"]["metrics"]["si"].values())
    # the run's own hand-over and records are neither read for these samples nor written (their keys coincide)
    assert own_files() == before
    other = Run(run_dir).for_data(manifest, "test")
    assert isinstance(other, OtherDataRun) and other.eval_dir.name == f"data-{manifest['dataset_digest']}"
    codes = load_file(str(other.handover_dir("device_1") / "codes.safetensors"))
    assert len(codes["keys"]) == 36 and codes["keys"][:, 0].unique().tolist() == [0, 1, 2]
    theirs = load_file(str(run_dir / "handover" / "device_1" / "codes.safetensors"))
    row = {tuple(k): i for i, k in enumerate(theirs["keys"].tolist())}
    same_key = [(i, row[tuple(k)]) for i, k in enumerate(codes["keys"].tolist()) if tuple(k) in row]
    assert same_key and not any(np.allclose(codes["codes"][i], theirs["codes"][j]) for i, j in same_key)
    assert records_path(other, "test", "device_0", "full", 20.0).is_file()
    again = evaluate_offline(other_seed_data, run_dir, [20.0])  # the codes are re-used, the numbers the same
    assert again["centers"] == result["centers"]


def test_a_dataset_of_another_layout_is_refused_naming_both_digests(smoke_run, smoke_data, smoke_cfg, tmp_path):
    import shutil

    from disac_ros.data import store

    data = tmp_path / "moved"
    shutil.copytree(smoke_data, data)
    devices = [d.model_dump(mode="json") for d in smoke_cfg.devices]
    devices[2]["position"] = [devices[2]["position"][0], devices[2]["position"][1] - 1.0, devices[2]["position"][2]]
    moved = smoke_cfg.model_validate({**smoke_cfg.model_dump(mode="json"), "devices": devices})
    manifest = store.load_manifest(data)
    manifest.update(config=moved.model_dump(mode="json"), config_digest=moved.digest(),
                    dataset_digest=moved.dataset_digest())
    (data / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=f"world digest {smoke_cfg.digest()}.*world digest {moved.digest()}"):
        evaluate_offline(data, smoke_run, [20.0])


def test_the_fresh_world_accuracy_is_set_beside_the_test_splits(smoke_run, smoke_data, other_seed_data, tmp_path,
                                                                capsys):
    """What ``make demo`` prints: :func:`evaluate_fresh_world` on an already drawn fresh dataset (re-used by the
    ``disac generate`` child process, which finds it complete)."""
    from disac_ros.evaluation.offline import evaluate_fresh_world, records_path
    from disac_ros.evaluation.samples import Scored
    from disac_ros.runs import Run

    run_dir = _copied_run(smoke_run, tmp_path)
    evaluate_offline(smoke_data, run_dir, [20.0], centers=["device_0"], records=True)
    reference = Scored.load(records_path(Run(run_dir), "test", "device_0", "full", 20.0))
    fresh = evaluate_fresh_world(run_dir, "smoke", 20.0, reference=reference, sequences=3, data=other_seed_data)
    printed = capsys.readouterr().out
    assert "fresh sequences of the same world (seed 4242, 3 sequences, 36 samples" in printed
    assert "test split" in printed
    assert fresh["sequences"] == 3 and fresh["samples"] == 36 and fresh["dataset"]["seed"] == 4242
    assert 0 <= fresh["accuracy"]["low"] <= fresh["accuracy"]["mean"] <= fresh["accuracy"]["high"] <= 1
    assert fresh["versus_test_split"]["accuracy"]["reference"]["samples"] == len(reference)
