"""Target motion of one sequence (paper Sec. V-A1, extended): what each target draws and how it moves.

Pure NumPy, no Genesis. A trajectory gives the target's *centre* (the label reference point, the centre of its
bounding box), so ground targets move at half their height and drones at their drawn altitude.

Per sequence every target draws (:func:`sequence_trajectories`, from ``rng([seed, sequence])``):

* its speed uniformly from ``speed`` (min, max), constant over the sequence;
* a drone its altitude uniformly from ``altitude`` (ground targets: half their height);
* one of its size variants uniformly from ``scale`` (``Trajectory.variant``, ``Trajectory.size``);
* its path (``motion.model``): ``linear`` is the paper's uniform linear motion in a uniformly random direction;
  ``turns`` changes the heading at the times of a Poisson process (rate ``turn_rate_hz``) by a turn uniform within
  +-``max_turn_deg``. Speed stays constant either way.

Both models reflect at the region's edge like a billiard ball (the velocity component normal to that edge changes
sign), and both steer clear of the obstacles by rejection: the whole path, sampled every ``CHECK_STEP`` s over the
sequence, must keep the target's footprint (a disc of its half-diagonal plus ``motion.obstacle_margin``) out of
every obstacle it could collide with, else (start, heading, turns) are drawn again, up to ``motion.max_tries``
times, then a ValueError names the target and the region. An obstacle counts where its vertical extent overlaps the
target's: a building's footprint from the ground to its roof, a tree's trunk disc below its canopy and the
canopy's disc (its radius, a conservative cylinder) over the canopy's height. So cars and dogs avoid buildings and
trunks and pass under canopies; a drone avoids a building only below its roof and a tree only below its top.
Targets also keep clear of each other: a target's path is accepted only if, at every checked time, its footprint
disc (half-diagonal, no margin) stays apart from those of the targets drawn before it whose heights overlap its
own (a drone above a car passes over it). Targets are drawn in the order of ``cfg.targets``.

The path is piecewise linear in unfolded coordinates and folded into the region; a turn of the unfolded path is
a turn of the same size (of either sign) of the folded one, so reflections and turns commute. Beyond the
sequence's duration a trajectory continues straight on its last heading (still reflected, no longer checked
against obstacles).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from disac_ros.config import ObstacleConfig, SceneConfig

#: Nominal (length, width, height) [m] of each target type at ``scale: 1``; the scene builds its models to it.
TARGET_SIZE: dict[str, tuple[float, float, float]] = {
    "car": (4.2, 1.8, 1.5),
    "dog": (0.9, 0.42, 0.55),
    "drone": (0.8, 0.87, 0.26),
}
DEFAULT_DRONE_ALTITUDE = 3.5
#: Time step [s] at which a drawn path is checked against the obstacles.
CHECK_STEP = 0.05


def target_size(type_: str, scale: float = 1.0) -> np.ndarray:
    """Bounding-box extents (length along the heading, width, height) of a target in metres."""
    return np.asarray(TARGET_SIZE[type_], dtype=np.float64) * scale


def trunk_radius(canopy_radius: float) -> float:
    """Radius [m] of a tree's trunk (the scene's cylinder) for a canopy of ``canopy_radius``."""
    return 0.12 * canopy_radius + 0.05


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
    """Piecewise-linear motion at constant ``speed`` from ``start``, reflected inside ``lo``..``hi``.

    Segment k starts at ``turn_times[k]`` (``turn_times[0] == 0``) with heading ``headings[k]`` (rad from +x, in
    unfolded coordinates). ``variant`` indexes the target's ``scale`` tuple, ``size`` [3] is its bounding box.
    """

    type: str
    start: np.ndarray       # [3] centre at t = 0
    speed: float            # m/s
    turn_times: np.ndarray  # [K] start time of each segment [s], the first 0
    headings: np.ndarray    # [K] unfolded heading of each segment [rad]
    lo: np.ndarray          # [2] lower corner of the region the centre stays in
    hi: np.ndarray          # [2] upper corner
    variant: int = 0
    size: np.ndarray = field(default_factory=lambda: np.ones(3))

    @property
    def velocity0(self) -> np.ndarray:
        """Velocity [3] at t = 0."""
        return self.velocity(0.0)

    def _state(self, t: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(t, dtype=np.float64)
        dirs = np.stack([np.cos(self.headings), np.sin(self.headings)], axis=-1)            # [K, 2]
        starts = np.zeros((len(self.turn_times), 2))                                        # unfolded segment starts
        if len(self.turn_times) > 1:
            starts[1:] = np.cumsum(dirs[:-1] * np.diff(self.turn_times)[:, None], axis=0)
        k = np.clip(np.searchsorted(self.turn_times, t, side="right") - 1, 0, len(self.turn_times) - 1)
        unfolded = self.start[:2] + self.speed * (starts[k] + dirs[k] * (t - self.turn_times[k])[..., None])
        pos = np.empty(t.shape + (3,))
        vel = np.empty(t.shape + (3,))
        for i in range(2):
            pos[..., i], sign = _fold(unfolded[..., i], self.lo[i], self.hi[i])
            vel[..., i] = sign * self.speed * dirs[k, i]
        pos[..., 2], vel[..., 2] = self.start[2], 0.0
        return pos, vel

    def position(self, t: float | np.ndarray) -> np.ndarray:
        """Centre position [..., 3] at time(s) ``t`` [s]."""
        return self._state(t)[0]

    def velocity(self, t: float | np.ndarray) -> np.ndarray:
        """Velocity [..., 3] at time(s) ``t``; constant speed, direction changing at turns and reflections."""
        return self._state(t)[1]

    def yaw(self, t: float | np.ndarray) -> np.ndarray | float:
        """Heading [rad] about +z, measured from +x (the model's forward axis points along the velocity)."""
        v = self.velocity(t)
        out = np.arctan2(v[..., 1], v[..., 0])
        return float(out) if out.ndim == 0 else out


def frame_times(cfg: SceneConfig) -> np.ndarray:
    """Timestamps [s] of the frames of one sequence."""
    return np.arange(cfg.dataset.frames_per_sequence) / cfg.dataset.fps


def _keep_out(obstacles: list[ObstacleConfig], z_lo: float, z_hi: float) -> tuple[np.ndarray, np.ndarray,
                                                                                   np.ndarray, np.ndarray]:
    """Footprints a target spanning heights [z_lo, z_hi] must avoid: rectangles [R, 2, 2] and discs ([C, 2], [C])."""
    rect_lo, rect_hi, centres, radii = [], [], [], []
    for ob in obstacles:
        x, y = ob.position
        if ob.type == "building":
            sx, sy, sz = ob.size
            if z_lo < sz:
                rect_lo.append((x - sx / 2, y - sy / 2))
                rect_hi.append((x + sx / 2, y + sy / 2))
        else:
            radius, _, total = ob.size
            canopy_bottom = total - 2 * radius
            if z_lo < canopy_bottom:              # the trunk
                centres.append((x, y))
                radii.append(trunk_radius(radius))
            if z_hi > canopy_bottom and z_lo < total:
                centres.append((x, y))
                radii.append(radius)
    return (np.asarray(rect_lo, float).reshape(-1, 2), np.asarray(rect_hi, float).reshape(-1, 2),
            np.asarray(centres, float).reshape(-1, 2), np.asarray(radii, float).reshape(-1))


def _clear(xy: np.ndarray, clearance: float, keep_out) -> bool:
    """Whether every point of ``xy`` [T, 2] is farther than ``clearance`` from every keep-out footprint."""
    rect_lo, rect_hi, centres, radii = keep_out
    if len(rect_lo):
        gap = np.maximum(np.maximum(rect_lo[None] - xy[:, None], xy[:, None] - rect_hi[None]), 0.0)  # [T, R, 2]
        if (np.einsum("trk,trk->tr", gap, gap) <= clearance ** 2).any():
            return False
    if len(centres):
        d2 = ((xy[:, None] - centres[None]) ** 2).sum(axis=-1)                                      # [T, C]
        if (d2 <= (clearance + radii[None]) ** 2).any():
            return False
    return True


def _apart(path: np.ndarray, size: np.ndarray, placed: list[tuple[np.ndarray, np.ndarray]]) -> bool:
    """Whether a target of ``size`` on ``path`` [T, 3] keeps clear of the targets already ``placed``.

    Two targets whose vertical extents overlap must keep their footprint discs (half-diagonals) apart at every
    checked time; a drone above a car passes freely.
    """
    for other, other_size in placed:
        if abs(path[0, 2] - other[0, 2]) >= (size[2] + other_size[2]) / 2:
            continue
        reach = (math.hypot(size[0], size[1]) + math.hypot(other_size[0], other_size[1])) / 2
        if (((path[:, :2] - other[:, :2]) ** 2).sum(axis=-1) <= reach ** 2).any():
            return False
    return True


def _draw_start(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, travel: np.ndarray) -> np.ndarray:
    """A start from which a straight path of displacement ``travel`` [2] stays inside the region, when it fits."""
    start = np.empty(2)
    for i in range(2):
        a, b = lo[i] - min(0.0, travel[i]), hi[i] - max(0.0, travel[i])
        start[i] = rng.uniform(a, b) if a <= b else rng.uniform(lo[i], hi[i])
    return start


def sample_trajectories(cfg: SceneConfig, rng: np.random.Generator, duration: float | None = None) -> list[Trajectory]:
    """One trajectory per configured target for one sequence, drawn from ``rng`` (deterministic given its state).

    ``duration``: the time [s] over which turns are drawn and obstacles checked (default ``dataset.duration``).
    Raises ValueError when a target finds no clear path in ``motion.max_tries`` draws (a crowded region).
    Per target, in this order: speed, variant, altitude (drones), then (start, heading, turns) until the path is
    clear of the obstacles (see the module docstring). With ``linear`` the start is uniform over the positions from
    which the straight path stays inside the region (uniform in the region if it is longer than the region); with
    ``turns`` the start is uniform in the region.
    """
    w, m = cfg.world, cfg.motion
    centre, half = np.asarray(w.region_center, float), np.asarray(w.region_half_extent, float)
    lo, hi = centre - half, centre + half
    duration = cfg.dataset.duration if duration is None else float(duration)
    check = np.append(np.arange(0.0, duration, CHECK_STEP), duration)
    out, placed = [], []
    for n, tgt in enumerate(cfg.targets):
        speed = float(rng.uniform(*tgt.speed))
        variant = int(rng.integers(len(tgt.scale)))
        size = target_size(tgt.type, tgt.scale[variant])
        if tgt.type == "drone":
            z = float(rng.uniform(*tgt.altitude)) if tgt.altitude is not None else DEFAULT_DRONE_ALTITUDE
        else:
            z = size[2] / 2
        keep_out = _keep_out(cfg.obstacles, z - size[2] / 2, z + size[2] / 2)
        clearance = math.hypot(size[0], size[1]) / 2 + m.obstacle_margin
        for _ in range(m.max_tries):
            heading = rng.uniform(-np.pi, np.pi)
            if m.model == "linear":
                start = _draw_start(rng, lo, hi, speed * duration * np.array([np.cos(heading), np.sin(heading)]))
                times, headings = np.zeros(1), np.array([heading])
            else:
                start = rng.uniform(lo, hi)
                times, headings = [0.0], [heading]
                if m.turn_rate_hz > 0:
                    t = rng.exponential(1.0 / m.turn_rate_hz)
                    while t < duration:
                        times.append(t)
                        headings.append(headings[-1] + np.deg2rad(rng.uniform(-m.max_turn_deg, m.max_turn_deg)))
                        t += rng.exponential(1.0 / m.turn_rate_hz)
                times, headings = np.asarray(times), np.asarray(headings)
            tr = Trajectory(tgt.type, np.array([start[0], start[1], z]), speed, times, headings, lo.copy(), hi.copy(),
                            variant, size)
            path = tr.position(check)
            if _clear(path[:, :2], clearance, keep_out) and _apart(path, size, placed):
                out.append(tr)
                placed.append((path, size))
                break
        else:
            raise ValueError(f"motion: targets[{n}] ({tgt.type}, footprint radius {clearance:.2f} m incl. "
                             f"obstacle_margin) found no path clear of the obstacles and the other targets in "
                             f"{m.max_tries} tries: the region {lo.tolist()}..{hi.tolist()} (world.region_*) is too "
                             f"crowded; move or shrink obstacles, enlarge the region or lower motion.obstacle_margin")
    return out


def sequence_trajectories(cfg: SceneConfig, seed: int, sequence: int,
                          duration: float | None = None) -> list[Trajectory]:
    """The trajectories of sequence ``sequence``: :func:`sample_trajectories` from ``rng([seed, sequence])``.

    The one function the dataset generator (sequence index i) and the live bridge (``LIVE_SEED_OFFSET + i``) share.
    """
    return sample_trajectories(cfg, np.random.default_rng([seed, sequence]), duration)
