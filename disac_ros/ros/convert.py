"""Conversions between NumPy arrays / Python values and ROS messages, with the input checks a node needs.

Every ``msg_to_*`` function raises ``ValueError`` with a message that says what was expected, so a node can
log it and drop the message instead of crashing. No cv_bridge for ROS 2 exists on PyPI; these few lines do
what it would for the two encodings we use. Also: stamps (:func:`to_time`, :func:`ns_to_time`), the typed side
channels (:func:`timing_to_msg` for ``EncoderTiming``, :func:`stats_to_msg` for ``LinkStats``) and a message class
by type name (:func:`import_message`).
"""
from __future__ import annotations

import array
import importlib
import math

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo, Image

from disac_ros.msg import EncoderTiming, LinkStats, RadarEcho, SemanticCode, TargetState, TargetStateArray
from disac_ros.ros.frames import device_frame
from disac_ros.stamps import NS

IMAGE_ENCODINGS = ("rgb8", "bgr8")


def import_message(msgtype: str) -> type:
    """The rclpy message class of ``pkg/msg/Name``."""
    pkg, kind, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{pkg}.{kind}"), name)


def float32_sequence(values: np.ndarray) -> array.array:
    """A ``float32[]`` field's value from an array, by one copy.

    The generated setter would convert an ndarray element by element (~2 ms for an echo's 23,040 values).
    """
    return array.array("f", np.ascontiguousarray(values, dtype=np.float32).tobytes())


def to_time(seconds: float) -> Time:
    sec = math.floor(seconds)
    return Time(sec=int(sec), nanosec=int(round((seconds - sec) * 1e9)) % 1_000_000_000)


