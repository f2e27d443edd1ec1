"""The classical baselines at an aggregation center: one device's radar alone, and the classical multi-device fusion.

Both are scored on the samples the learned schemes are scored on: one sample per (sequence, chunk, frame, target) of
a split, frame-major then target, exactly the order of ``DeviceTargetDataset(root, split, devices=[center])`` and
:func:`disac_ros.training.center.sample_keys`; the truth is the center's labels (distance, azimuth, pitch, radial
velocity, SI, Eqs. 55-58 of ``sim/labels.py`` from the center's position) and the target's class. Every device's
radar estimate is the frozen classical baseline of ``sim/estimators.py``, read from the dataset's detection cache
(:func:`disac_ros.data.detections.dataset_estimates`); nothing below looks at a label of the split it predicts, and
everything fitted (variances, classifiers, the majority class) is fitted on the TRAIN split.

**Single device** (:func:`single_device`). The center's own classical estimate is the prediction of the four labels
(when it detects nothing, the frozen rule: the region's centre at ground level, radial velocity 0). The class comes
from a level classifier of the center's radar, fitted on the train samples the center detected: quadratic
discriminant analysis (:class:`disac_ros.data.probes.GaussianClassifier`, one Gaussian per class, equal priors) on
(RCS estimate [dB], slant range [m], height z [m] of the estimated world point). An undetected sample carries no
level evidence; it gets the class most frequent among the center's undetected train samples (the train prior given
"not detected"), or the train majority class when the center detected every train sample.

**Classical multi-device fusion** (:func:`multi_device_fusion`). Every device k that detected the target maps its
estimate to a world point q_k (inverting Eqs. 55-57 at its own position, :func:`disac_ros.data.detections.
world_points`) and q_k to the center's labels (distance, azimuth, pitch by ``sim/labels.sensing_labels`` from the
center's position; the center's own estimate maps to itself). Every position and heading here is the surveyed one
the system knows (``SceneConfig.surveyed``, ``SplitSamples.positions``); the truth stays in the center's true
frame. Per label, the mapped values are fused by inverse
variance (:func:`inverse_variance_fusion`): x^ = sum_k w_k x_k / sum_k w_k, w_k = 1 / sigma_k^2, over the detecting
devices. sigma_k^2 (per device and label) is the mean squared error of device k's mapped estimate against the
center's true labels on the train samples device k detected (azimuth errors wrapped to (-pi, pi]); it therefore
includes the device's bias and its outliers (false alarms, mirror images, detections through a blocked path).
Azimuth is fused as wrapped deviations around a reference, the mapped azimuth of the detecting device of the
smallest variance (:func:`wrapped_inverse_variance_fusion`), so values either side of +-pi average correctly.
Radial velocity: a device measures only the projection of the target velocity u on its own line of sight,
v_k = u . r_k with r_k the unit vector from device k to the fused point q^ (the point at the fused distance,
azimuth and pitch from the center). u is solved by weighted least squares over the detecting devices (the center
included, whose equation is simply its own measured radial velocity), rows and right-hand sides scaled by
1 / sigma_k (sigma_k^2: the mean squared error of device k's radial velocity against its own true radial velocity on
its detected train samples), minimum-norm when fewer than three independent directions are seen (``np.linalg.
lstsq``; one device alone gives u = v_k r_k); the center's radial velocity is then u . r_c, r_c the unit vector from
the center to q^. Class: the sum over the detecting devices of each device's QDA log-likelihood of its own level
features (the classifier of the single-device baseline, fitted per device on its detected train samples), equal
class priors; a class a device never detected in training has no Gaussian there and that device abstains for it
(its log-likelihood is the lowest of its modelled classes). When no device detected the target, the frozen
fallback: the region point as seen by the center, radial velocity 0, and the train split's majority class.

Why this is maximum likelihood. If device k's mapped estimate is x_k = x + e_k with independent zero-mean Gaussian
errors e_k ~ N(0, sigma_k^2), the likelihood of x is prod_k exp(-(x_k - x)^2 / (2 sigma_k^2)); its logarithm is,
up to a constant, -sum_k (x_k - x)^2 / (2 sigma_k^2), a quadratic in x maximised where its derivative
sum_k (x_k - x) / sigma_k^2 vanishes, i.e. at the inverse-variance mean, whose variance 1 / sum_k sigma_k^-2 is the
Cramer-Rao bound (the inverse Fisher information) of the model. For angles the same holds for the wrapped
deviations as long as the errors are small against pi (a von Mises likelihood of high concentration is Gaussian).
Likewise v_k = u . r_k + e_k with independent e_k ~ N(0, sigma_k^2) makes -sum_k (v_k - u . r_k)^2 / (2 sigma_k^2)
the log-likelihood of u, maximised by the weighted least-squares solution (minimum-norm where u is not identified),
and the classes' posterior under independent devices and equal priors is proportional to the product of the
devices' class-conditional Gaussian densities, so the sum of their log-likelihoods picks the MAP (= ML) class.
The baseline is simplified where the assumptions fail: errors of one device's distance, azimuth and pitch are
correlated (they come from one world point) but fused per label with diagonal variances; a device's variance is a
constant, not a function of the target's range or aspect; heavy-tailed outliers enter as a large variance, not as a
mixture; the fusion is per frame (no tracking).

Entry points: :func:`classical_predictions` (one method) and :func:`classical_baselines` (both, one read of the
data); both return :class:`ClassicalPredictions`, whose :meth:`~ClassicalPredictions.metrics` gives accuracy and
RMSE per label overall, on center-blocked and on line-of-sight samples.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from disac_ros.data import store
from disac_ros.data.detections import FIELDS, chunk_key, dataset_estimates, region_point, world_points
from disac_ros.data.probes import GaussianClassifier, rmse_table
from disac_ros.evaluation.samples import Scored
from disac_ros.sim.labels import label_errors, sensing_labels
from disac_ros.sim.labels import wrap_angle as wrap

METHODS = ("single", "fusion")
_F = {f: i for i, f in enumerate(FIELDS)}
_LEVEL_DIM = 3  # (RCS dB, slant range, height z)


@dataclass
class SplitSamples:
    """Every device's view of the samples of one split (M samples, K devices, frame-major then target).

    ``labels`` [M, K, 4] SI (device k's true labels), ``blocked`` [M, K] bool, ``est`` [M, K, len(FIELDS)] the
    cached classical estimates, ``class_id`` [M], ``sequence`` [M], ``positions`` [K, 3] the surveyed device
    positions, ``fallback`` [3] the frozen world point of an undetected target, ``device_ids`` [K].
    """

    keys: list[tuple[int, int, int, int]]
    sequence: np.ndarray
    labels: np.ndarray
    blocked: np.ndarray
    est: np.ndarray
    class_id: np.ndarray
    positions: np.ndarray
    fallback: np.ndarray
    device_ids: list[str]

    @property
    def detected(self) -> np.ndarray:
        """[M, K] bool: device k's classical estimator detected the target."""
        return self.est[..., _F["detected"]] > 0.5


@dataclass
class ClassicalPredictions:
    """A classical baseline's predictions at the center, one row per sample (see the module docstring)."""

    keys: list[tuple[int, int, int, int]]
    sequence: np.ndarray        # [M]
    pred: np.ndarray            # [M, 4] SI, store.LABEL_KEYS order
    true: np.ndarray            # [M, 4] SI, the center's labels
    class_pred: np.ndarray      # [M]
    class_id: np.ndarray        # [M]
    center_blocked: np.ndarray  # [M] bool
    detected_by: np.ndarray     # [M, K] bool
    method: str = ""
    center: str = ""

    def errors(self) -> np.ndarray:
        """The errors pred - true [M, 4], the azimuth error wrapped to [-pi, pi)."""
        return label_errors(self.pred, self.true)

    def scored(self) -> Scored:
        """The per-sample outcome the report's intervals and paired rows are computed from."""
        return Scored(keys=np.asarray(self.keys), pred=self.pred, true=self.true, pred_class=self.class_pred,
                      class_id=self.class_id, blocked=self.center_blocked)

    def metrics(self) -> dict[str, dict[str, float | int]]:
        """{"all" | "blocked" | "line_of_sight": {samples, accuracy, RMSE per label (SI)}}; JSON-serialisable."""
        err, correct = self.errors(), self.class_pred == self.class_id
        out = {}
        for name, mask in (("all", np.ones(len(err), bool)), ("blocked", self.center_blocked),
                           ("line_of_sight", ~self.center_blocked)):
            table = rmse_table(err, mask)
            table["accuracy"] = float(correct[mask].mean()) if mask.any() else math.nan
            out[name] = table
        return out


def inverse_variance_fusion(values: np.ndarray, variances: np.ndarray,
                            mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-variance mean of K estimates per sample: values [M, K], variances [K] or [M, K], mask [M, K] bool.

    Returns (fused [M], variance of the fused value 1 / sum_k 1/sigma_k^2 [M]); NaN where no device is in the mask
    (or every masked device has an infinite variance). Values outside the mask may be NaN and have no influence.
    """
    values = np.asarray(values, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    var = np.broadcast_to(np.asarray(variances, dtype=np.float64), values.shape)
    if np.any(mask & ~(var > 0)):
        raise ValueError("inverse_variance_fusion: every masked variance must be positive")
    with np.errstate(divide="ignore"):
        weight = np.where(mask, 1.0 / var, 0.0)
    total = weight.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fused = np.sum(weight * np.where(mask, values, 0.0), axis=-1) / total
        variance = 1.0 / total
    none = total <= 0
    return np.where(none, np.nan, fused), np.where(none, np.nan, variance)


def wrapped_inverse_variance_fusion(angles: np.ndarray, variances: np.ndarray,
                                    mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`inverse_variance_fusion` of angles [M, K] as wrapped deviations around a reference; [-pi, pi).

    The reference of a sample is the angle of its masked device of the smallest variance.
    """
    angles = np.asarray(angles, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    var = np.broadcast_to(np.asarray(variances, dtype=np.float64), angles.shape)
    ref_idx = np.argmin(np.where(mask, var, np.inf), axis=-1)
    ref = np.take_along_axis(np.where(mask, angles, 0.0), ref_idx[..., None], axis=-1)
    deviation, variance = inverse_variance_fusion(wrap(angles - ref), var, mask)
    return wrap(ref[..., 0] + deviation), variance


def velocity_least_squares(directions: np.ndarray, radial: np.ndarray, variances: np.ndarray,
                           mask: np.ndarray) -> np.ndarray:
    """Target velocity u [M, 3] from radial velocities v_k = u . r_k, by weighted minimum-norm least squares.

    ``directions`` [M, K, 3] unit vectors r_k (device k to target), ``radial`` [M, K], ``variances`` [K] or [M, K]
    (rows weighted by 1 / sigma_k), ``mask`` [M, K]; u is 0 where no device is in the mask.
    """
    directions = np.asarray(directions, dtype=np.float64)
    radial = np.asarray(radial, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    var = np.broadcast_to(np.asarray(variances, dtype=np.float64), radial.shape)
    with np.errstate(divide="ignore"):
        scale = np.where(mask & (var > 0), 1.0 / np.sqrt(var), 0.0)
    u = np.zeros((len(radial), 3))
    for m in np.flatnonzero((scale > 0).any(axis=-1)):
        rows = scale[m] > 0
        a = directions[m, rows] * scale[m, rows, None]
        u[m] = np.linalg.lstsq(a, radial[m, rows] * scale[m, rows], rcond=None)[0]
    return u


def center_labels(points: np.ndarray, center_position: np.ndarray) -> np.ndarray:
    """(distance, azimuth, pitch) [..., 3] of world points [..., 3] as seen from ``center_position`` (Eqs. 55-57)."""
    lab = sensing_labels(center_position, points, np.zeros_like(points))
    return np.stack([lab["distance"], lab["azimuth"], lab["pitch"]], axis=-1)


def mapped_estimates(samples: SplitSamples, center: int) -> tuple[np.ndarray, np.ndarray]:
    """Every device's estimate as a world point [M, K, 3] and as the center's (distance, azimuth, pitch) [M, K, 3]."""
    points = np.stack([world_points(samples.est[:, k], samples.positions[k]) for k in range(len(samples.positions))],
                      axis=1)
    return points, center_labels(points, samples.positions[center])


def mapped_variances(samples: SplitSamples, center: int) -> np.ndarray:
    """Each device's error variances [K, 4] on ``samples`` (the train split), inf where it detected nothing.

    The mean squared error of its mapped (distance, azimuth, pitch) against the center's labels (azimuth wrapped) and
    of its radial velocity against its own label, on the samples it detected.
    """
    _, mapped = mapped_estimates(samples, center)
    det = samples.detected
    err = mapped - samples.labels[:, center, None, :3]
    err[..., 1] = wrap(err[..., 1])
    vel = samples.est[..., _F["radial_velocity"]] - samples.labels[..., 3]
    sq = np.concatenate([err ** 2, vel[..., None] ** 2], axis=-1)               # [M, K, 4]
    count = det.sum(axis=0)                                                      # [K]
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(det[..., None], sq, 0.0).sum(axis=0) / count[:, None]
    var = np.where(count[:, None] > 0, var, np.inf)
    return np.maximum(var, 1e-12)


def level_features(est: np.ndarray, position: np.ndarray) -> np.ndarray:
    """(RCS estimate [dB], slant range [m], height z [m] of the estimated world point) [M, 3] of one device."""
    return np.stack([est[:, _F["rcs_db"]], est[:, _F["slant_range"]], world_points(est, position)[:, 2]], axis=-1)


class LevelClassifier:
    """One device's QDA on :func:`level_features` of its detected samples, over a fixed list of classes.

    A class with fewer than 5 detected training samples has no Gaussian: its log-likelihood is that of the least
    likely modelled class (the device abstains on it).
    """

    def __init__(self, classes: np.ndarray):
        self.classes = np.asarray(classes)

    def fit(self, x: np.ndarray, y: np.ndarray) -> LevelClassifier:
        counts = np.array([np.sum(y == c) for c in self.classes])
        self.modelled = counts >= _LEVEL_DIM + 2
        keep = np.isin(y, self.classes[self.modelled])
        self.qda = GaussianClassifier().fit(x[keep], y[keep]) if self.modelled.any() else None
        return self

    def log_likelihood(self, x: np.ndarray) -> np.ndarray:
        """[M, len(classes)] Gaussian log-densities (up to the shared constant)."""
        out = np.zeros((len(x), len(self.classes)))
        if self.qda is None:
            return out
        scores = np.stack([-0.5 * (np.einsum("ni,ij,nj->n", x - mean, inv, x - mean) + logdet)
                           for mean, inv, logdet in self.qda.params], axis=1)
        floor = scores.min(axis=1, keepdims=True)
        out[:] = floor
        out[:, self.modelled] = scores
        return out


def _majority(y: np.ndarray, classes: np.ndarray) -> int:
    return int(classes[np.argmax([np.sum(y == c) for c in classes])])


def _classes(*samples: SplitSamples) -> np.ndarray:
    return np.unique(np.concatenate([s.class_id for s in samples]))


def level_classifiers(train: SplitSamples, classes: np.ndarray) -> list[LevelClassifier]:
    """Each device's :class:`LevelClassifier`, fitted on the train samples it detected."""
    det = train.detected
    return [LevelClassifier(classes).fit(level_features(train.est[det[:, k], k], train.positions[k]),
                                         train.class_id[det[:, k]]) for k in range(len(train.positions))]


def _predictions(test: SplitSamples, center: int, pred: np.ndarray, class_pred: np.ndarray,
                 method: str) -> ClassicalPredictions:
    return ClassicalPredictions(keys=list(test.keys), sequence=test.sequence.copy(), pred=pred,
                                true=test.labels[:, center].astype(np.float64), class_pred=class_pred,
                                class_id=test.class_id.copy(), center_blocked=test.blocked[:, center].copy(),
                                detected_by=test.detected.copy(), method=method, center=test.device_ids[center])


def single_device(train: SplitSamples, test: SplitSamples, center: int) -> ClassicalPredictions:
    """The center's own classical estimate and its level class (see the module docstring)."""
    classes = _classes(train)
    clf = level_classifiers(train, classes)[center]
    pred = test.est[:, center][:, [_F[k] for k in store.LABEL_KEYS]].astype(np.float64)
    det_tr, det = train.detected[:, center], test.detected[:, center]
    undetected_class = _majority(train.class_id[~det_tr] if (~det_tr).any() else train.class_id, classes)
    class_pred = np.full(len(pred), undetected_class, dtype=np.int64)
    if det.any():
        ll = clf.log_likelihood(level_features(test.est[det, center], test.positions[center]))
        class_pred[det] = classes[np.argmax(ll, axis=1)]
    return _predictions(test, center, pred, class_pred, "single")


def multi_device_fusion(train: SplitSamples, test: SplitSamples, center: int) -> ClassicalPredictions:
    """The classical multi-device fusion at the center (see the module docstring)."""
    classes = _classes(train)
    var = mapped_variances(train, center)                                        # [K, 4]
    _, mapped = mapped_estimates(test, center)                                   # [M, K, 3]
    det = test.detected & np.isfinite(var[:, 0])
    any_det = det.any(axis=1)
    distance, _ = inverse_variance_fusion(mapped[..., 0], var[:, 0], det)
    azimuth, _ = wrapped_inverse_variance_fusion(mapped[..., 1], var[:, 1], det)
    pitch, _ = inverse_variance_fusion(mapped[..., 2], var[:, 2], det)
    fallback = center_labels(test.fallback, test.positions[center])
    distance, azimuth, pitch = (np.where(any_det, x, fallback[j]) for j, x in enumerate((distance, azimuth, pitch)))

    c = test.positions[center]
    point = np.stack([c[0] + distance * np.cos(azimuth), c[1] - distance * np.sin(azimuth),
                      c[2] - distance * np.tan(pitch)], axis=-1)                  # fused world point [M, 3]
    delta = point[:, None, :] - test.positions[None]                             # [M, K, 3] device -> point
    directions = delta / np.maximum(np.linalg.norm(delta, axis=-1, keepdims=True), 1e-9)
    u = velocity_least_squares(directions, test.est[..., _F["radial_velocity"]], var[:, 3], det)
    radial = np.sum(u * directions[:, center], axis=-1)

    clfs = level_classifiers(train, classes)
    ll = np.zeros((len(test.keys), len(classes)))
    for k, clf in enumerate(clfs):
        rows = det[:, k]
        if rows.any():
            ll[rows] += clf.log_likelihood(level_features(test.est[rows, k], test.positions[k]))
    class_pred = np.where(any_det, classes[np.argmax(ll, axis=1)], _majority(train.class_id, classes))
    pred = np.stack([distance, azimuth, pitch, radial], axis=-1)
    return _predictions(test, center, pred, class_pred.astype(np.int64), "fusion")


def load_split(root: str | Path, split: str, manifest: dict | None = None,
               estimates: dict[str, np.ndarray] | None = None) -> SplitSamples:
    """Every device's labels, blockage and cached classical estimates of ``split``, in the samples' order."""
    root = Path(root)
    manifest = manifest or store.load_manifest(root)
    if split not in manifest["splits"]:
        raise ValueError(f"unknown split {split!r}; choose one of {sorted(manifest['splits'])}")
    estimates = dataset_estimates(root, manifest) if estimates is None else estimates
    scene = store.scene_config(manifest)
    classes = np.array([t["class_id"] for t in manifest["targets"]])
    wanted = set(manifest["splits"][split])
    reader = store.ChunkReader(root)
    keys, parts = [], {"labels": [], "blocked": [], "est": [], "class_id": [], "sequence": []}
    for c in manifest["chunks"]:
        s, ch = c["sequence"], c["chunk"]
        if s not in wanted:
            continue
        f = reader.file(s, ch)
        labels = np.asarray(f["labels"][()], dtype=np.float64)                  # [F, K, N, 4]
        F, K, N = labels.shape[:3]
        if F != c["frames"]:
            raise ValueError(f"chunk ({s}, {ch}) has {F} frames, the manifest says {c['frames']}")
        keys += [(s, ch, i, n) for i in range(F) for n in range(N)]
        parts["labels"].append(labels.transpose(0, 2, 1, 3).reshape(F * N, K, 4))
        parts["blocked"].append(np.asarray(f["blocked"][()], dtype=bool).transpose(0, 2, 1).reshape(F * N, K))
        est = estimates[chunk_key(s, ch)]
        parts["est"].append(est.transpose(0, 2, 1, 3).reshape(F * N, K, est.shape[-1]))
        parts["class_id"].append(np.tile(classes, F))
        parts["sequence"].append(np.full(F * N, s))
    K, D = len(scene.devices), len(FIELDS)
    empty = {"labels": (0, K, 4), "blocked": (0, K), "est": (0, K, D), "class_id": (0,), "sequence": (0,)}
    arrays = {k: np.concatenate(v) if v else np.zeros(empty[k]) for k, v in parts.items()}
    return SplitSamples(keys=keys, sequence=arrays["sequence"].astype(np.int64), labels=arrays["labels"],
                        blocked=arrays["blocked"].astype(bool), est=arrays["est"],
                        class_id=arrays["class_id"].astype(np.int64),
                        positions=np.array([d.position for d in scene.surveyed().devices], dtype=np.float64),
                        fallback=region_point(scene), device_ids=[d.id for d in scene.devices])


_RUNNERS = {"single": single_device, "fusion": multi_device_fusion}


def classical_baselines(root: str | Path, split: str = "test", center: str = "device_0",
                        methods: tuple[str, ...] = METHODS) -> dict[str, ClassicalPredictions]:
    """{method: predictions at ``center`` on ``split``} for ``methods`` ("single", "fusion"), reading the data once."""
    unknown = set(methods) - set(_RUNNERS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; choose from {list(METHODS)}")
    root = Path(root)
    manifest = store.load_manifest(root)
    estimates = dataset_estimates(root, manifest)
    train = load_split(root, "train", manifest, estimates)
    test = train if split == "train" else load_split(root, split, manifest, estimates)
    if center not in test.device_ids:
        raise ValueError(f"unknown center {center!r}; the dataset has {test.device_ids}")
    k = test.device_ids.index(center)
    return {m: _RUNNERS[m](train, test, k) for m in methods}


def classical_predictions(root: str | Path, split: str = "test", center: str = "device_0",
                          method: str = "fusion") -> ClassicalPredictions:
    """One classical baseline ("single": the center's own radar; "fusion": every device's) at ``center``."""
    return classical_baselines(root, split, center, (method,))[method]
