"""disac_ros.data.generate: dataset generation on the smoke preset: labels, determinism, resume, splits."""
from __future__ import annotations

import numpy as np
import pytest

from disac_ros.config import load_scene
from disac_ros.data import store
from disac_ros.data.generate import Generator, split_sequences
from disac_ros.sim.labels import sensing_labels

pytestmark = pytest.mark.slow


@pytest.fixture
def scene(smoke_scene):
    return smoke_scene


def _read_all(root):
    import h5py

    manifest = store.load_manifest(root)
    out = {}
    for c in manifest["chunks"]:
        with h5py.File(root / c["path"]) as f:
            out[c["path"]] = {k: f[k][()] for k in f}
    return out


def test_manifest_counts_and_checksums(cfg, dataset):
    m = store.load_manifest(dataset)
    frames = cfg.dataset.sequences * cfg.dataset.frames_per_sequence
    assert m["counts"]["frames"] == frames
    assert m["counts"]["device_target_samples"] == frames * len(cfg.devices) * len(cfg.targets)
    assert sum(m["class_balance"].values()) == frames * len(cfg.devices) * len(cfg.targets)
    for c in m["chunks"]:
        assert store.sha256_file(dataset / c["path"]) == c["sha256"]
    assert not list(dataset.rglob("*.partial")), "no temporary files may remain"


def test_stored_labels_match_equations(cfg, dataset):
    dev = np.array([d.position for d in cfg.devices])[None, :, None, :]
    for arrays in _read_all(dataset).values():
        lab = sensing_labels(dev, arrays["target_position"][:, None], arrays["target_velocity"][:, None])
        expected = np.stack([lab[k] for k in store.LABEL_KEYS], axis=-1)
        np.testing.assert_allclose(arrays["labels"], expected, rtol=1e-5, atol=1e-5)
        # Eq. (55) by hand for one entry: horizontal distance from device 0 to target 0 in frame 0.
        p, d = arrays["target_position"][0, 0], np.array(cfg.devices[0].position)
        assert arrays["labels"][0, 0, 0, 0] == pytest.approx(np.hypot(*(p - d)[:2]), rel=1e-5)


def test_echo_crop_and_thumbnail_shapes(cfg, dataset):
    from disac_ros.data.crops import CROP_PX, THUMBNAIL_WIDTH

    r = cfg.radar
    arrays = next(iter(_read_all(dataset).values()))
    F, D, N = arrays["time"].shape[0], len(cfg.devices), len(cfg.targets)
    assert cfg.camera.crop and "image" not in arrays        # what training needs: the crops, and thumbnails
    assert arrays["crop"].shape == (F, D, N, CROP_PX, CROP_PX, 3) and arrays["crop"].max() > 0
    assert arrays["thumbnail"].shape == (F, D, round(cfg.camera.height * THUMBNAIL_WIDTH / cfg.camera.width),
                                         THUMBNAIL_WIDTH, 3)
    assert arrays["echo"].shape == (F, D, N, r.num_chirps, r.num_antennas, r.num_samples)
    assert arrays["echo"].dtype == np.complex64


def test_same_seed_same_data_and_resume_equals_uninterrupted(cfg, scene, dataset, tmp_path, monkeypatch):
    calls = {"n": 0}
    real_write = store.write_chunk

    def dying_write(path, arrays, attrs):
        calls["n"] += 1
        if calls["n"] == 2:  # killed while writing the second chunk: a temporary file is left behind
            path.parent.mkdir(parents=True, exist_ok=True)
            path.with_name(f".{path.name}.partial").write_bytes(b"half a chunk")
            raise KeyboardInterrupt
        real_write(path, arrays, attrs)

    monkeypatch.setattr(store, "write_chunk", dying_write)
    with pytest.raises(KeyboardInterrupt):
        Generator(cfg, tmp_path, scene=scene).run(progress=False)
    assert not (tmp_path / "manifest.json").exists(), "an interrupted run must not look complete"
    monkeypatch.setattr(store, "write_chunk", real_write)
    Generator(cfg, tmp_path, scene=scene).run(progress=False)
    a, b = _read_all(dataset), _read_all(tmp_path)
    assert a.keys() == b.keys()
    for path in a:
        for key in a[path]:
            np.testing.assert_array_equal(a[path][key], b[path][key], err_msg=f"{path}:{key}")


def test_two_worker_processes_write_the_same_data(cfg, dataset, tmp_path):
    """disac generate --workers 2: two spawned processes, a Genesis scene each, share the chunks; every array of
    every chunk equals the one-process dataset's, and the driver writes the same manifest (calibration included)."""
    out = Generator(cfg, tmp_path / "two", workers=2).run(progress=False)
    a, b = _read_all(dataset), _read_all(tmp_path / "two")
    assert a.keys() == b.keys()
    for path in a:
        for key in a[path]:
            np.testing.assert_array_equal(a[path][key], b[path][key], err_msg=f"{path}:{key}")
    one = store.load_manifest(dataset)
    assert out["cameras"] == one["cameras"] and out["chunks"] == one["chunks"]
    with pytest.raises(ValueError, match="workers"):
        Generator(cfg, tmp_path / "none", workers=0)


