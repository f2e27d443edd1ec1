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


def _manifest(cfg, extrinsics):
    from disac_ros.sim.labels import normalization_spec

    return {"config": cfg.model_dump(mode="json"),
            "normalization": normalization_spec(cfg.max_distance, cfg.velocity_bound),
            "cameras": {d.id: {"intrinsics": K.tolist(), "extrinsics": extrinsics[d.id].tolist()}
                        for d in cfg.devices}}


def _look_extrinsics(position, lookat):
    """World -> camera [4, 4] of a camera at ``position`` looking at ``lookat`` (OpenCV axes)."""
    forward = np.subtract(lookat, position) / np.linalg.norm(np.subtract(lookat, position))
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    rot = np.stack([right, np.cross(forward, right), forward])
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = rot, -rot @ np.asarray(position)
    return out


def test_a_device_reports_its_detection_in_its_surveyed_frame_and_cues_its_camera_through_the_rig():
    """The world point of the detection vector is the array-frame measurement placed at the surveyed pose (off the
    true point by the survey error); the camera cue is the true point's projection (the rig is exact)."""
    from disac_ros.config import load_scene
    from disac_ros.sim import radar

    cfg = load_scene(overrides={"radar": {"num_chirps": 8, "chirp_interval": 500e-6}, "clutter": {"model": "none"},
                                "survey": {"position_sigma_m": 1.0, "heading_sigma_deg": 3.0}})
    k = 1
    true_pose, known = detections.device_pose(cfg, k, known=False), detections.device_pose(cfg, k)
    assert np.linalg.norm(known.position - true_pose.position) > 0.1
    extrinsics = {d.id: _look_extrinsics(d.position, d.lookat) for d in cfg.devices}
    target = true_pose.position + 25.0 * true_pose.rotation[0] + np.array([0.0, 0.0, -2.0])
    slant, az, pitch, off = true_pose.local(target[None])
    echo = radar.synthesize_echo(cfg.radar, float(slant[0]), float(az[0]), float(pitch[0]), 4.0, 100.0,
                                 np.random.default_rng(0), off_boresight=float(off[0]))   # moving: through the MTI
    feat = detections.DeviceDetector(_manifest(cfg, extrinsics), cfg.devices[k].id)(echo[None])[0]
    assert feat[0] == 1.0
    half = 0.5 * np.asarray(cfg.world.size)
    point = np.array([feat[2] * half[0] / 2, feat[3] * half[1] / 2, feat[4] * detections.HEIGHT_SCALE_M])
    expected = known.to_world(slant, az, pitch)[0]
    np.testing.assert_allclose(point, expected, atol=0.3)          # the estimator's error at this SNR: < 0.3 m
    assert np.linalg.norm(point - target) > 0.5                    # off the truth by the survey error
    np.testing.assert_allclose(feat[detections.CUE], detections.project(target[None], K, extrinsics[cfg.devices[k].id],
                                                                        (cfg.camera.width, cfg.camera.height))[0],
                               atol=0.02)
