"""Probes that show how hard a generated world is before anything is trained (``disac inspect``).

* **(a) Classical radar, per device.** The frozen classical baseline (:func:`disac_ros.sim.estimators.
  classical_estimates`, cached per dataset by :mod:`disac_ros.data.detections`: matched filter with
  interpolated range, FFT beamforming in the array frame, Doppler FFT, a fixed detection threshold and a stated
  output when nothing is detected) on every sample of the probe split (:data:`PROBE_SPLIT`) of each device:
  RMSE of distance, azimuth, pitch and radial velocity (SI) on line-of-sight samples and on blocked ones (the path
  crosses a building or another target), and the detection rate. The ratio blocked / line of sight says how much a
  device loses behind obstacles.
* **(b) One device's radar level classifies the class?** A Gaussian classifier (quadratic discriminant) on the
  classical estimate's RCS [dB] and range, fit on the train split of each device, scored on its probe split.
* **(a') The detector's rates, per device, class and radial speed.** On line-of-sight samples of the probe split:
  the detection rate (detected within :data:`ON_TARGET_M` of the true slant range: the target's own cell) and the
  false-detection rate (detected elsewhere: clutter or noise taken for the target), per class and per bin of
  :data:`SPEED_BINS` of the true radial speed |v_r| (the MTI keeps little of a target under a tenth of a Doppler
  bin); on blocked samples the share of false detections.
* **(d) The camera alone classifies the class?** (datasets with ``camera.crop``) HOG and colour features of the
  radar-cued crops and a logistic regression (:mod:`disac_ros.data.camera_probe`), fitted on the train split's
  crops of every device, scored on the probe split's, overall, per camera condition, per fog visibility bin
  (:data:`FOG_BINS`) and on the samples the camera sees (``visible``).
* **(c) Speed alone classifies the class?** A histogram Bayes classifier on the true speed of the target, fit on
  the train split, scored on the probe split (height is left out: a radar measures it through pitch and range, so
  it is a fair cue).

The probes shape the world (its difficulty is tuned on them), so they are a design choice: they read the train and
validation splits only, never the test split, which the final evaluation alone reads.

Both classifiers are a few lines of NumPy (scikit-learn is not in the pinned environment).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from disac_ros.config import CLASSES
from disac_ros.data import store
from disac_ros.data.detections import FIELDS, chunk_key, dataset_estimates
from disac_ros.data.detections import VERSION as DETECTIONS_VERSION
from disac_ros.sim.labels import label_errors

#: A detection within this distance of the true slant range is the target's [m] (twice the 3 m range resolution
#: c / 2B of the default waveform: the interpolated peak of a target spread over neighbouring cells).
ON_TARGET_M = 6.0
#: Bins of the true |radial velocity| [m/s] the detector's rates are reported in.
SPEED_BINS = (0.0, 0.5, 1.5, 3.0, math.inf)
#: Fog visibility bins [m] the camera probe reports (the densest first).
FOG_BINS = (0.0, 120.0, 200.0, math.inf)
#: Bump when a probe is added or changed: kept probes of another version are computed again.
VERSION = 3  # 2: the detector's rates; 3: the camera probe
PARAMETER_UNITS = {"distance": "m", "azimuth": "rad", "pitch": "rad", "radial_velocity": "m/s"}
#: The split the probes are scored on (fitted on train): validation, never test.
PROBE_SPLIT = "val"


def _split_arrays(root: Path, manifest: dict, split: str, device: int,
                  estimates: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Classical estimates, labels, blockage and true speed of one device's samples of ``split``.

    Frame-major, target-minor; ``estimates`` from :func:`disac_ros.data.detections.dataset_estimates`.
    """
    reader = store.ChunkReader(root)
    wanted = set(manifest["splits"][split])
    parts: dict[str, list] = {"estimates": [], "labels": [], "blocked": [], "speed": [], "class_id": [],
                              "sequence": []}
    classes = np.array([t["class_id"] for t in manifest["targets"]])
    for c in manifest["chunks"]:
        if c["sequence"] not in wanted:
            continue
        f = reader.file(c["sequence"], c["chunk"])
        F, N = f["labels"].shape[0], f["labels"].shape[2]
        parts["estimates"].append(estimates[chunk_key(c["sequence"], c["chunk"])][:, device].reshape(F * N, -1))
        parts["labels"].append(f["labels"][:, device].reshape(F * N, 4))
        parts["blocked"].append(f["blocked"][:, device].reshape(F * N))
        parts["speed"].append(np.linalg.norm(f["target_velocity"][()][..., :2], axis=-1).reshape(F * N))
        parts["class_id"].append(np.tile(classes, F))
        parts["sequence"].append(np.full(F * N, c["sequence"]))
    out = {k: np.concatenate(v) for k, v in parts.items()}
    out["estimates"] = {name: out["estimates"][:, i] for i, name in enumerate(FIELDS)}
    out["estimates"]["detected"] = out["estimates"]["detected"] > 0.5
    return out