def test_corrupt_chunk_is_detected_and_regenerated(cfg, scene, dataset, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    victim = copy / store.load_manifest(copy)["chunks"][1]["path"]
    victim.write_bytes(victim.read_bytes()[:1000])  # truncated, as by a full disk
    gen = Generator(cfg, copy, scene=scene)
    assert gen.missing_chunks() == [(0, 1)]
    assert not (copy / "manifest.json").exists(), "an incomplete directory must not keep a manifest"
    gen.run(progress=False)
    assert victim.read_bytes() == (dataset / victim.relative_to(copy)).read_bytes()


def test_splits_are_by_sequence():
    s = split_sequences(10, (0.6, 0.2, 0.2), seed=3)
    assert sorted(s["train"] + s["val"] + s["test"]) == list(range(10))
    assert len(s["val"]) == 2 and len(s["test"]) == 2
    assert split_sequences(10, (0.6, 0.2, 0.2), seed=3) == s


def test_a_target_behind_a_building_leaves_noise_and_one_in_the_open_the_expected_snr():
    """frame_sensing end to end: geometry (sim/blockage), radar physics (sim/radar) and the classical estimator.

    Stationary targets in a world of noise only (no clutter, the known-noise detector): the radar equation's SNR.
    test/sim/test_clutter.py covers the echoes with clutter and the MTI + CFAR detector.
    """
    import numpy as np

    from disac_ros.config import load_scene
    from disac_ros.data.generate import frame_sensing
    from disac_ros.sim.estimators import DETECTION_THRESHOLD_DB, classical_estimates
    from disac_ros.sim.radar import ArrayPose, aspect_rcs, radar_budget

    cfg = load_scene(preset="default", overrides={
        "clutter": {"model": "none"},
        "devices": [{"id": "device_0", "position": [-20.0, 0.0, 2.0], "lookat": [0.0, 0.0, 1.0]}],
        "obstacles": [{"type": "building", "position": [0.0, 0.0], "size": [4.0, 4.0, 10.0]}],
        "targets": [{"type": "car", "speed": 0.0, "swerling": 0}, {"type": "dog", "speed": 0.0, "swerling": 0},
                    {"type": "drone", "speed": 0.0, "swerling": 0, "altitude": 3.0}]})
    positions = np.array([[10.0, 0.0, 0.75], [-5.0, 10.0, 0.3], [-8.0, -9.0, 3.0]])  # car behind the building
    yaws = np.array([0.3, 1.0, -2.0])
    sizes = np.array([[4.2, 1.8, 1.5], [0.9, 0.42, 0.55], [0.8, 0.87, 0.26]])
    sensed = frame_sensing(cfg, positions, np.zeros((3, 3)), yaws, sizes, np.random.default_rng(0))
    assert sensed.blocked[0].tolist() == [True, False, False] and sensed.building[0, 0]
    assert sensed.loss_db[0, 0] >= 2 * cfg.propagation.building_loss_db and sensed.loss_db[0, 1:].max() == 0
    pose = ArrayPose.from_device(cfg.devices[0].position, cfg.devices[0].lookat, cfg.radar.boresight)
    est = classical_estimates(sensed.echoes[0], cfg.radar, pose, np.zeros(3), detector="fixed")
    assert not est["detected"][0] and est["peak_snr_db"][0] < DETECTION_THRESHOLD_DB
    slant, _, _, psi = pose.local(positions)
    for n in (1, 2):  # in the open: the radar equation's SNR
        los = positions[n, :2] - np.array(cfg.devices[0].position[:2])
        rcs = aspect_rcs(cfg.targets[n].radar_cross_section, cfg.targets[n].aspect_ratio_db,
                         yaws[n] - np.arctan2(los[1], los[0]))
        expected = radar_budget(cfg.radar, slant[n], rcs, off_boresight=psi[n])["integrated_snr_db"]
        assert est["detected"][n] and abs(est["peak_snr_db"][n] - expected) < 1.5, (n, est["peak_snr_db"][n], expected)


def test_the_manifest_names_the_world_the_dataset_and_the_seed(cfg, dataset):
    manifest = store.load_manifest(dataset)
    assert store.dataset_identity(manifest) == {"config_digest": cfg.digest(), "dataset_digest": cfg.dataset_digest(),
                                                "seed": cfg.seed}
    assert manifest["sampling"] == cfg.sampling()


def test_another_seed_or_layout_cannot_resume_into_the_directory_and_both_digests_are_named(cfg, dataset):
    moved = [d.model_dump(mode="json") for d in cfg.devices]
    moved[0]["position"] = [moved[0]["position"][0] + 1.0, *moved[0]["position"][1:]]
    for other in (load_scene(preset="smoke", overrides={"seed": cfg.seed + 1}),
                  load_scene(preset="smoke", overrides={"devices": moved})):
        with pytest.raises(ValueError, match="another config") as err:
            Generator(other, dataset).run(progress=False)
        assert cfg.dataset_digest() in str(err.value) and other.dataset_digest() in str(err.value)


def test_zero_fractions_leave_splits_empty_and_evaluation_data_is_all_test():
    assert split_sequences(24, (0.0, 0.0, 1.0), seed=4242) == {"train": [], "val": [], "test": list(range(24))}
    assert split_sequences(2, (0.0, 0.0, 1.0), seed=1)["test"] == [0, 1]
    s = split_sequences(10, (0.8, 0.0, 0.2), seed=3)
    assert (len(s["train"]), len(s["val"]), len(s["test"])) == (8, 0, 2)
