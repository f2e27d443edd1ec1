"""A camera-only classifier with no deep learning: how much class information a camera crop carries.

The probe of the outdoor world's item 5a (issue "outdoor world"): the crops the radar cues (the image around
where the radar puts a target) are classified by hand-made features and a linear model, fitted on the train
split and scored on the validation split, overall and per condition (clear, fog, low light, ...). It bounds
from below what a learned camera branch can get from the same crops, and says which conditions take the
camera's information away: a condition whose accuracy falls to chance leaves the class to the radar.

* **Features** (:func:`hog_features`). The histogram of oriented gradients of the grey crop (9 orientations,
  8x8-pixel cells, 2x2-cell blocks, L2-Hys): the target's outline, which tells a car (wide, long edges) from a
  dog (low, four legs) from a drone (small, against the sky), and whose block normalisation makes it insensitive
  to the crop's brightness and contrast (a faint but noise-free shape still reads: what fog takes away is the
  signal against the camera's noise and its 8-bit steps, not the contrast itself); a coarse colour histogram of
  the whole crop (8 bins per channel, normalised to sum 1): paint and sky against road; and the crop's mean and
  standard deviation of grey level: how bright it is and how much contrast fog or darkness has left.
* **Regression** (:class:`LogisticRegression`). Multinomial logistic regression with an L2 penalty in the
  scikit-learn sense (loss = sum of cross-entropies + 0.5 / C * ||W||^2, the intercepts unpenalised) on features
  standardised with the training mean and standard deviation, fitted by L-BFGS in float64 on one CPU thread: the
  problem is convex (strictly, but for a common shift of all intercepts, which changes no probability and which a
  fit started from zero never takes), so the fit is deterministic and needs no seed.

Both are a few lines of NumPy, scikit-image and PyTorch (scikit-learn is not in the pinned environment).
"""
from __future__ import annotations

import numpy as np
import torch

#: HOG parameters (the Dalal & Triggs defaults).
HOG_ORIENTATIONS = 9
HOG_CELL = 8
HOG_BLOCK = 2
#: Bins per channel of the colour histogram.
COLOUR_BINS = 8
#: The smallest crop side [px]: one HOG block.
MIN_SIDE = HOG_CELL * HOG_BLOCK
#: Standard deviations of features below this are taken as this when standardising (constant features).
STD_FLOOR = 1e-6


def _check_crops(crops: np.ndarray, name: str) -> np.ndarray:
    crops = np.asarray(crops)
    if crops.ndim != 4 or crops.shape[-1] != 3:
        raise ValueError(f"{name} must be RGB crops [M, S, S, 3], got shape {crops.shape}")
    if min(crops.shape[1:3]) < MIN_SIDE:
        raise ValueError(f"{name} must be at least {MIN_SIDE}x{MIN_SIDE} pixels, got {crops.shape[1:3]}")
    return crops


def hog_features(crops: np.ndarray) -> np.ndarray:
    """Features [M, D] float32 of uint8 RGB crops [M, S, S, 3]: HOG of the grey crop, colour histogram, grey mean, std.

    D = 9 * 4 * (S // 8 - 1)^2 + 3 * 8 + 2 for square crops (1790 for S = 64). Grey is the ITU-R BT.709 luma in [0, 1]
    (:func:`skimage.color.rgb2gray`); the mean and std are of it. Deterministic.
    """
    # Imported here: scikit-image is pinned in requirements.lock, not in requirements-core.txt.
    from skimage.color import rgb2gray
    from skimage.feature import hog

    crops = _check_crops(crops, "crops")
    if crops.dtype != np.uint8:
        raise ValueError(f"crops must be uint8, got {crops.dtype}")
    edges = np.linspace(0, 256, COLOUR_BINS + 1)
    out = []
    for crop in crops:
        grey = rgb2gray(crop)
        h = hog(grey, orientations=HOG_ORIENTATIONS, pixels_per_cell=(HOG_CELL, HOG_CELL),
                cells_per_block=(HOG_BLOCK, HOG_BLOCK), block_norm="L2-Hys", feature_vector=True)
        colour = np.concatenate([np.histogram(crop[..., c], edges)[0] for c in range(3)]).astype(float)
        colour /= colour.sum()
        out.append(np.concatenate([h, colour, [grey.mean(), grey.std()]]))
    if not out:  # no crops: the width D of one
        return hog_features(np.zeros((1, *crops.shape[1:]), np.uint8))[:0]
    return np.stack(out).astype(np.float32)


