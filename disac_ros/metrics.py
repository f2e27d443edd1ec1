"""Evaluation metrics of Sec. V-A4: NMSE in dB (Eq. 59), RMSE (Eq. 60) and accuracy (Eq. 61)."""
from __future__ import annotations

import numpy as np

PARAMETERS = ("distance", "azimuth", "pitch", "radial_velocity")


def nmse_db(pred: np.ndarray, true: np.ndarray) -> float:
    """Eq. (59): 10 log10(sum |x_hat - x|^2 / sum |x|^2)."""
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    return float(10 * np.log10(np.sum((pred - true) ** 2) / np.sum(true**2)))


def rmse(pred: np.ndarray, true: np.ndarray) -> float:
    """Eq. (60): sqrt(mean |x_hat - x|^2)."""
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    return float(np.sqrt(np.mean((pred - true) ** 2)))


def accuracy(pred_class: np.ndarray, true_class: np.ndarray) -> float:
    """Eq. (61): fraction of samples whose predicted class is the true one."""
    return float(np.mean(np.asarray(pred_class) == np.asarray(true_class)))


def sensing_metrics(pred: np.ndarray, true: np.ndarray, logits: np.ndarray, classes: np.ndarray) -> dict[str, float]:
    """NMSE and RMSE per parameter of [N, 4] arrays (columns in PARAMETERS order) and the accuracy."""
    out = {}
    for j, name in enumerate(PARAMETERS):
        out[f"nmse_db_{name}"] = nmse_db(pred[:, j], true[:, j])
        out[f"rmse_{name}"] = rmse(pred[:, j], true[:, j])
    out["accuracy"] = accuracy(np.argmax(logits, axis=1), classes)
    return out


def denormalize(values: np.ndarray, offset: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Normalised labels x_n in (0, 1) [N, 4] -> SI values x = x_n * scale + offset (m, rad, rad, m/s)."""
    return np.asarray(values, np.float64) * np.asarray(scale, np.float64) + np.asarray(offset, np.float64)


def sensing_metrics_both(pred_norm: np.ndarray, true_norm: np.ndarray, logits: np.ndarray, classes: np.ndarray,
                         offset: np.ndarray, scale: np.ndarray) -> dict[str, dict[str, float]]:
    """:func:`sensing_metrics` on the normalised values and on the SI values.

    ``pred_norm``/``true_norm`` are [N, 4] in (0, 1) (the heads' sigmoid outputs, PARAMETERS order), ``offset``
    and ``scale`` [4] the dataset's normalisation (x = x_n * scale + offset). Returns
    ``{"normalised": {...}, "si": {...}}``; RMSE in ``"si"`` is in m, rad, rad and m/s; NMSE is in dB in both;
    the accuracy is the same in both.
    """
    return {"normalised": sensing_metrics(pred_norm, true_norm, logits, classes),
            "si": sensing_metrics(denormalize(pred_norm, offset, scale), denormalize(true_norm, offset, scale),
                                  logits, classes)}


def better(metric: str, a: float, b: float) -> bool:
    """Whether value ``a`` of ``metric`` is strictly better than ``b`` (accuracy: higher; NMSE and RMSE: lower)."""
    return a > b if metric == "accuracy" else a < b
