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
