"""disac_ros.evaluation.offline: offline evaluation of the smoke run is deterministic and reports every metric."""
from __future__ import annotations

import json

import numpy as np
import pytest
from evaltools import KEYS

from disac_ros.evaluation.offline import evaluate_offline

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
