"""The numbers `disac view` draws, computed from deserialized messages (no rerun, no rclpy node).

* :func:`radar_power`, :func:`radar_maps`: a ``RadarEcho``'s range-Doppler and angle maps, by the RVFN's radar front end
  (:class:`disac_ros.models.rvfn.RadarFrontEnd`: matched filter, DFTs over chirps and over the array);
* :func:`optical_pose`: a camera's optical frame from its position and viewing direction (z up, as Genesis' camera
  with ``lookat``);
* :func:`to_pixels`: world points projected into a calibrated image
  (:func:`disac_ros.data.detections.project`), in pixels.

Poses are ``(rotation [3, 3], translation [3])``, child -> world: a point p of the frame is ``R p + t`` in the world.
"""
from __future__ import annotations

import numpy as np

Pose = tuple[np.ndarray, np.ndarray]
DYNAMIC_RANGE_DB = 40.0  # what a map shows below its peak


def radar_config(msg):
    """The :class:`disac_ros.config.RadarConfig` a ``RadarEcho`` describes (ValueError if inconsistent)."""
    from disac_ros.config import RadarConfig

    return RadarConfig(carrier_frequency=msg.carrier_frequency, sampling_frequency=msg.sampling_frequency,
                       pulse_repetition_interval=msg.pulse_repetition_interval,
                       chirp_bandwidth=msg.chirp_slope * msg.pulse_repetition_interval, array_rows=msg.array_rows,
                       array_cols=msg.array_cols, element_spacing=msg.element_spacing, num_chirps=msg.num_chirps,
                       chirp_interval=msg.chirp_interval)


_FRONT_ENDS: dict = {}


def _front_end(cfg):
    """The RF front end of a radar config, with the delayed pulses a run builds (``runs.build_device_model``)."""
    import torch

    from disac_ros.models.rvfn import RadarFrontEnd
    from disac_ros.sim.radar import delayed_replicas

    key = cfg.model_dump_json()
    if key not in _FRONT_ENDS:
        _FRONT_ENDS[key] = RadarFrontEnd(cfg.num_chirps, (cfg.array_rows, cfg.array_cols),
                                         torch.from_numpy(delayed_replicas(cfg)))
    return _FRONT_ENDS[key]


def radar_power(msg) -> np.ndarray:
    """A ``RadarEcho``'s range-Doppler-beam power cube [C, N_z, N_y, S] (linear) from the RVFN front end.

    Axes: Doppler bins (zero velocity at index C // 2), beams over the array's rows and columns (zero angle at the
    centre), range bins of c / (2 F_s). ValueError for a malformed echo (:func:`disac_ros.ros.convert.msg_to_echo`).
    """
    import torch

    from disac_ros.ros.convert import msg_to_echo

    cfg = radar_config(msg)
    echo = msg_to_echo(msg, (cfg.num_chirps, cfg.num_antennas, cfg.num_samples))
    with torch.no_grad():
        cube = _front_end(cfg)(torch.from_numpy(echo)[None])[0].numpy()
    return (np.abs(cube) ** 2).reshape(cfg.num_chirps, cfg.array_rows, cfg.array_cols, cfg.num_samples)


def radar_maps(power: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Range-Doppler [C, S] and angle [N_z, N_y] maps in dB from a power cube (:func:`radar_power`).

    Range-Doppler: summed over beams; rows Doppler (zero velocity in row C // 2, receding below it), columns range
    bins. Angle: summed over Doppler at the range bin of the range-Doppler peak, oriented as the camera sees it:
    columns from the array's left to its right (positive azimuth to the right), rows from up to down.
    """
    rd = power.sum(axis=(1, 2))
    peak_range = int(np.argmax(rd.max(axis=0)))
    # A beam's spatial frequency is -s sin(angle): a target right of or below the boresight lands in a negative bin.
    angle = np.flip(power[..., peak_range].sum(axis=0), axis=(0, 1))
    return _db(rd), _db(angle)


def _db(power: np.ndarray) -> np.ndarray:
    return 10 * np.log10(np.maximum(power, np.finfo(np.float64).tiny))


def colorize(db: np.ndarray, rows_per_bin: int = 1) -> np.ndarray:
    """An RGB uint8 image of a dB map (viridis over :data:`DYNAMIC_RANGE_DB` below its peak), each row repeated."""
    from matplotlib import colormaps

    top = float(np.max(db))
    scaled = np.clip((db - (top - DYNAMIC_RANGE_DB)) / DYNAMIC_RANGE_DB, 0.0, 1.0)
    rgb = (colormaps["viridis"](scaled)[..., :3] * 255).astype(np.uint8)
    return np.repeat(rgb, rows_per_bin, axis=0)


def optical_pose(position, direction) -> Pose:
    """The optical frame (x right, y down, z forward) of a camera at ``position`` looking along ``direction``, z up.

    The frame Genesis' camera has for ``lookat = position + direction`` (its extrinsics, checked in test/view).
    """
    forward = np.asarray(direction, dtype=np.float64) / np.linalg.norm(direction)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    return np.stack([right, np.cross(forward, right), forward], axis=1), np.asarray(position, dtype=np.float64)


def to_pixels(points, intrinsics, pose: Pose, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """World points [M, 3] -> (pixels [M, 2] as (column, row) from the image's top-left corner, in view [M] bool).

    Pinhole ``intrinsics`` K [3, 3], the camera's optical-frame ``pose`` (child -> world).
    """
    from disac_ros.data.detections import project

    rotation, translation = pose
    extrinsics = np.hstack([rotation.T, (-rotation.T @ translation)[:, None]])   # world -> camera
    uv = project(np.asarray(points, dtype=np.float64).reshape(-1, 3), intrinsics, extrinsics, (width, height))
    pixels = np.stack([(uv[:, 0] + 1) * width / 2, (uv[:, 1] + 1) * height / 2], axis=-1)
    return pixels, uv[:, 2] > 0.5
