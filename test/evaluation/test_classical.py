"""disac_ros.evaluation.classical: the single-device and the classical multi-device fusion baselines at a center."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from disac_ros.data import store
from disac_ros.data.detections import CACHE_FILE, FIELDS, VERSION, chunk_key
from disac_ros.evaluation import classical as C
from disac_ros.sim.labels import normalization_spec, sensing_labels

REAL = Path(__file__).resolve().parents[2] / "data" / "default-3b4af389"
POSITIONS = np.array([[-20.0, -17.0, 9.0], [25.0, -8.0, 4.0], [9.0, 24.0, 7.0], [-27.0, 5.0, 13.0]])
FALLBACK = np.array([0.0, 0.0, 0.0])
RCS_DB = np.array([20.0, 10.0, 0.0])  # per class: car, dog, drone


# --- synthetic estimates ---------------------------------------------------------------------------------------

def device_estimates(points, velocities, detected, positions=POSITIONS, noise=0.0, rcs_db=None, rng=None):
    """Estimates [M, K, FIELDS] of world points [M, 3]: the exact labels (+ noise) where detected, else the fallback."""
    M, K = len(points), len(positions)
    rng = rng or np.random.default_rng(0)
    est = np.zeros((M, K, len(FIELDS)))
    for k in range(K):
        true = sensing_labels(positions[k], points, velocities)
        fall = sensing_labels(positions[k], FALLBACK, np.zeros(3))
        det = detected[:, k]
        get = {f: np.where(det, true[f] + noise * rng.normal(size=M), fall[f]) for f in
               ("distance", "azimuth", "pitch", "radial_velocity", "slant_range")}
        get["radial_velocity"] = np.where(det, get["radial_velocity"], 0.0)
        get["rcs_db"] = np.where(det, rcs_db if rcs_db is not None else 10.0, np.nan)
        get["detected"] = det.astype(float)
        get["peak_snr_db"] = np.where(det, 25.0, 5.0)
        for f, v in get.items():
            est[:, k, FIELDS.index(f)] = v
    return est


def samples(points, velocities, detected, class_id=None, noise=0.0, seed=0):
    M, K = len(points), len(POSITIONS)
    rng = np.random.default_rng(seed)
    class_id = np.zeros(M, dtype=np.int64) if class_id is None else class_id
    labels = np.stack([np.stack([sensing_labels(POSITIONS[k], points, velocities)[f] for f in store.LABEL_KEYS], -1)
                       for k in range(K)], axis=1)
    est = device_estimates(points, velocities, detected, noise=noise, rcs_db=RCS_DB[class_id] + rng.normal(size=M),
                           rng=rng)
    return C.SplitSamples(keys=[(0, 0, m, 0) for m in range(M)], sequence=np.zeros(M, dtype=np.int64), labels=labels,
                          blocked=~detected, est=est, class_id=class_id, positions=POSITIONS, fallback=FALLBACK,
                          device_ids=[f"device_{k}" for k in range(K)])


def random_targets(M, rng):
    points = np.stack([rng.uniform(-12, 12, M), rng.uniform(-12, 12, M), rng.uniform(0.3, 8, M)], axis=-1)
    velocities = np.stack([rng.uniform(-5, 5, M), rng.uniform(-5, 5, M), rng.uniform(-1, 1, M)], axis=-1)
    return points, velocities


def noisy_train(M=600, seed=1):
    rng = np.random.default_rng(seed)
    points, velocities = random_targets(M, rng)
    class_id = rng.integers(0, 3, M)
    return samples(points, velocities, rng.random((M, 4)) < 0.8, class_id, noise=0.05, seed=seed)


# --- the fusion's pieces ---------------------------------------------------------------------------------------

def test_two_identical_estimates_of_equal_variance_give_the_value_and_half_the_variance():
    fused, var = C.inverse_variance_fusion(np.array([[3.0, 3.0]]), np.array([0.4, 0.4]), np.array([[True, True]]))
    assert fused[0] == pytest.approx(3.0) and var[0] == pytest.approx(0.2)


def test_a_masked_device_has_no_influence_and_no_device_gives_nan():
    values = np.array([[1.0, 100.0, np.nan], [1.0, -7.0, 2.0], [5.0, 6.0, 7.0]])
    mask = np.array([[True, False, False], [True, False, True], [False, False, False]])
    fused, var = C.inverse_variance_fusion(values, np.array([1.0, 1e-6, 1.0]), mask)
    assert fused[:2] == pytest.approx([1.0, 1.5]) and var[:2] == pytest.approx([1.0, 0.5])
    assert math.isnan(fused[2]) and math.isnan(var[2])


def test_weights_favour_the_smaller_variance():
    fused, var = C.inverse_variance_fusion(np.array([[0.0, 10.0]]), np.array([[1.0, 4.0]]), np.array([[True, True]]))
    assert fused[0] == pytest.approx(2.0) and var[0] == pytest.approx(0.8)  # weights 1 and 1/4
    assert fused[0] < 5.0
    with pytest.raises(ValueError, match="positive"):
        C.inverse_variance_fusion(np.array([[0.0]]), np.array([0.0]), np.array([[True]]))


def test_azimuths_either_side_of_pi_fuse_on_the_circle():
    angles = np.array([[math.pi - 0.1, -math.pi + 0.1]])
    fused, var = C.wrapped_inverse_variance_fusion(angles, np.array([1.0, 1.0]), np.array([[True, True]]))
    assert abs(C.wrap(fused[0] - math.pi)) == pytest.approx(0.0, abs=1e-12) and var[0] == pytest.approx(0.5)
    fused, _ = C.wrapped_inverse_variance_fusion(angles, np.array([1.0, 3.0]), np.array([[True, True]]))
    assert C.wrap(fused[0] - (math.pi - 0.05)) == pytest.approx(0.0, abs=1e-12)


def test_velocity_least_squares_recovers_the_target_velocity_from_three_devices():
    rng = np.random.default_rng(3)
    point, u = np.array([2.0, -3.0, 1.5]), np.array([3.0, -1.0, 0.5])
    delta = point - POSITIONS[1:]
    r = delta / np.linalg.norm(delta, axis=-1, keepdims=True)
    v = r @ u
    got = C.velocity_least_squares(r[None], v[None], np.array([0.1, 1.0, 5.0]), np.ones((1, 3), bool))
    assert got[0] == pytest.approx(u, abs=1e-9)
    # one device only: the minimum-norm solution, the measured radial velocity along its line of sight
    one = C.velocity_least_squares(r[None], v[None], np.ones(3), np.array([[True, False, False]]))
    assert one[0] == pytest.approx(v[0] * r[0], abs=1e-12)
    # weights: an outlier on a device of large variance moves u less than on one of small variance
    noisy = v + np.array([0.0, 0.0, 1.0]) + 0.01 * rng.normal(size=3)
    four = np.vstack([r, [[0.0, 0.0, 1.0]]])
    values = np.append(noisy, u[2])[None]
    small = C.velocity_least_squares(four[None], values, np.array([1.0, 1.0, 0.01, 1.0]), np.ones((1, 4), bool))
    large = C.velocity_least_squares(four[None], values, np.array([1.0, 1.0, 100.0, 1.0]), np.ones((1, 4), bool))
    assert np.linalg.norm(large[0] - u) < np.linalg.norm(small[0] - u)
    assert C.velocity_least_squares(r[None], v[None], np.ones(3), np.zeros((1, 3), bool))[0].tolist() == [0, 0, 0]


def test_a_world_point_seen_by_two_devices_maps_to_the_exact_center_labels():
    rng = np.random.default_rng(4)
    points, velocities = random_targets(50, rng)
    detected = np.zeros((50, 4), bool)
    detected[:, [1, 2]] = True  # the center (device 0) sees nothing: its labels come from devices 1 and 2
    test = samples(points, velocities, detected)
    _, mapped = C.mapped_estimates(test, 0)
    assert mapped[:, 1] == pytest.approx(test.labels[:, 0, :3], abs=1e-9)
    assert mapped[:, 2] == pytest.approx(test.labels[:, 0, :3], abs=1e-9)
    p = C.multi_device_fusion(noisy_train(), test, 0)
    err = p.errors()
    assert np.abs(err[:, :3]).max() < 1e-9
    assert p.detected_by[:, [1, 2]].all() and not p.detected_by[:, [0, 3]].any() and p.center_blocked.all()
    # with three devices the target velocity is identified: the center's radial velocity is exact too
    detected[:, 3] = True
    p = C.multi_device_fusion(noisy_train(), samples(points, velocities, detected), 0)
    assert np.abs(p.errors()).max() < 1e-8


def test_fusion_beats_the_center_alone_when_the_center_is_blocked_and_falls_back_when_nobody_detects():
    rng = np.random.default_rng(5)
    M = 400
    points, velocities = random_targets(M, rng)
    class_id = rng.integers(0, 3, M)
    detected = rng.random((M, 4)) < 0.7
    detected[:20] = False  # nobody sees these
    test = samples(points, velocities, detected, class_id, noise=0.05, seed=6)
    train = noisy_train()
    single, fusion = C.single_device(train, test, 0), C.multi_device_fusion(train, test, 0)
    for p in (single, fusion):
        assert p.pred.shape == p.true.shape == (M, 4) and p.class_pred.shape == (M,)
        assert p.true == pytest.approx(test.labels[:, 0])
    fallback = sensing_labels(POSITIONS[0], FALLBACK, np.zeros(3))
    expected = [fallback["distance"], fallback["azimuth"], fallback["pitch"], 0.0]
    assert fusion.pred[:20] == pytest.approx(np.tile(expected, (20, 1)))
    assert single.pred[:20] == pytest.approx(np.tile(expected, (20, 1)))
    majority = np.bincount(train.class_id).argmax()
    assert (fusion.class_pred[:20] == majority).all()
    hidden = ~detected[:, 0] & detected[:, 1:].any(axis=1)
    rmse = lambda p, mask: np.sqrt(np.mean(p.errors()[mask] ** 2, axis=0))  # noqa: E731
    assert (rmse(fusion, hidden) < 0.5 * rmse(single, hidden)).all()
    both = detected[:, 0]
    assert (rmse(fusion, both)[:3] < 1.2 * rmse(single, both)[:3]).all()
    # the level classes separate by 10 dB: fusing the devices' log-likelihoods beats one device
    seen = detected.any(axis=1)
    assert np.mean(fusion.class_pred[seen] == class_id[seen]) > 0.95
    assert np.mean(fusion.class_pred[hidden] == class_id[hidden]) > np.mean(single.class_pred[hidden]
                                                                             == class_id[hidden])
    m = fusion.metrics()
    assert set(m) == {"all", "blocked", "line_of_sight"}
    assert m["all"]["samples"] == M and m["blocked"]["samples"] == int((~detected[:, 0]).sum())
    assert m["all"]["accuracy"] == pytest.approx(np.mean(fusion.class_pred == class_id))
    json.dumps(m)


def test_the_azimuth_error_is_wrapped():
    p = C.ClassicalPredictions(keys=[(0, 0, 0, 0)], sequence=np.zeros(1),
                               pred=np.array([[1.0, math.pi - 0.01, 0, 0]]),
                               true=np.array([[0.0, -math.pi + 0.01, 0, 1.0]]), class_pred=np.zeros(1),
                               class_id=np.zeros(1), center_blocked=np.zeros(1, bool),
                               detected_by=np.ones((1, 4), bool))
    assert p.errors()[0] == pytest.approx([1.0, -0.02, 0.0, -1.0])


# --- a tiny dataset directory: order and shape of the samples ---------------------------------------------------

def write_dataset(root: Path, seed: int = 7) -> dict:
    from disac_ros.config import load_scene

    cfg = load_scene()
    rng = np.random.default_rng(seed)
    positions = np.array([d.position for d in cfg.devices])
    K, N, F = len(cfg.devices), 3, 4
    splits = {"train": [0, 2, 3], "val": [4], "test": [1, 5]}
    chunks, estimates = [], {}
    for s in range(6):
        for ch in range(2 if s != 5 else 1):
            points, velocities = random_targets(F * N, rng)
            blocked = rng.random((F * N, K)) < 0.3
            labels = np.stack([np.stack([sensing_labels(positions[k], points, velocities)[f]
                                         for f in store.LABEL_KEYS], -1) for k in range(K)], axis=1)
            est = device_estimates(points, velocities, ~blocked, positions, noise=0.02,
                                   rcs_db=np.tile(RCS_DB, F) + rng.normal(size=F * N), rng=rng)
            frame = lambda a: a.reshape(F, N, *a.shape[1:])  # noqa: E731
            store.write_chunk(store.chunk_path(root, s, ch), {
                "labels": frame(labels).transpose(0, 2, 1, 3).astype(np.float32),
                "blocked": frame(blocked).transpose(0, 2, 1),
                "target_position": frame(points), "target_velocity": frame(velocities)}, {})
            estimates[chunk_key(s, ch)] = frame(est).transpose(0, 2, 1, 3)
            chunks.append({"sequence": s, "chunk": ch, "frames": F})
    manifest = {"format_version": store.FORMAT_VERSION, "config_digest": "synthetic", "dataset_digest": "synthetic",
                "seed": cfg.seed,
                "config": cfg.model_dump(mode="json"),
                "devices": [{"id": d.id, "position": list(d.position)} for d in cfg.devices],
                "targets": [{"id": n, "class_id": n} for n in range(N)], "splits": splits, "chunks": chunks,
                "normalization": normalization_spec(cfg.max_distance, cfg.velocity_bound),
                "cameras": {d.id: {"intrinsics": [[100.0, 0.0, 64.0], [0.0, 100.0, 64.0], [0.0, 0.0, 1.0]],
                                   "extrinsics": np.eye(4).tolist()} for d in cfg.devices}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    with open(root / CACHE_FILE, "wb") as f:
        np.savez(f, stamp=np.array(f"synthetic/v{VERSION}"), **estimates)
    return manifest


def check_against_the_center_dataset(root: Path, center: str, out: dict[str, C.ClassicalPredictions]):
    from disac_ros.data.datasets import DeviceTargetDataset
    from disac_ros.training.center import sample_keys

    ds = DeviceTargetDataset(root, "test", devices=[center])
    keys = sample_keys(ds)
    for p in out.values():
        M = len(keys)
        assert p.keys == keys and p.center == center
        assert p.pred.shape == p.true.shape == (M, 4) and p.errors().shape == (M, 4)
        assert p.class_pred.shape == p.class_id.shape == p.sequence.shape == p.center_blocked.shape == (M,)
        assert p.detected_by.shape == (M, len(ds.device_ids)) and p.detected_by.dtype == bool
        assert p.sequence.tolist() == [k[0] for k in keys]
        for i in np.linspace(0, M - 1, 7).astype(int):
            (s, c, frame), k, n = ds.index[i]
            f = ds.reader.file(s, c)
            assert p.true[i] == pytest.approx(f["labels"][frame, k, n], abs=1e-5)
            assert p.class_id[i] == ds.target_classes[n] and p.center_blocked[i] == bool(f["blocked"][frame, k, n])


def test_predictions_follow_the_samples_of_the_center_dataset(tmp_path):
    write_dataset(tmp_path)
    out = C.classical_baselines(tmp_path, "test", "device_1")
    check_against_the_center_dataset(tmp_path, "device_1", out)
    assert set(out) == {"single", "fusion"} and out["fusion"].method == "fusion"
    single = C.classical_predictions(tmp_path, "test", "device_1", "single")
    assert single.pred == pytest.approx(out["single"].pred)
    m_single, m_fusion = out["single"].metrics(), out["fusion"].metrics()
    assert m_fusion["blocked"]["distance"] < m_single["blocked"]["distance"]
    assert m_fusion["all"]["accuracy"] > 0.9
    with pytest.raises(ValueError, match="unknown center"):
        C.classical_predictions(tmp_path, "test", "device_9")
    with pytest.raises(ValueError, match="unknown methods"):
        C.classical_baselines(tmp_path, "test", "device_0", ("kalman",))


@pytest.mark.skipif(not (REAL / CACHE_FILE).exists(), reason="the default dataset or its detection cache is absent")
def test_on_the_default_dataset_fusion_recovers_what_the_blocked_center_misses():
    out = C.classical_baselines(REAL, "test", "device_0")
    check_against_the_center_dataset(REAL, "device_0", out)
    single, fusion = out["single"].metrics(), out["fusion"].metrics()
    probes = store.load_manifest(REAL)["probes"]
    on_probes = C.classical_baselines(REAL, probes.get("split", "test"), "device_0", ("single",))["single"].metrics()
    for subset in ("line_of_sight", "blocked", "all"):  # the single-device baseline is the probe's classical radar
        for key in store.LABEL_KEYS:
            assert on_probes[subset][key] == pytest.approx(probes["classical"]["device_0"][subset][key], rel=1e-9)
    for key in store.LABEL_KEYS:
        assert fusion["blocked"][key] < 0.6 * single["blocked"][key]
    assert fusion["blocked"]["accuracy"] > single["blocked"]["accuracy"]


def test_the_fusion_maps_with_the_surveyed_poses(tmp_path):
    """The baselines read the poses the system knows: SplitSamples.positions are the surveyed ones, and a device's
    estimate is taken to the center's labels from them (labels stay in the true frame)."""
    manifest = write_dataset(tmp_path)
    scene = store.scene_config(manifest)
    test = C.load_split(tmp_path, "test", manifest)
    known = np.array([d.position for d in scene.surveyed().devices])
    true = np.array([d.position for d in scene.devices])
    np.testing.assert_allclose(test.positions, known)
    assert np.abs(test.positions - true).max() > 0.05
    _, mapped = C.mapped_estimates(test, 0)
    points = np.stack([C.world_points(test.est[:, k], known[k]) for k in range(len(known))], axis=1)
    np.testing.assert_allclose(mapped, C.center_labels(points, known[0]))
