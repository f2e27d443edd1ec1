"""disac_ros.data.camera_probe: the camera-only classifier (HOG + logistic regression) of the probes."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from disac_ros.data.camera_probe import LogisticRegression, camera_probe, hog_features

S = 64


def synthetic_crops(n: int, seed: int, shapes: bool = True, size: int = S) -> tuple[np.ndarray, np.ndarray]:
    """Crops [n, size, size, 3] uint8 of 3 classes (0 horizontal bar, 1 vertical bar, 2 filled disc) and labels.

    Each on a random background colour with a random gradient and pixel noise, the shape at a random position,
    brighter or darker than the background. Without ``shapes``: the backgrounds only (the labels say nothing).
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    rows, cols = np.mgrid[0:size, 0:size]
    crops = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        bg = rng.uniform(40, 215, 3)
        slope = rng.normal(0, 0.3, 2)
        img = bg + (slope[0] * (rows - size / 2) + slope[1] * (cols - size / 2))[..., None]
        if shapes:
            cy, cx = rng.uniform(0.3 * size, 0.7 * size, 2)
            long, short = rng.uniform(0.4, 0.6) * size / 2, rng.uniform(0.06, 0.1) * size / 2
            if y[i] == 0:
                mask = (np.abs(rows - cy) < short) & (np.abs(cols - cx) < long)
            elif y[i] == 1:
                mask = (np.abs(rows - cy) < long) & (np.abs(cols - cx) < short)
            else:
                mask = (rows - cy) ** 2 + (cols - cx) ** 2 < (rng.uniform(0.2, 0.3) * size) ** 2
            contrast = rng.uniform(50, 100) * rng.choice([-1, 1])
            img[mask] += contrast
        img += rng.normal(0, 12, img.shape)
        crops[i] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return crops, y


def fog(crops: np.ndarray, seed: int, keep: float = 0.05, grey: float = 128.0, noise: float = 3.0) -> np.ndarray:
    """Crops blended towards a constant grey (``1 - keep`` of grey), the camera's noise added, quantised to 8 bits.

    The noise is the sensor's (fog attenuates the scene, not the camera's own noise): without it HOG, whose blocks
    are normalised, still reads a shape of 3 to 5 grey levels of contrast (about 99 % here, as in clear weather).
    """
    rng = np.random.default_rng(seed)
    hazy = (1 - keep) * grey + keep * crops.astype(float) + rng.normal(0, noise, crops.shape)
    return np.clip(np.rint(hazy), 0, 255).astype(np.uint8)


def test_hog_features_shape_dtype_determinism_and_other_sizes():
    crops, _ = synthetic_crops(5, seed=0)
    f = hog_features(crops)
    assert f.dtype == np.float32 and f.shape == (5, 9 * 4 * 7 * 7 + 24 + 2)
    assert np.array_equal(f, hog_features(crops))
    assert np.allclose(f[:, -26:-2].sum(axis=1), 1.0)  # the colour histogram
    for size in (32, 40, 100):
        g = hog_features(synthetic_crops(2, seed=1, size=size)[0])
        assert g.shape[0] == 2 and np.isfinite(g).all()
    with pytest.raises(ValueError, match="RGB"):
        hog_features(crops[..., 0])


def test_shapes_are_classified_on_held_out_crops():
    train, train_y = synthetic_crops(600, seed=1)
    val, val_y = synthetic_crops(300, seed=2)
    out = camera_probe(train, train_y, val, val_y)
    assert out["samples"] == 300 and out["per_group"] == {}
    assert out["accuracy"] > 0.9, out


def test_backgrounds_alone_stay_near_chance():
    train, train_y = synthetic_crops(600, seed=3, shapes=False)
    val, val_y = synthetic_crops(600, seed=4, shapes=False)
    out = camera_probe(train, train_y, val, val_y)
    assert out["accuracy"] < 0.5, out


def test_fog_lowers_its_groups_accuracy_and_groups_are_counted():
    train, train_y = synthetic_crops(600, seed=5)
    val, val_y = synthetic_crops(400, seed=6)
    train[::2] = fog(train[::2], seed=7)  # half of train and 150 of the 400 val crops in fog
    foggy = np.zeros(len(val), bool)
    foggy[:150] = True
    val[foggy] = fog(val[foggy], seed=8)
    groups = np.where(foggy, "fog", "clear")
    out = camera_probe(train, train_y, val, val_y, val_groups=groups)
    json.dumps(out)
    assert set(out["per_group"]) == {"clear", "fog"}
    assert out["per_group"]["fog"]["samples"] == 150 and out["per_group"]["clear"]["samples"] == 250
    assert out["per_group"]["clear"]["accuracy"] > 0.85, out
    assert out["per_group"]["fog"]["accuracy"] < out["per_group"]["clear"]["accuracy"] - 0.2, out
    weighted = sum(g["samples"] * g["accuracy"] for g in out["per_group"].values()) / out["samples"]
    assert out["accuracy"] == pytest.approx(weighted)


def test_logistic_regression_labels_probabilities_and_determinism():
    rng = np.random.default_rng(7)
    y = rng.choice([3, 7], 400)
    x = rng.normal(size=(400, 5)) * [1, 10, 0.1, 1, 1] + 100
    x[:, 0] += np.where(y == 7, 2.0, -2.0)
    x[:, 4] = 5.0  # a constant feature: the floored std
    a = LogisticRegression().fit(x, y)
    assert a.classes.tolist() == [3, 7]
    pred = a.predict(x)
    assert set(np.unique(pred)) <= {3, 7} and np.mean(pred == y) > 0.95
    p = a.predict_proba(x)
    assert p.shape == (400, 2) and np.allclose(p.sum(axis=1), 1.0) and (p >= 0).all()
    threads = torch.get_num_threads()
    b = LogisticRegression().fit(x, y)
    assert torch.get_num_threads() == threads  # the fit's one thread is given back
    assert np.array_equal(b.predict(x), pred) and np.array_equal(b.predict_proba(x), p)
    # A stronger penalty (smaller C) shrinks the weights.
    assert np.abs(LogisticRegression(C=0.01).fit(x, y).coef).sum() < np.abs(a.coef).sum()
    with pytest.raises(ValueError, match="2 classes"):
        LogisticRegression().fit(x, np.full(400, 3))


def test_value_errors_on_mismatched_shapes_and_one_class():
    crops, y = synthetic_crops(12, seed=8)
    y[:6], y[6:] = 0, 1
    with pytest.raises(ValueError, match="train_y"):
        camera_probe(crops, y[:-1], crops, y)
    with pytest.raises(ValueError, match="val_y"):
        camera_probe(crops, y, crops[:-1], y)
    with pytest.raises(ValueError, match="val_groups"):
        camera_probe(crops, y, crops, y, val_groups=np.array(["clear"] * 5))
    with pytest.raises(ValueError, match="differ in size"):
        camera_probe(crops, y, crops[:, :40, :40], y)
    with pytest.raises(ValueError, match="RGB"):
        camera_probe(crops[..., :2], y, crops, y)
    with pytest.raises(ValueError, match="2 classes"):
        camera_probe(crops, np.zeros(12, int), crops, y)
    with pytest.raises(ValueError, match="2 classes"):
        LogisticRegression().fit(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="but y has 4"):
        LogisticRegression().fit(np.zeros((3, 2)), np.arange(4))
