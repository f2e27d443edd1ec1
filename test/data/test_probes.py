"""disac_ros.data.probes: how hard a generated world is, before anything is trained."""
from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from disac_ros.data.probes import (
    ON_TARGET_M,
    GaussianClassifier,
    HistogramClassifier,
    detector_rates,
    format_probes,
    regression_errors,
    run_probes,
)


def test_gaussian_classifier_separates_separable_classes_and_not_identical_ones():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 300)
    x = np.stack([y * 10.0 + rng.normal(size=y.size), rng.normal(size=y.size)], axis=1)
    assert np.mean(GaussianClassifier().fit(x, y).predict(x) == y) > 0.99
    same = rng.normal(size=(y.size, 2))
    assert np.mean(GaussianClassifier().fit(same, y).predict(same) == y) < 0.45


def test_histogram_classifier_is_the_bayes_rule_on_overlapping_uniform_speeds():
    # dog U(0.5, 3) vs car U(1, 6): the Bayes rule picks the dog below 3 m/s -> accuracy (1 + 3/5) / 2 = 0.8
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(0.5, 3, 20000), rng.uniform(1, 6, 20000)])
    y = np.repeat([1, 0], 20000)
    acc = np.mean(HistogramClassifier(bins=44).fit(x, y).predict(x) == y)
    assert acc == pytest.approx(0.8, abs=0.02)


def test_errors_wrap_the_azimuth():
    est = {"distance": np.array([10.0]), "azimuth": np.array([math.pi - 0.01]), "pitch": np.array([0.1]),
           "radial_velocity": np.array([1.0])}
    err = regression_errors(est, np.array([[9.0, -math.pi + 0.01, 0.1, 0.5]]))
    assert err[0].tolist() == pytest.approx([1.0, -0.02, 0.0, 0.5])


def test_detector_rates_split_target_detections_from_false_ones_per_class_and_speed():
    # 8 line-of-sight samples and 2 blocked ones: true slant range 20 m (distance 20, pitch 0)
    labels = np.array([[20.0, 0.0, 0.0, v] for v in (0.1, 0.2, 1.0, 1.0, 2.0, 2.0, 4.0, -4.0, 1.0, 1.0)])
    slant = np.array([20.5, 40.0, 20.0, 20.0, 19.0, 20.0 + ON_TARGET_M + 1, 20.0, 20.0, 35.0, 20.0])
    detected = np.array([True, True, True, False, True, True, True, True, True, False])
    scored = {"estimates": {"detected": detected, "slant_range": slant}, "labels": labels,
              "blocked": np.array([False] * 8 + [True] * 2), "class_id": np.array([1, 1, 0, 0, 2, 2, 0, 0, 1, 2])}
    r = detector_rates(scored)
    assert r["line_of_sight"] == {"samples": 8, "detection": 5 / 8, "false": 2 / 8}
    assert r["per_class"]["dog"] == {"samples": 2, "detection": 0.5, "false": 0.5}       # the slow dog: one false
    assert r["per_class"]["car"] == {"samples": 4, "detection": 0.75, "false": 0.0}
    assert r["per_radial_speed"]["0-0.5"]["samples"] == 2 and r["per_radial_speed"][">=3"]["detection"] == 1.0
    assert r["per_radial_speed"]["1.5-3"] == {"samples": 2, "detection": 0.5, "false": 0.5}
    assert r["blocked"] == {"samples": 2, "detection": 0.0, "false": 0.5}


@pytest.mark.slow
def test_inspect_writes_the_probes_into_the_manifest(smoke_data, tmp_path, capsys):
    from disac_ros.cli import main

    data = tmp_path / "data"
    shutil.copytree(smoke_data, data)
    assert main(["inspect", str(data)]) == 0
    printed = capsys.readouterr().out
    probes = json.loads((data / "manifest.json").read_text())["probes"]
    assert set(probes["classical"]) == {"device_0", "device_1", "device_2", "device_3"}
    assert 0 <= probes["speed_class_probe"] <= 1 and all(0 <= v <= 1 for v in probes["level_class_probe"].values())
    assert format_probes(probes) in printed and "line of sight blocked" in printed
    assert "detector on line of sight" in printed and set(probes["detector"]) == set(probes["classical"])
    assert "classical baselines at device_0 on the val split" in printed
    assert 0 <= probes["baselines"]["fusion"]["all"]["accuracy"] <= 1
    again = run_probes(data)
    assert again["level_class_probe"] == probes["level_class_probe"]  # deterministic