class LogisticRegression:
    """Multinomial logistic regression, L2 penalty 0.5 / C * ||W||^2 (not on the intercepts), standardised features.

    Fitted by L-BFGS (strong Wolfe line search) in float64 on one CPU thread until the largest gradient component of the
    loss divided by the number of samples is under ``tol`` (or ``max_iter`` iterations); the classes are those of
    ``y`` (any integers), which :meth:`predict` returns. ``n_iter``: the iterations the fit took.
    """

    def __init__(self, C: float = 1.0, max_iter: int = 1000, tol: float = 1e-6):
        if not C > 0:
            raise ValueError(f"C must be positive, got {C}")
        self.C = float(C)
        self.max_iter = int(max_iter)
        self.tol = float(tol)

    def _standardise(self, x: np.ndarray) -> torch.Tensor:
        x = np.asarray(x, np.float64).reshape(len(x), -1)
        if x.shape[1] != self.mean.size:
            raise ValueError(f"expected {self.mean.size} features, got {x.shape[1]}")
        return torch.from_numpy((x - self.mean) / self.std)

    def fit(self, x: np.ndarray, y: np.ndarray) -> LogisticRegression:
        y = np.asarray(y).reshape(-1)
        x = np.asarray(x, np.float64).reshape(len(x), -1)
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
        self.classes, index = np.unique(y, return_inverse=True)
        if self.classes.size < 2:
            raise ValueError(f"need at least 2 classes to fit, got {self.classes.size} ({self.classes.tolist()})")
        self.mean = x.mean(axis=0)
        self.std = np.maximum(x.std(axis=0), STD_FLOOR)
        xt = self._standardise(x)
        target = torch.from_numpy(index.astype(np.int64))
        M, D, K = xt.shape[0], xt.shape[1], self.classes.size
        w = torch.zeros(D, K, dtype=torch.float64, requires_grad=True)
        b = torch.zeros(K, dtype=torch.float64, requires_grad=True)
        # The loss divided by M: the same minimum, tolerances that do not depend on the number of samples.
        opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=self.max_iter, history_size=20, tolerance_grad=self.tol,
                                tolerance_change=1e-12, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = (torch.nn.functional.cross_entropy(xt @ w + b, target, reduction="sum")
                    + 0.5 / self.C * (w * w).sum()) / M
            loss.backward()
            return loss

        # One thread: the same sums in the same order on every machine (and no threads spinning against each other
        # on a busy one: 20 times faster on 2 loaded cores); a small problem, so no loss.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            opt.step(closure)
        finally:
            torch.set_num_threads(threads)
        self.n_iter = int(opt.state[w].get("n_iter", 0))
        self.coef = w.detach().numpy().copy()
        self.intercept = b.detach().numpy().copy()
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """Logits [M, K] (columns in the order of ``self.classes``)."""
        return self._standardise(x).numpy() @ self.coef + self.intercept

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities [M, K] (columns in the order of ``self.classes``); rows sum to 1."""
        z = self.decision_function(x)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The most probable class [M], as the labels ``y`` was fitted with."""
        return self.classes[np.argmax(self.decision_function(x), axis=1)]


def camera_probe(train_crops: np.ndarray, train_y: np.ndarray, val_crops: np.ndarray, val_y: np.ndarray,
                 val_groups: np.ndarray | None = None, C: float = 1.0) -> dict:
    """HOG features + logistic regression fitted on the train crops, scored on the validation crops.

    ``val_groups`` (optional, strings [M_val], e.g. "clear", "fog", "low_light") adds the accuracy per group.
    Returns ``{"samples", "accuracy", "per_group": {group: {"samples", "accuracy"}}}`` in plain ints and floats
    (JSON-serialisable); ``per_group`` is empty without groups. Raises ValueError on shapes that do not match,
    empty sets, or fewer than 2 classes in train.
    """
    return group_accuracy(probe_correct(train_crops, train_y, val_crops, val_y, C), val_groups)


def probe_correct(train_crops: np.ndarray, train_y: np.ndarray, val_crops: np.ndarray, val_y: np.ndarray,
                  C: float = 1.0) -> np.ndarray:
    """Whether each validation crop is classified right [M_val] bool (:func:`camera_probe`'s fit, done once)."""
    train_crops = _check_crops(train_crops, "train_crops")
    val_crops = _check_crops(val_crops, "val_crops")
    train_y, val_y = np.asarray(train_y).reshape(-1), np.asarray(val_y).reshape(-1)
    if len(train_y) != len(train_crops):
        raise ValueError(f"train_crops has {len(train_crops)} crops but train_y has {len(train_y)} labels")
    if len(val_y) != len(val_crops):
        raise ValueError(f"val_crops has {len(val_crops)} crops but val_y has {len(val_y)} labels")
    if train_crops.shape[1:] != val_crops.shape[1:]:
        raise ValueError(f"train and val crops differ in size: {train_crops.shape[1:]} vs {val_crops.shape[1:]}")
    if len(val_y) == 0:
        raise ValueError("val_crops is empty")
    if np.unique(train_y).size < 2:
        raise ValueError(f"train_y must hold at least 2 classes, got {np.unique(train_y).tolist()}")
    model = LogisticRegression(C=C).fit(hog_features(train_crops), train_y)
    return model.predict(hog_features(val_crops)) == val_y


def group_accuracy(correct: np.ndarray, groups: np.ndarray | None = None) -> dict:
    """``{"samples", "accuracy", "per_group"}`` of per-sample outcomes [M] bool, per group of ``groups`` [M]."""
    correct = np.asarray(correct, dtype=bool).reshape(-1)
    if len(correct) == 0:
        raise ValueError("val_crops is empty")
    per_group = {}
    if groups is not None:
        groups = np.asarray(groups).reshape(-1).astype(str)
        if len(groups) != len(correct):
            raise ValueError(f"val_groups has {len(groups)} entries but val_y has {len(correct)} labels")
        for g in np.unique(groups):
            sel = groups == g
            per_group[str(g)] = {"samples": int(sel.sum()), "accuracy": float(correct[sel].mean())}
    return {"samples": int(len(correct)), "accuracy": float(correct.mean()), "per_group": per_group}
