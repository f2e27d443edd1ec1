"""RViz markers (visualization_msgs) in the ``world`` frame: the static scene and the estimates beside the truth."""
from __future__ import annotations

import math

import numpy as np
from geometry_msgs.msg import Point
from visualization_msgs.msg import Marker, MarkerArray

from disac_ros.ros.frames import WORLD_FRAME
from disac_ros.sim.labels import state_to_world

#: Marker colours (RGB 0..1) per class.
CLASS_RGB = {"car": (0.85, 0.15, 0.1), "dog": (0.95, 0.65, 0.1), "drone": (0.2, 0.3, 0.9)}
_UNKNOWN_RGB = (0.6, 0.6, 0.6)


def _yaw_quaternion(yaw: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a rotation by ``yaw`` about +z."""
    return 0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)


def _point(p) -> Point:
    return Point(x=float(p[0]), y=float(p[1]), z=float(p[2]))


def marker(ns: int | str, mid: int, kind: int, position, scale, rgba, stamp, text: str = "", yaw: float = 0.0,
           frame_id: str = WORLD_FRAME) -> Marker:
    """A visualization_msgs/Marker (ADD) in ``frame_id``."""
    m = Marker(ns=str(ns), id=int(mid), type=kind, action=Marker.ADD, text=text)
    m.header.stamp, m.header.frame_id = stamp, frame_id
    m.pose.position.x, m.pose.position.y, m.pose.position.z = (float(v) for v in position)
    q = _yaw_quaternion(yaw)
    m.pose.orientation.x, m.pose.orientation.y, m.pose.orientation.z, m.pose.orientation.w = q
    m.scale.x, m.scale.y, m.scale.z = (float(v) for v in scale)
    m.color.r, m.color.g, m.color.b, m.color.a = (float(v) for v in rgba)
    return m


def scene_markers(cfg, positions: np.ndarray, yaws: np.ndarray, stamp,
                  sizes: np.ndarray | None = None) -> MarkerArray:
    """The static scene (devices with viewing direction, obstacles) and the targets' boxes at ``positions``.

    ``sizes`` [N, 3]: each target's box (length, width, height) in its current size variant (``Trajectory.size``);
    None: the nominal size (``scale`` 1).
    """
    from disac_ros.sim.motion import target_size

    out = MarkerArray()
    for i, dev in enumerate(cfg.devices):
        p, look = np.asarray(dev.position), np.asarray(dev.lookat)
        rgba = (0.9, 0.1, 0.9, 1.0) if i == 0 else (0.1, 0.8, 0.9, 1.0)
        out.markers.append(marker("devices", i, Marker.CUBE, p, (0.6, 0.6, 0.6), rgba, stamp))
        arrow = marker("device_view", i, Marker.ARROW, (0, 0, 0), (0.15, 0.3, 0.3), rgba, stamp)
        arrow.points = [_point(p), _point(p + 3.0 * (look - p) / max(np.linalg.norm(look - p), 1e-9))]
        out.markers.append(arrow)
        label = f"{dev.id} (center)" if i == 0 else dev.id
        out.markers.append(marker("device_labels", i, Marker.TEXT_VIEW_FACING, p + (0, 0, 1.0), (0, 0, 0.8),
                                  (1, 1, 1, 1), stamp, text=label))
    for i, ob in enumerate(cfg.obstacles):
        x, y = ob.position
        if ob.type == "building":
            sx, sy, sz = ob.size
            out.markers.append(marker("obstacles", 2 * i, Marker.CUBE, (x, y, sz / 2), (sx, sy, sz),
                                      (0.7, 0.66, 0.6, 0.8), stamp))
        else:
            radius, _, total = ob.size
            trunk = total - radius
            out.markers.append(marker("obstacles", 2 * i, Marker.CYLINDER, (x, y, trunk / 2),
                                      (0.3 * radius, 0.3 * radius, trunk), (0.4, 0.28, 0.18, 1.0), stamp))
            out.markers.append(marker("obstacles", 2 * i + 1, Marker.SPHERE, (x, y, total - radius),
                                      (2 * radius, 2 * radius, 2 * radius), (0.2, 0.45, 0.18, 0.8), stamp))
    for n, tgt in enumerate(cfg.targets):
        size = target_size(tgt.type) if sizes is None else np.asarray(sizes[n], dtype=np.float64)
        out.markers.append(marker("targets", n, Marker.CUBE, positions[n], size, (*CLASS_RGB[tgt.type], 0.9),
                                  stamp, yaw=float(yaws[n])))
        out.markers.append(marker("target_labels", n, Marker.TEXT_VIEW_FACING, positions[n] + (0, 0, 1.5),
                                  (0, 0, 0.7), (1, 1, 1, 1), stamp, text=f"{n}: {tgt.type}"))
    return out


def estimate_markers(states, truth, center_position: np.ndarray, stamp,
                     true_center_position: np.ndarray | None = None) -> MarkerArray:
    """Each estimate as a sphere and a label, beside its ground truth (sphere and error line) when ``truth`` has it.

    ``states``: objects with the fields of :class:`disac_ros.inference.TargetEstimate` relative to the center at
    ``center_position`` [3] (its surveyed position, what the system knows); ``truth``: the TargetStateArray of the
    same stamp, or None, relative to ``true_center_position`` (default: ``center_position``).
    """
    true_center = center_position if true_center_position is None else true_center_position
    out = MarkerArray()
    true_by_id = {t.target_id: t for t in truth.targets} if truth is not None else {}
    for s in states:
        est = state_to_world(center_position, s.distance, s.azimuth, s.pitch)
        rgb = CLASS_RGB.get(s.label, _UNKNOWN_RGB)
        out.markers.append(marker("estimates", s.target_id, Marker.SPHERE, est, (0.8, 0.8, 0.8), (*rgb, 0.9), stamp))
        text = f"est {s.target_id}: {s.label} {s.distance:.1f} m"
        t = true_by_id.get(s.target_id)
        if t is not None:
            true = state_to_world(true_center, t.distance, t.azimuth, t.pitch)
            out.markers.append(marker("truth", s.target_id, Marker.SPHERE, true, (0.5, 0.5, 0.5),
                                      (0.1, 0.9, 0.1, 0.9), stamp))
            err = marker("errors", s.target_id, Marker.LINE_LIST, (0, 0, 0), (0.05, 0, 0), (1, 1, 0, 1), stamp)
            err.points = [_point(est), _point(true)]
            out.markers.append(err)
            text += f" (true {t.label} {t.distance:.1f} m)"
        out.markers.append(marker("estimate_labels", s.target_id, Marker.TEXT_VIEW_FACING, est + (0, 0, 1.2),
                                  (0, 0, 0.6), (1, 1, 1, 1), stamp, text=text))
    return out
