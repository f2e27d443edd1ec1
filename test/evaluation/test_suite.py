"""disac_ros.evaluation.suite: the Table III suite's plan, epochs and time estimate from the throughput file."""
from __future__ import annotations

from pathlib import Path

import pytest

from disac_ros.config import DECODER_KINDS, SCHEMES
from disac_ros.evaluation import paper, suite

# 24 sequences of 20 frames, 3 targets, 4 devices: 14 / 5 / 5 sequences -> 840 / 300 / 300 samples per device
MANIFEST = {"counts": {"sequences": 24, "frames": 480}, "targets": [0, 1, 2], "devices": [{}] * 4,
            "splits": {"train": list(range(14)), "val": list(range(5)), "test": list(range(5))}}


def test_plan_epochs_and_estimate():
    devices = ["device_0", "device_1", "device_2", "device_3"]
    plan = suite.make_plan(devices, list(paper.SCHEME_LABELS), list(DECODER_KINDS), [1, 2, 3, 4],
                           suite.parse_epochs(["5", "llm-disac-gpt2=3"], "default"))
    names = [s.name for s in plan]
    assert names == ["sm-sd-rf", "sm-sd-cv", "mm-sd", "sm-md-rf", "sm-md-cv", "llm-disac", "llm-disac-gpt2",
                     "llm-disac-lstm", "llm-disac-gru", "llm-disac-lossless"]
    by = {s.name: s for s in plan}
    assert by["llm-disac"].centers == tuple(devices) and by["mm-sd"].centers == tuple(devices)
    assert by["sm-md-rf"].centers == ("device_0",) and by["llm-disac-gpt2"].epochs == 3
    assert by["sm-sd-rf"].epochs == 5
    assert suite.parse_epochs(None, "default") == (suite.BENCHMARK_EPOCHS["default"], {})
    with pytest.raises(ValueError, match="NAME=N"):
        suite.parse_epochs(["x=y"], "default")
    with pytest.raises(ValueError, match="not in the plan"):
        suite.make_plan(devices, ["sm-sd-rf"], ["llama"], [1], (5, {"llm-disac": 2}))
    seeded = suite.make_plan(devices, ["sm-sd-rf", "mm-sd", "sm-md-rf", "llm-disac"], ["llama", "gru"], [1],
                             (5, {}), seeds=3, decoder_seeds=2, variants=("mm-sd-gated",))
    assert [(s.name, s.seed) for s in seeded] == [
        ("sm-sd-rf", 0), ("sm-sd-rf-s1", 1), ("sm-sd-rf-s2", 2), ("mm-sd", 0), ("mm-sd-s1", 1), ("mm-sd-s2", 2),
        ("sm-md-rf", 0), ("llm-disac", 0), ("llm-disac-s1", 1), ("llm-disac-s2", 2), ("llm-disac-gru", 0),
        ("llm-disac-gru-s1", 1), ("mm-sd-gated", 0)]
    assert seeded[-1].overrides == (("gating", True),) and suite.base_name(seeded[8]) == "llm-disac"
    train, evaluate = suite.equivalent_commands(seeded[9], Path("data/d"), Path("out/llm-disac-s2"), "default", 10,
                                                [20.0])
    assert "--seed 12" in train and "--seed 12" in evaluate  # the run's seed: the benchmark's + its own
    est = suite.estimate_seconds(plan, MANIFEST, "default")
    assert set(est["runs"]) == set(names) and 30 * 60 < est["total_s"] < 90 * 60


def test_throughput_file_has_every_rate_the_plan_uses(monkeypatch):
    import yaml

    full = yaml.safe_load(suite.THROUGHPUT_FILE.read_text())
    devices = ["device_0", "device_1", "device_2", "device_3"]
    plan = suite.make_plan(devices, list(SCHEMES), list(DECODER_KINDS), [1, 2, 3, 4], (None, {}))
    assert {(s.scheme, s.decoder) for s in plan} >= {("llm-disac", d) for d in DECODER_KINDS}
    est = suite.estimate_seconds(plan, MANIFEST, "default")  # a KeyError names a rate the file lacks
    assert all(v > 0 for v in est["runs"].values())
    assert "(x86_64, 2 cores, idle)" in est["basis"] and est["calibration"] == full["calibration"]
    # and a file without one of them says which
    del full["stage1"]["both"]["gru"]
    monkeypatch.setattr(suite, "throughput", lambda: full)
    with pytest.raises(KeyError, match="stage1.both.gru"):
        suite.estimate_seconds(plan, MANIFEST, "default")


