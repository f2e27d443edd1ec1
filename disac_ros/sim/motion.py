"""Target motion of one sequence (paper Sec. V-A1): uniform linear motion in a random horizontal direction.

Pure NumPy, no Genesis. A trajectory gives the target's *centre* (the label reference point, the centre of
its bounding box), so ground targets move at half their height and drones at their configured altitude.

The start point is drawn so that the straight path over the sequence stays inside ``world.region``. Only
when the path is longer than the region along an axis (a fast target in a long sequence) the target is
reflected specularly at the region boundary, like a billiard ball: the speed stays constant and the
velocity component normal to that boundary changes sign.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disac_ros.config import SceneConfig

#: Nominal (length, width, height) [m] of each target type at ``scale: 1``; the scene builds its models to it.
TARGET_SIZE: dict[str, tuple[float, float, float]] = {
    "car": (4.2, 1.8, 1.5),
    "dog": (0.9, 0.42, 0.55),
    "drone": (0.8, 0.87, 0.26),
}
DEFAULT_DRONE_ALTITUDE = 3.5


def target_size(type_: str, scale: float = 1.0) -> np.ndarray:
    """Bounding-box extents (length along the heading, width, height) of a target in metres."""
    return np.asarray(TARGET_SIZE[type_], dtype=np.float64) * scale


def _fold(x: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Fold an unbounded coordinate into [lo, hi] by specular reflection; returns (x, sign of velocity)."""
    span = hi - lo
    if span <= 0:
        return np.full_like(x, lo), np.ones_like(x)
    u = np.mod(x - lo, 2 * span)
    back = u > span
    return lo + np.where(back, 2 * span - u, u), np.where(back, -1.0, 1.0)


@dataclass(frozen=True)
class Trajectory:
    """Uniform linear motion from ``start`` with ``velocity`` (horizontal, m/s), reflected inside ``lo``..``hi``."""

    type: str
    start: np.ndarray       # [3] centre at t = 0
    velocity0: np.ndarray   # [3] velocity at t = 0 (z component 0)
    lo: np.ndarray          # [2] lower corner of the region the centre stays in
    hi: np.ndarray          # [2] upper corner

    @property
    def speed(self) -> float:
        return float(np.linalg.norm(self.velocity0))

    def _state(self, t: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(t, dtype=np.float64)
        pos = np.empty(t.shape + (3,))
        vel = np.empty(t.shape + (3,))
        for i in range(2):
            pos[..., i], sign = _fold(self.start[i] + self.velocity0[i] * t, self.lo[i], self.hi[i])
            vel[..., i] = sign * self.velocity0[i]
        pos[..., 2], vel[..., 2] = self.start[2], 0.0
        return pos, vel

    def position(self, t: float | np.ndarray) -> np.ndarray:
        """Centre position [..., 3] at time(s) ``t`` [s]."""
        return self._state(t)[0]

    def velocity(self, t: float | np.ndarray) -> np.ndarray:
        """Velocity [..., 3] at time(s) ``t``; constant except for sign flips at reflections."""
        return self._state(t)[1]

    def yaw(self, t: float | np.ndarray) -> np.ndarray | float:
        """Heading [rad] about +z, measured from +x (the model's forward axis points along the velocity)."""
        v = self.velocity(t)
        out = np.arctan2(v[..., 1], v[..., 0])
        return float(out) if out.ndim == 0 else out


def frame_times(cfg: SceneConfig) -> np.ndarray:
    """Timestamps [s] of the frames of one sequence."""
    return np.arange(cfg.dataset.frames_per_sequence) / cfg.dataset.fps


def sample_trajectories(cfg: SceneConfig, rng: np.random.Generator) -> list[Trajectory]:
    """One trajectory per configured target for one sequence, drawn from ``rng`` (deterministic given its state).

    Direction is uniform on the circle; along each axis the start is uniform over the positions from which
    the whole straight path (duration ``dataset.duration``) stays inside the region. If the path is longer than
    the region along an axis, the start is uniform in the region and the target reflects at the boundary.
    """
    w = cfg.world
    centre, half = np.asarray(w.region_center, float), np.asarray(w.region_half_extent, float)
    lo, hi = centre - half, centre + half
    duration = cfg.dataset.duration
    out = []
    for tgt in cfg.targets:
        heading = rng.uniform(-np.pi, np.pi)
        v = tgt.speed * np.array([np.cos(heading), np.sin(heading)])
        travel = v * duration
        start = np.empty(2)
        for i in range(2):
            a, b = lo[i] - min(0.0, travel[i]), hi[i] - max(0.0, travel[i])
            start[i] = rng.uniform(a, b) if a <= b else rng.uniform(lo[i], hi[i])
        if tgt.type == "drone":
            z = tgt.altitude if tgt.altitude is not None else DEFAULT_DRONE_ALTITUDE
        else:
            z = target_size(tgt.type, tgt.scale)[2] / 2
        out.append(Trajectory(tgt.type, np.array([start[0], start[1], z]), np.array([v[0], v[1], 0.0]),
                              lo.copy(), hi.copy()))
    return out
