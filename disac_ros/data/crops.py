"""Radar-cued camera crops: the paper's per-target isolation of the visual information (Sec. III-A), its one home.

A device's camera input of RVFN for target n is not its whole image but the window around its own radar's
detection of n, projected into the image through the rig its camera and radar share (the camera cue of
:func:`disac_ros.data.detections.detection_features`): a square of :data:`CROP_M` metres at the detection's slant
range, never smaller than :data:`CROP_PX` native pixels (so nothing is upsampled), area-averaged to
:data:`CROP_PX` x :data:`CROP_PX` (``cv2.INTER_AREA``); the part of the window outside the image is black. A
sample the radar did not detect (or whose detection falls outside the image) gets the window at the image centre
at the range of the device's view point (``lookat``). At the default camera (1280 x 720) a 3 m window spans
985 * 3 / R pixels: 64 native pixels (no resampling) beyond 46 m, 210 at 14 m; the smallest target (a drone
of 0.6 m) spans 12 native pixels at the scene's farthest 49 m.

The generator stores these crops (``crop`` [F, D, N, S, S, 3]) and a thumbnail of each full image for the
contact sheet; the live encoder crops the published image with the same function, so training and deployment
read the same pixels (a test compares them).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from disac_ros.data import store
from disac_ros.data.detections import FIELDS, camera_cue

#: Side of the crop RVFN reads [px].
CROP_PX = 64
#: Side of the window at the detection's range [m]: a car (4.2 m) fills it, a dog or a drone is a part of it.
CROP_M = 3.0
#: Width of the contact sheet's thumbnail of each full image [px] (its height keeps the aspect ratio).
THUMBNAIL_WIDTH = 160


def model_image_shape(manifest: dict) -> tuple[int, int, int]:
    """The camera input of RVFN [H, W, 3]: the radar-cued crop or the whole image.

    The crop with ``camera.crop`` (this module), else the image of :func:`disac_ros.data.store.input_shapes`.
    """
    return (CROP_PX, CROP_PX, 3) if manifest["config"]["camera"].get("crop") else store.input_shapes(manifest)[0]


def crop_windows(cue: np.ndarray, slant_range: np.ndarray, focal_px: float, image_size: tuple[int, int],
                 default_range: float) -> np.ndarray:
    """Windows int64 [M, 3] = (x0, y0, side) in pixels of cues [M, 3] (u, v, valid) at slant ranges [M] [m].

    ``focal_px``: the camera's focal length in pixels (fy of the intrinsics); ``image_size``: (width, height).
    """
    width, height = image_size
    cue = np.asarray(cue, dtype=np.float64).reshape(-1, 3)
    rng = np.asarray(slant_range, dtype=np.float64).reshape(-1)
    valid = (cue[:, 2] > 0.5) & np.isfinite(rng) & (rng > 0)
    cx = np.where(valid, (cue[:, 0] + 1) / 2 * width, width / 2)
    cy = np.where(valid, (cue[:, 1] + 1) / 2 * height, height / 2)
    distance = np.where(valid, rng, default_range)
    side = np.clip(np.round(focal_px * CROP_M / np.maximum(distance, 1e-3)), CROP_PX, max(CROP_PX, min(width, height)))
    x0, y0 = np.round(cx - side / 2), np.round(cy - side / 2)
    return np.stack([x0, y0, side], axis=-1).astype(np.int64)


def crop(image: np.ndarray, window) -> np.ndarray:
    """The window (x0, y0, side) of ``image`` [H, W, 3] uint8, black outside it, as uint8 [CROP_PX, CROP_PX, 3]."""
    x0, y0, side = (int(v) for v in window)
    height, width = image.shape[:2]
    out = np.zeros((side, side, 3), np.uint8)
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + side, width), min(y0 + side, height)
    if xb > xa and yb > ya:
        out[ya - y0:yb - y0, xa - x0:xb - x0] = image[ya:yb, xa:xb]
    if side == CROP_PX:
        return out
    return cv2.resize(out, (CROP_PX, CROP_PX), interpolation=cv2.INTER_AREA)


def target_crops(image: np.ndarray, cue: np.ndarray, slant_range: np.ndarray, intrinsics,
                 default_range: float) -> np.ndarray:
    """Every target's crop of one device's image: uint8 [M, CROP_PX, CROP_PX, 3] (module docstring)."""
    height, width = image.shape[:2]
    windows = crop_windows(cue, slant_range, float(np.asarray(intrinsics)[1, 1]), (width, height), default_range)
    return np.stack([crop(image, w) for w in windows]) if len(windows) else np.zeros((0, CROP_PX, CROP_PX, 3),
                                                                                     np.uint8)


def device_crops(image: np.ndarray, est: np.ndarray, scene, k: int, intrinsics, extrinsics) -> np.ndarray:
    """Device ``k``'s crop of every target from its image [H, W, 3] and its classical estimates [M, FIELDS].

    What the generator stores and the live encoder computes (uint8 [M, CROP_PX, CROP_PX, 3]).
    """
    cue = camera_cue(est, scene, k, intrinsics, extrinsics)
    return target_crops(image, cue, est[:, FIELDS.index("slant_range")], intrinsics, view_range(scene.devices[k]))


def view_range(device) -> float:
    """The slant range [m] of a device's view point, the window's range when its radar detected nothing."""
    return float(math.dist(device.position, device.lookat))


def thumbnail(image: np.ndarray) -> np.ndarray:
    """The contact sheet's copy of a full image: uint8 [h, THUMBNAIL_WIDTH, 3], area-averaged."""
    height, width = image.shape[:2]
    size = (THUMBNAIL_WIDTH, max(1, round(height * THUMBNAIL_WIDTH / width)))
    return cv2.resize(np.ascontiguousarray(image), size, interpolation=cv2.INTER_AREA)