def test_estimate_matches_a_hand_computation_from_the_throughput_file():
    import yaml

    t = yaml.safe_load(suite.THROUGHPUT_FILE.read_text())

    def rate(compute, loading):  # a step's compute and the HDF5 loading in series
        return 1 / (1 / compute + 1 / loading)

    spec = suite.RunSpec("llm-disac-gru", "llm-disac", "gru", ("device_0",), 2)
    shuffled, sequential, startup = t["loading"]["shuffled"], t["loading"]["sequential"], t["startup_s"]
    features = rate(t["features"]["both"], sequential)
    decode, K, snrs = t["decode"]["gru"], 3, 5
    per_epoch = 840 / rate(t["stage1"]["both"]["gru"], shuffled) + 300 / rate(t["evaluation"]["both"]["gru"],
                                                                               sequential)
    own = 2 * (840 / rate(t["stage1"]["both"]["single_device"], shuffled)
               + 300 / rate(t["evaluation"]["both"]["single_device"], sequential)) + startup
    stage1 = own + 3 * (2 * per_epoch + startup)             # the center's own model, 3 linked collaborators
    handover = 3 * (840 + 300 + 300) / features                                  # the K collaborators, every split
    stage2 = (840 + 300) / features + startup + 2 * (840 / t["stage2"]["gru"] + 300 * K / decode)
    passes = snrs * 3 + 2                    # each SNR with 3 prompts (seed 0), center alone, lossless link
    evaluation = startup + 300 / features + passes * 300 * K / decode
    expected = t["calibration"] * (stage1 + handover + stage2 + evaluation)
    est = suite.estimate_seconds([spec], MANIFEST, "default", snrs)
    assert est["runs"]["llm-disac-gru"] == pytest.approx(expected, rel=1e-12)
    assert est["total_s"] == pytest.approx(expected, rel=1e-12)
    single = suite.RunSpec("sm-sd-rf", "sm-sd-rf", "llama", ("device_0",), 2)
    train, ev = rate(t["stage1"]["rf"]["single_device"], shuffled), rate(t["evaluation"]["rf"]["single_device"],
                                                                          sequential)
    expected = t["calibration"] * (2 * (840 / train + 300 / ev) + startup + 300 / ev)
    assert suite.estimate_seconds([single], MANIFEST, "default")["total_s"] == pytest.approx(expected, rel=1e-12)


def test_a_resumed_benchmark_reuses_an_evaluation_only_while_its_inputs_are_unchanged(tmp_path):
    import math
    import os

    from disac_ros.evaluation.suite import cached_evaluation, save_evaluation

    run = tmp_path / "run"
    model = run / "stage2" / "model.safetensors"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"weights")
    inputs = {"data": "abc", "snrs": [0.0, 20.0], "seed": 1, "prompts": ("true",), "centers": ("device_0",),
              "timing_repeats": 3}
    assert cached_evaluation(run, inputs) is None
    save_evaluation(run, inputs, {"evaluation": {"accuracy": 0.5, "nmse": math.nan}})
    again = cached_evaluation(run, inputs)
    assert again["evaluation"]["accuracy"] == 0.5 and math.isnan(again["evaluation"]["nmse"])
    assert cached_evaluation(run, {**inputs, "seed": 2}) is None          # other inputs
    (run / "export").mkdir()
    (run / "export" / "artifact.safetensors").write_bytes(b"x")           # an export is not the model
    assert cached_evaluation(run, inputs) is not None
    os.utime(model, ns=(1, 1))                                            # a retrained model
    assert cached_evaluation(run, inputs) is None
