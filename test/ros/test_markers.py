"""disac_ros.ros.markers: estimates are placed from the center's surveyed pose, the truth from its true one."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from disac_ros.ros.convert import to_time
from disac_ros.ros.markers import estimate_markers


def test_a_survey_error_shows_as_the_error_line_between_estimate_and_truth():
    state = SimpleNamespace(target_id=3, label="car", distance=20.0, azimuth=0.3, pitch=0.1)
    truth = SimpleNamespace(targets=[state])
    known, true = np.array([1.0, 2.0, 5.0]), np.array([1.2, 1.9, 5.3])
    out = estimate_markers([state], truth, known, to_time(1.0), true_center_position=true)
    by_ns = {m.ns: m for m in out.markers}
    est = np.array([by_ns["estimates"].pose.position.x, by_ns["estimates"].pose.position.y,
                    by_ns["estimates"].pose.position.z])
    tru = np.array([by_ns["truth"].pose.position.x, by_ns["truth"].pose.position.y, by_ns["truth"].pose.position.z])
    np.testing.assert_allclose(est - tru, known - true, atol=1e-9)   # the same labels, seen from two centres
    line = [np.array([p.x, p.y, p.z]) for p in by_ns["errors"].points]
    np.testing.assert_allclose(line[0] - line[1], known - true, atol=1e-9)
    same = estimate_markers([state], truth, known, to_time(1.0))     # no true centre given: the same one
    assert {m.ns: m for m in same.markers}["truth"].pose.position.x == by_ns["estimates"].pose.position.x
