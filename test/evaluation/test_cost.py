"""disac_ros.evaluation.cost: communication cost (Eqs. 9, 10) by hand."""
from __future__ import annotations

import math

import pytest

from disac_ros.evaluation import cost


def test_communication_cost_hand_computed():
    manifest = {"config": {"camera": {"height": 128, "width": 128}},
                "radar": {"num_chirps": 8, "num_antennas": 16, "num_samples": 60},
                "targets": [0, 1, 2], "devices": [{}, {}, {}, {}]}
    c = cost.communication_cost(manifest, L_se=4, d_se=16, snrs_db=[0, 10])
    assert c["raw"]["image"] == 128 * 128 * 3 and c["raw"]["echo"] == 8 * 16 * 60 * 8
    assert c["semantic_bytes"] == 4 * 16 * 4 and c["complex_symbols"] == 32
    assert c["payload_percent"] == pytest.approx(100 * 256 / (49152 + 61440))
    assert c["per_frame"]["semantic_bytes"] == 3 * 3 * 256
    # Eq. 9 at 0 dB: B log2(1 + 1) = B = 1 kHz; at 10 dB: 1000 log2(11); Eq. 10: 8 * bytes / rate
    assert c["links"]["0"]["rate_bps"] == pytest.approx(1000.0)
    assert c["links"]["10"]["rate_bps"] == pytest.approx(1000 * math.log2(11))
    assert c["links"]["0"]["delay_semantic_s"] == pytest.approx(8 * 256 / 1000)
    assert c["links"]["0"]["paper_delay_raw_s"] == pytest.approx(8 * 1_370_112 / 1000)