def to_seconds(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def ns_to_time(stamp_ns: int) -> Time:
    """The Time of an integer-nanosecond stamp (:mod:`disac_ros.stamps`), exactly."""
    return Time(sec=int(stamp_ns) // NS, nanosec=int(stamp_ns) % NS)


def timing_to_msg(device_id: str, stamp: Time, frame_id: str, feature_extraction_s: float,
                  encoding_s: float) -> EncoderTiming:
    """An encoder's per-frame times (t_ft, t_se of Eq. 14) as ``EncoderTiming``."""
    msg = EncoderTiming(device_id=device_id, feature_extraction_s=float(feature_extraction_s),
                        encoding_s=float(encoding_s))
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    return msg


#: ``LinkStats`` fields filled from :func:`disac_ros.models.link.link_budget`'s dictionary.
LINK_BUDGET_FIELDS = ("payload_bits", "snr_db", "gain", "noise_power_w", "rate_bps", "delay_s")


def stats_to_msg(device_id: str, stamp: Time, frame_id: str, target_id: int, distance_m: float,
                 budget: dict[str, float]) -> LinkStats:
    """One code's link budget (:func:`disac_ros.models.link.link_budget`) as ``LinkStats``."""
    msg = LinkStats(device_id=device_id, target_id=int(target_id), payload_bytes=int(budget["payload_bytes"]),
                    distance_m=float(distance_m), **{f: float(budget[f]) for f in LINK_BUDGET_FIELDS})
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    return msg


def image_to_msg(rgb: np.ndarray, stamp: Time, frame_id: str) -> Image:
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    msg = Image(height=rgb.shape[0], width=rgb.shape[1], encoding="rgb8", is_bigendian=0, step=3 * rgb.shape[1])
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    msg.data = rgb.tobytes()
    return msg


def msg_to_image(msg: Image, shape: tuple[int, int] | None = None) -> np.ndarray:
    """RGB uint8 [H, W, 3] from an rgb8 or bgr8 Image; ``shape`` (H, W) is what the model expects."""
    if msg.encoding not in IMAGE_ENCODINGS:
        raise ValueError(f"image encoding {msg.encoding!r} not supported; expected one of {IMAGE_ENCODINGS}")
    if shape is not None and (msg.height, msg.width) != tuple(shape):
        raise ValueError(f"image is {msg.height}x{msg.width}, expected {shape[0]}x{shape[1]}")
    if msg.step < 3 * msg.width or len(msg.data) != msg.step * msg.height:
        raise ValueError(f"image data has {len(msg.data)} bytes, expected step {msg.step} x height {msg.height} "
                         f"with step >= {3 * msg.width}")
    rows = np.frombuffer(bytes(msg.data), dtype=np.uint8).reshape(msg.height, msg.step)
    rgb = rows[:, : 3 * msg.width].reshape(msg.height, msg.width, 3)
    return np.ascontiguousarray(rgb[..., ::-1] if msg.encoding == "bgr8" else rgb)


def camera_info(K: np.ndarray, width: int, height: int, stamp: Time, frame_id: str) -> CameraInfo:
    msg = CameraInfo(width=width, height=height, distortion_model="plumb_bob")
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    K = np.asarray(K, dtype=np.float64).reshape(3, 3)
    msg.k = K.ravel().tolist()
    msg.d = [0.0] * 5
    msg.r = np.eye(3).ravel().tolist()
    msg.p = np.hstack([K, np.zeros((3, 1))]).ravel().tolist()
    return msg


def echo_to_msg(echo: np.ndarray, radar, device_id: str, target_id: int, stamp: Time, frame_id: str) -> RadarEcho:
    """A RadarEcho from complex64 [C, A, S] and a :class:`disac_ros.config.RadarConfig`."""
    echo = np.asarray(echo, dtype=np.complex64)
    msg = RadarEcho(device_id=device_id, target_id=int(target_id))
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    msg.num_chirps, msg.num_antennas, msg.num_samples = echo.shape
    msg.real, msg.imag = float32_sequence(echo.real.ravel()), float32_sequence(echo.imag.ravel())
    msg.carrier_frequency, msg.sampling_frequency = radar.carrier_frequency, radar.sampling_frequency
    msg.pulse_repetition_interval, msg.chirp_slope = radar.pulse_repetition_interval, radar.chirp_slope
    msg.chirp_interval, msg.element_spacing = radar.chirp_interval, radar.element_spacing
    msg.array_rows, msg.array_cols, msg.radar_snr_db = radar.array_rows, radar.array_cols, radar.snr_db
    return msg


def msg_to_echo(msg: RadarEcho, shape: tuple[int, int, int] | None = None) -> np.ndarray:
    """Complex64 [C, A, S] from a RadarEcho; NaN or a size that does not match its header is an error."""
    dims = (msg.num_chirps, msg.num_antennas, msg.num_samples)
    if shape is not None and dims != tuple(shape):
        raise ValueError(f"echo of {msg.device_id}/{msg.target_id} is {list(dims)}, expected {list(shape)}")
    n = int(np.prod(dims))
    if len(msg.real) != n or len(msg.imag) != n:
        raise ValueError(f"echo has {len(msg.real)} real / {len(msg.imag)} imag values, expected {n} = {list(dims)}")
    echo = (np.asarray(msg.real, np.float32) + 1j * np.asarray(msg.imag, np.float32)).astype(np.complex64)
    if not np.isfinite(echo).all():
        raise ValueError(f"echo of {msg.device_id}/{msg.target_id} contains NaN or inf samples")
    return echo.reshape(dims)


def code_to_msg(code: np.ndarray, device_id: str, target_id: int, stamp: Time, frame_id: str,
                snr_db: float = math.nan, distance_m: float = math.nan) -> SemanticCode:
    code = np.asarray(code, dtype=np.float32)
    msg = SemanticCode(device_id=device_id, target_id=int(target_id), length=code.shape[0], dim=code.shape[1],
                       dtype=SemanticCode.DTYPE_FLOAT32, snr_db=float(snr_db), distance_m=float(distance_m),
                       payload_bytes=code.size * 4)
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    msg.symbols = float32_sequence(code.ravel())
    return msg


def msg_to_code(msg: SemanticCode, shape: tuple[int, int] | None = None) -> np.ndarray:
    if shape is not None and (msg.length, msg.dim) != tuple(shape):
        raise ValueError(f"code of {msg.device_id}/{msg.target_id} is {msg.length}x{msg.dim}, expected "
                         f"{shape[0]}x{shape[1]}")
    if len(msg.symbols) != msg.length * msg.dim:
        raise ValueError(f"code has {len(msg.symbols)} symbols, expected length x dim = {msg.length * msg.dim}")
    code = np.asarray(msg.symbols, dtype=np.float32).reshape(msg.length, msg.dim)
    if not np.isfinite(code).all():
        raise ValueError(f"code of {msg.device_id}/{msg.target_id} contains NaN or inf")
    return code


def states_to_msg(states, stamp: Time, reference_device_id: str) -> TargetStateArray:
    """A TargetStateArray from objects with the fields of :class:`disac_ros.inference.TargetEstimate`."""
    msg = TargetStateArray(reference_device_id=reference_device_id)
    msg.header.stamp, msg.header.frame_id = stamp, device_frame(reference_device_id)
    for s in states:
        t = TargetState(target_id=int(s.target_id), class_id=int(s.class_id), label=s.label,
                        class_probabilities=[float(p) for p in s.class_probabilities], distance=float(s.distance),
                        azimuth=float(s.azimuth), pitch=float(s.pitch), radial_velocity=float(s.radial_velocity),
                        distance_std=math.nan, azimuth_std=math.nan, pitch_std=math.nan,
                        radial_velocity_std=math.nan, contributing_devices=list(s.contributing_devices))
        t.header = msg.header
        msg.targets.append(t)
    return msg
