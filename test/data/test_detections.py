"""disac_ros.data.detections: the device's own radar detection as the models read it, and its per-dataset cache."""
from __future__ import annotations

import numpy as np
import pytest

from disac_ros.data import detections, store
from disac_ros.sim.labels import sensing_labels

K = np.array([[100.0, 0.0, 32.0], [0.0, 100.0, 32.0], [0.0, 0.0, 1.0]])
E = np.eye(4)  # camera at the origin looking along +z (OpenCV axes)


def test_projection_of_points_in_front_behind_and_outside_the_image():
    points = np.array([[0.0, 0.0, 10.0], [1.6, -0.8, 10.0], [0.0, 0.0, -5.0], [50.0, 0.0, 10.0]])
    cue = detections.project(points, K, E, (64, 64))
    np.testing.assert_allclose(cue[0], [0.0, 0.0, 1.0], atol=1e-12)       # optical axis: image centre
    np.testing.assert_allclose(cue[1], [0.5, -0.25, 1.0], atol=1e-12)     # 16 px right, 8 px up of 64
    np.testing.assert_array_equal(cue[2:], [[0, 0, 0], [0, 0, 0]])          # behind the camera; outside


def test_world_points_invert_the_labels():
    rng = np.random.default_rng(0)
    device = np.array([-20.0, -17.0, 9.0])
    points = rng.uniform([-10, -10, 0], [10, 10, 6], size=(50, 3))
    labels = sensing_labels(device, points, np.zeros_like(points))
    est = np.zeros((50, len(detections.FIELDS)))
    for key in ("distance", "azimuth", "pitch"):
        est[:, detections.FIELDS.index(key)] = labels[key]
    np.testing.assert_allclose(detections.world_points(est, device), points, atol=1e-9)


@pytest.mark.slow
def test_dataset_cache_is_written_once_and_features_match_the_estimates(smoke_data, tmp_path, monkeypatch):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(smoke_data, root)
    (root / detections.CACHE_FILE).unlink(missing_ok=True)
    manifest = store.load_manifest(root)
    first = detections.dataset_estimates(root, manifest)
    assert (root / detections.CACHE_FILE).exists()
    monkeypatch.setattr(detections, "_compute", lambda *a: pytest.fail("the cache was not reused"))
    again = detections.dataset_estimates(root, manifest)
    assert first.keys() == again.keys() and all(np.array_equal(first[k], again[k], equal_nan=True) for k in first)
    features = detections.dataset_features(root, manifest)
    key = next(iter(first))
    est, feat = first[key][:, 1].reshape(-1, len(detections.FIELDS)), features[key][:, 1].reshape(-1,
                                                                                                detections.NUM_FEATURES)
    offset, scale = store.normalization_arrays(manifest)
    prior = (np.stack([est[:, detections.FIELDS.index(k)] for k in store.LABEL_KEYS], -1) - offset) / scale
    np.testing.assert_allclose(feat[:, detections.PRIOR], np.clip(prior, 1e-3, 1 - 1e-3), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(feat[:, 0], est[:, 0])
    assert np.all(feat[feat[:, 0] == 0][:, detections.CUE] == 0), "no detection, no camera cue"
    # a cache of another scene digest is recomputed
    monkeypatch.undo()
    other = dict(manifest, config_digest="another")
    detections.dataset_estimates(root, other)
    with np.load(root / detections.CACHE_FILE) as cached:
        assert str(cached["stamp"]).startswith("another/")


@pytest.mark.slow
def test_live_detector_gives_the_cached_vector(smoke_data):
    manifest = store.load_manifest(smoke_data)
    features = detections.dataset_features(smoke_data, manifest)
    c = manifest["chunks"][0]
    echo = store.ChunkReader(smoke_data).file(c["sequence"], c["chunk"])["echo"][0, 2]   # frame 0, device_2
    live = detections.DeviceDetector(manifest, manifest["devices"][2]["id"])(echo)
    np.testing.assert_allclose(live, features[detections.chunk_key(c["sequence"], c["chunk"])][0, 2], rtol=1e-5,
                               atol=1e-5)
