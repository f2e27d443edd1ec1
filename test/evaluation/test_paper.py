"""disac_ros.evaluation.paper: the paper's published numbers and payload."""
from __future__ import annotations

import pytest

from disac_ros.evaluation import paper


def test_paper_constants_and_payload():
    assert paper.TABLE_III["llm-disac"]["accuracy"] == pytest.approx(0.9821)
    assert paper.TABLE_III["llm-disac"]["nmse_db_azimuth"] == pytest.approx(-29.060)
    assert paper.TARGETS["nmse_db_radial_velocity"] == pytest.approx(-7.302)
    assert 100 - paper.MAX_PAYLOAD_PERCENT == pytest.approx(92.67, abs=0.01)   # the paper's 92.67 % reduction
    assert set(paper.TABLE_III) == set(paper.SCHEME_LABELS)