def regression_errors(estimates: dict[str, np.ndarray], labels: np.ndarray) -> np.ndarray:
    """Errors [M, 4] of the classical estimates against SI labels [M, 4] (the azimuth error wrapped)."""
    return label_errors(np.stack([estimates[k] for k in store.LABEL_KEYS], axis=-1), labels)


def rmse_table(err: np.ndarray, mask: np.ndarray) -> dict[str, float | int]:
    """RMSE per parameter over the samples of ``mask`` and their count."""
    out: dict[str, float | int] = {"samples": int(mask.sum())}
    for j, key in enumerate(store.LABEL_KEYS):
        out[key] = float(np.sqrt(np.mean(err[mask, j] ** 2))) if mask.any() else math.nan
    return out


class GaussianClassifier:
    """Quadratic discriminant analysis: one Gaussian per class (mean, covariance), equal priors."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> GaussianClassifier:
        x = np.asarray(x, float).reshape(len(y), -1)
        self.classes = np.unique(y)
        self.params = []
        for c in self.classes:
            xc = x[y == c]
            cov = np.atleast_2d(np.cov(xc, rowvar=False)) + 1e-6 * np.eye(x.shape[1])
            self.params.append((xc.mean(axis=0), np.linalg.inv(cov), np.linalg.slogdet(cov)[1]))
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float).reshape(len(x), -1)
        scores = [-0.5 * (np.einsum("ni,ij,nj->n", x - m, inv, x - m) + logdet) for m, inv, logdet in self.params]
        return self.classes[np.argmax(np.stack(scores, axis=1), axis=1)]


class HistogramClassifier:
    """Bayes classifier on one feature from class-conditional histograms (shared bins, add-one smoothing)."""

    def __init__(self, bins: int = 24):
        self.bins = bins

    def fit(self, x: np.ndarray, y: np.ndarray) -> HistogramClassifier:
        self.edges = np.linspace(np.min(x), np.max(x) + 1e-9, self.bins + 1)
        self.classes = np.unique(y)
        self.density = np.stack([np.histogram(x[y == c], self.edges)[0] + 1.0 for c in self.classes])
        self.density /= self.density.sum(axis=1, keepdims=True)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        idx = np.clip(np.searchsorted(self.edges, x, side="right") - 1, 0, self.bins - 1)
        return self.classes[np.argmax(self.density[:, idx], axis=0)]


def level_features(estimates, floor: float) -> np.ndarray:
    """(RCS estimate [dB], slant range [m]) [M, 2]; an undetected target reads as an RCS of ``floor`` dB."""
    return np.stack([np.nan_to_num(estimates["rcs_db"], nan=floor), estimates["slant_range"]], axis=1)


def detector_rates(scored: dict) -> dict:
    """Probe (a'): detection and false-detection rates of one device's samples (:func:`_split_arrays`)."""
    est, labels = scored["estimates"], scored["labels"]
    true_slant = labels[:, 0] / np.cos(labels[:, 2])
    on = est["detected"] & (np.abs(est["slant_range"] - true_slant) <= ON_TARGET_M)
    false = est["detected"] & ~on
    los = ~scored["blocked"].astype(bool)
    speed = np.abs(labels[:, 3])

    def rates(mask) -> dict:
        n = int(mask.sum())
        return {"samples": n, "detection": float(on[mask].mean()) if n else math.nan,
                "false": float(false[mask].mean()) if n else math.nan}

    edges = list(zip(SPEED_BINS[:-1], SPEED_BINS[1:], strict=True))
    bins = [f"{lo:g}-{hi:g}" if math.isfinite(hi) else f">={lo:g}" for lo, hi in edges]
    return {"line_of_sight": rates(los),
            "per_class": {c: rates(los & (scored["class_id"] == i)) for i, c in enumerate(CLASSES)},
            "per_radial_speed": {b: rates(los & (speed >= lo) & (speed < hi))
                                 for b, (lo, hi) in zip(bins, edges, strict=True)},
            "blocked": rates(~los)}


def _crops(root: Path, manifest: dict, split: str) -> dict[str, np.ndarray]:
    """Every device's crops of ``split`` [M, S, S, 3] with class ids, condition groups and visibility [M]."""
    from disac_ros.sim.conditions import CONDITION_KINDS

    reader, wanted = store.ChunkReader(root), set(manifest["splits"][split])
    classes = np.array([t["class_id"] for t in manifest["targets"]])
    parts: dict[str, list] = {"crops": [], "class_id": [], "group": [], "fog_bin": [], "visible": []}
    edges = list(zip(FOG_BINS[:-1], FOG_BINS[1:], strict=True))
    for c in manifest["chunks"]:
        if c["sequence"] not in wanted:
            continue
        f = reader.file(c["sequence"], c["chunk"])
        crop = f["crop"][()]                                                   # [F, D, N, S, S, 3]
        F, D, N = crop.shape[:3]
        kind = np.array(CONDITION_KINDS)[f["condition"][()]]                 # [F]
        vis = f["fog_visibility"][()]
        fog_bin = np.array([next((f"fog V {lo:g}-{hi:g} m" if math.isfinite(hi) else f"fog V >= {lo:g} m")
                                 for lo, hi in edges if lo <= v < hi) if k == "fog" else "" for k, v in zip(kind, vis,
                                                                                                          strict=True)])
        parts["crops"].append(crop.reshape(F * D * N, *crop.shape[3:]))
        parts["class_id"].append(np.tile(classes, F * D))
        parts["group"].append(np.repeat(kind, D * N))
        parts["fog_bin"].append(np.repeat(fog_bin, D * N))
        parts["visible"].append(f["visible"][()].reshape(F * D * N))
    return {k: np.concatenate(v) for k, v in parts.items()}


def camera_class_probe(root: str | Path, manifest: dict | None = None) -> dict | None:
    """Probe (d): the camera-only classifier on the radar-cued crops (None for a dataset without crops)."""
    from disac_ros.data.camera_probe import group_accuracy, probe_correct

    root = Path(root)
    manifest = manifest or store.load_manifest(root)
    if not manifest["config"]["camera"].get("crop"):
        return None
    train, val = _crops(root, manifest, "train"), _crops(root, manifest, PROBE_SPLIT)
    correct = probe_correct(train["crops"], train["class_id"], val["crops"], val["class_id"])   # one fit
    out = group_accuracy(correct, np.where(val["fog_bin"] != "", val["fog_bin"], val["group"]))
    out["per_condition"] = group_accuracy(correct, val["group"])["per_group"]
    seen = val["visible"]
    out["visible"] = group_accuracy(correct[seen], val["group"][seen])
    out["sequences"] = len(manifest["splits"][PROBE_SPLIT])
    return out


def run_probes(root: str | Path, manifest: dict | None = None) -> dict:
    """Probes (a)-(c) of the dataset at ``root`` (see the module docstring); JSON-serialisable."""
    root = Path(root)
    manifest = manifest or store.load_manifest(root)
    cfg = store.scene_config(manifest)
    estimates = dataset_estimates(root, manifest, progress=True)
    out: dict = {"version": VERSION, "detections_version": DETECTIONS_VERSION, "classical": {}, "detector": {},
                 "level_class_probe": {}, "definitions": {
        "classical": f"frozen classical baseline (sim/estimators.py) on the {PROBE_SPLIT} split; blocked = the path "
                     "crosses a building or another target; RMSE in SI units (distance m horizontal, angles rad, "
                     "velocity m/s)",
        "detector": f"line-of-sight samples of {PROBE_SPLIT}: detection = detected within {ON_TARGET_M:g} m of the "
                    "true slant range, false = detected elsewhere (clutter or noise); per class and per true "
                    "|radial velocity| bin [m/s]; blocked: the same on blocked samples",
        "level_class_probe": f"QDA on (estimated RCS dB, estimated range), fit on train, scored on {PROBE_SPLIT}, "
                             "per device",
        "speed_class_probe": f"histogram Bayes on the true speed, fit on train, scored on {PROBE_SPLIT} (all "
                             "devices' samples)",
        "camera_class_probe": f"HOG + colour histogram + logistic regression (data/camera_probe.py) on the "
                              f"radar-cued crops of every device, fit on train, scored on {PROBE_SPLIT}, per camera "
                              "condition, fog visibility bin and on the samples the camera sees",
    }, "split": PROBE_SPLIT}
    speed: dict[str, list] = {"train": [], PROBE_SPLIT: [], "y_train": [], f"y_{PROBE_SPLIT}": []}
    for k, device in enumerate(cfg.devices):
        per_split = {split: _split_arrays(root, manifest, split, k, estimates) for split in ("train", PROBE_SPLIT)}
        scored = per_split[PROBE_SPLIT]
        err = regression_errors(scored["estimates"], scored["labels"])
        blocked = scored["blocked"].astype(bool)
        los, hidden = rmse_table(err, ~blocked), rmse_table(err, blocked)
        out["classical"][device.id] = {
            "line_of_sight": los, "blocked": hidden, "all": rmse_table(err, np.ones_like(blocked)),
            "blocked_over_los": {key: hidden[key] / los[key] if los[key] else math.nan for key in store.LABEL_KEYS},
            "detection_rate": {"line_of_sight": float(scored["estimates"]["detected"][~blocked].mean())
                               if (~blocked).any() else math.nan,
                               "blocked": float(scored["estimates"]["detected"][blocked].mean())
                               if blocked.any() else math.nan}}

        out["detector"][device.id] = detector_rates(scored)
        tr = per_split["train"]
        floor = float(np.nanmin(tr["estimates"]["rcs_db"], initial=0.0)) - 10.0
        pred = GaussianClassifier().fit(level_features(tr["estimates"], floor), tr["class_id"]).predict(
            level_features(scored["estimates"], floor))
        out["level_class_probe"][device.id] = float(np.mean(pred == scored["class_id"]))
        for split, a in per_split.items():
            speed[split].append(a["speed"])
            speed[f"y_{split}"].append(a["class_id"])
    x_tr, y_tr = np.concatenate(speed["train"]), np.concatenate(speed["y_train"])
    x_te, y_te = np.concatenate(speed[PROBE_SPLIT]), np.concatenate(speed[f"y_{PROBE_SPLIT}"])
    out["speed_class_probe"] = float(np.mean(HistogramClassifier().fit(x_tr, y_tr).predict(x_te) == y_te))
    out["camera_class_probe"] = camera_class_probe(root, manifest)
    out["samples_per_device"] = int(len(y_te) // len(cfg.devices))
    out["sequences"] = len(manifest["splits"][PROBE_SPLIT])
    return out


def probes_current(probes: dict | None) -> bool:
    """Whether probes kept in a manifest are of this :data:`VERSION` and detector, scored on :data:`PROBE_SPLIT`."""
    return (bool(probes) and probes.get("split") == PROBE_SPLIT and probes.get("version") == VERSION
            and probes.get("detections_version") == DETECTIONS_VERSION)


def format_probes(probes: dict) -> str:
    """The probes as the plain-text table ``disac inspect`` prints."""
    split = probes.get("split", "test")
    sequences = probes.get("sequences", probes.get("test_sequences"))
    samples = probes.get("samples_per_device", probes.get("test_samples_per_device"))
    lines = [f"probes on the {split} split ({sequences} sequences, {samples} samples per device; fitted on train):",
             f"{'device':<10} {'subset':<14} {'n':>5} {'det %':>6} {'dist m':>8} {'az deg':>8} {'pitch deg':>9} "
             f"{'vel m/s':>8}"]
    def num(value) -> float:  # NaN is stored as null (strict JSON)
        return math.nan if value is None else float(value)

    for device, entry in probes["classical"].items():
        for subset in ("line_of_sight", "blocked"):
            row = {k: num(v) for k, v in entry[subset].items()}
            row["samples"] = int(row["samples"])
            det = num(entry["detection_rate"][subset])
            lines.append(f"{device:<10} {subset:<14} {row['samples']:>5} {100 * det:6.1f} {row['distance']:8.2f} "
                         f"{math.degrees(row['azimuth']):8.2f} {math.degrees(row['pitch']):9.2f} "
                         f"{row['radial_velocity']:8.2f}")
        ratio = entry["blocked_over_los"]
        lines.append(f"{'':<10} {'blocked / LoS':<14} {'':>5} {'':>6} " + " ".join(
            f"{num(ratio[k]):{w}.1f}" for k, w in zip(store.LABEL_KEYS, (8, 8, 9, 8), strict=True)))
    if "detector" in probes:
        lines.append("detector on line of sight: detection % / false detection % (per class; per true |radial "
                     "velocity| m/s)")
        for device, d in probes["detector"].items():
            cells = [f"{c} {100 * num(r['detection']):.0f}/{100 * num(r['false']):.0f}"
                     for c, r in d["per_class"].items()]
            cells += [f"{b} {100 * num(r['detection']):.0f}/{100 * num(r['false']):.0f}"
                      for b, r in d["per_radial_speed"].items()]
            lines.append(f"  {device}: all {100 * num(d['line_of_sight']['detection']):.1f}/"
                         f"{100 * num(d['line_of_sight']['false']):.1f}; " + ", ".join(cells)
                         + f"; blocked: false {100 * num(d['blocked']['false']):.1f}")
    lines.append("one-device class probe on echo level and range (QDA): " + ", ".join(
        f"{d} {100 * v:.1f} %" for d, v in probes["level_class_probe"].items()))
    lines.append(f"class probe on true speed alone (histogram Bayes): {100 * probes['speed_class_probe']:.1f} %")
    cam = probes.get("camera_class_probe")
    if cam:
        def groups(table: dict) -> str:
            return ", ".join(f"{g} {100 * r['accuracy']:.1f} % ({r['samples']})" for g, r in sorted(table.items()))

        lines.append(f"camera-only class probe on the radar-cued crops (HOG + logistic regression, every device): "
                     f"{100 * cam['accuracy']:.1f} % of {cam['samples']}; per condition: "
                     f"{groups(cam['per_condition'])}; fog by visibility: "
                     f"{groups({g: r for g, r in cam['per_group'].items() if g.startswith('fog')})}; "
                     f"on the samples the camera sees: {100 * cam['visible']['accuracy']:.1f} % "
                     f"({groups(cam['visible']['per_group'])})")
    return "\n".join(lines)
