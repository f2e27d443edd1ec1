"""What a device-to-target path crosses: buildings, tree canopies and the other targets (pure NumPy).

The path of device k to target n is the straight segment from the device's position to the target's centre (the
label reference point). It is tested against

* buildings: axis-aligned boxes, footprint ``size[0] x size[1]`` centred at ``position``, from z = 0 to ``size[2]``;
* tree canopies: spheres of radius ``size[0]`` centred at height ``size[2] - size[0]`` (the scene's canopy). Trunks
  are ignored: they are a few tens of centimetres thick (``motion.trunk_radius``) and shadow little of a target;
* the other targets: oriented boxes (centre, heading ``yaw`` about +z, the extents of their current size variant).
  A target never blocks its own path (the segment ends at its centre, inside its own box).

Losses (:class:`disac_ros.config.PropagationConfig`, with their ITU sources) are one-way per crossing; the echo
travels the path twice, so the two-way loss of a path is

    loss_db = 2 (building_loss_db x buildings crossed + target_loss_db x targets crossed
                 + foliage_loss_db_per_m x chord length through canopies [m]).

A path is *blocked* when it crosses a building or a target; foliage alone (about 1 dB per metre at 10 GHz)
attenuates but hides little, so it never counts as blocked. Everything is vectorised over devices x targets x
obstacles: a frame of 4 devices, 3 targets and six obstacles takes about 0.5 ms (rendering it: ~90 ms).

:func:`blockage_statistics` measures how often the paths of a layout are blocked over many sequences of
:func:`disac_ros.sim.motion.sequence_trajectories` without rendering anything (seconds for hundreds of sequences).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disac_ros.config import SceneConfig

#: Parameter tolerance of the segment tests: a path that only grazes a face or an edge does not cross it.
_EPS = 1e-9


@dataclass(frozen=True)
class PathLosses:
    """Per (device, target) path of one frame, arrays [D, N]."""

    loss_db: np.ndarray    # float: two-way loss of the path [dB]
    building: np.ndarray   # bool: crosses a building
    target: np.ndarray     # bool: crosses another target
    foliage_m: np.ndarray  # float: chord length through tree canopies [m] (one way)

    @property
    def blocked(self) -> np.ndarray:
        """Bool [D, N]: crosses a building or another target (foliage alone never blocks)."""
        return self.building | self.target


def _slab(origin: np.ndarray, direction: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Whether segments ``origin + s direction``, s in [0, 1], cross boxes [lo, hi] (slab method).

    All arrays broadcast to [..., 3]; returns bool [...]. A segment that only touches the box (zero-length overlap)
    does not cross it.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / direction
        t0, t1 = (lo - origin) * inv, (hi - origin) * inv
    near, far = np.minimum(t0, t1), np.maximum(t0, t1)
    # An axis the segment is parallel to: inside the slab means [-inf, inf], outside means empty.
    parallel = direction == 0
    inside = (origin >= lo) & (origin <= hi)
    near = np.where(parallel, np.where(inside, -np.inf, np.inf), near)
    far = np.where(parallel, np.where(inside, np.inf, -np.inf), far)
    enter = np.maximum(near.max(axis=-1), 0.0)
    leave = np.minimum(far.min(axis=-1), 1.0)
    return leave - enter > _EPS


def _obstacle_arrays(cfg: SceneConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Buildings' lower and upper corners [B, 3]; canopies' centres [T, 3] and radii [T]."""
    lo, hi, centres, radii = [], [], [], []
    for ob in cfg.obstacles:
        x, y = ob.position
        if ob.type == "building":
            sx, sy, sz = ob.size
            lo.append((x - sx / 2, y - sy / 2, 0.0))
            hi.append((x + sx / 2, y + sy / 2, sz))
        else:
            radius, _, total = ob.size
            centres.append((x, y, total - radius))
            radii.append(radius)
    return (np.asarray(lo, float).reshape(-1, 3), np.asarray(hi, float).reshape(-1, 3),
            np.asarray(centres, float).reshape(-1, 3), np.asarray(radii, float).reshape(-1))


def sphere_chords(origin: np.ndarray, direction: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Length [m] of the part of segments ``origin + s direction`` (s in [0, 1]) inside spheres.

    ``origin`` and ``direction`` [..., 3] broadcast against ``centres`` [..., 3] and ``radii`` [...].
    """
    f = origin - centres
    a = np.einsum("...i,...i->...", direction, direction)
    b = np.einsum("...i,...i->...", f, direction)
    c = np.einsum("...i,...i->...", f, f) - radii ** 2
    disc = b * b - a * c
    root = np.sqrt(np.maximum(disc, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        s0 = np.clip((-b - root) / a, 0.0, 1.0)
        s1 = np.clip((-b + root) / a, 0.0, 1.0)
    inside = (disc > 0) & (a > 0)
    return np.where(inside, np.maximum(s1 - s0, 0.0), 0.0) * np.sqrt(a)


def _static_crossings(cfg: SceneConfig, origin: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Buildings crossed and chord length through canopies [m] of segments ``origin + s direction`` [...]."""
    b_lo, b_hi, c_centre, c_radius = _obstacle_arrays(cfg)
    crossed = _slab(origin[..., None, :], direction[..., None, :], b_lo, b_hi)                 # [..., B]
    foliage = sphere_chords(origin[..., None, :], direction[..., None, :], c_centre, c_radius)  # [..., T]
    return crossed.sum(axis=-1), foliage.sum(axis=-1)


def static_path_loss(cfg: SceneConfig, origin, points) -> np.ndarray:
    """Two-way loss [dB] of the paths from ``origin`` [3] to ``points`` [P, 3] through buildings and canopies.

    The same losses as :func:`path_losses` without the targets (the clutter's paths: :mod:`disac_ros.sim.clutter`);
    0 everywhere with ``propagation.blockage: false``.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    prop = cfg.propagation
    if not prop.blockage:
        return np.zeros(len(points))
    origin = np.asarray(origin, dtype=np.float64).reshape(1, 3)
    buildings, foliage = _static_crossings(cfg, origin, points - origin)
    return 2.0 * (prop.building_loss_db * buildings + prop.foliage_loss_db_per_m * foliage)


def path_losses(cfg: SceneConfig, device_positions: np.ndarray, target_centres: np.ndarray,
                target_yaws: np.ndarray, target_sizes: np.ndarray) -> PathLosses:
    """Test every device-to-target path of one frame against the scene (see the module docstring).

    ``device_positions`` [D, 3], ``target_centres`` [N, 3] (bounding-box centres), ``target_yaws`` [N] [rad],
    ``target_sizes`` [N, 3] (length along the heading, width, height of each target's current variant).
    Returns arrays [D, N]; with ``propagation.blockage: false`` every loss is 0 and nothing is blocked.
    """
    dev = np.asarray(device_positions, dtype=np.float64).reshape(-1, 3)
    tgt = np.asarray(target_centres, dtype=np.float64).reshape(-1, 3)
    yaws = np.asarray(target_yaws, dtype=np.float64).reshape(len(tgt))
    sizes = np.asarray(target_sizes, dtype=np.float64).reshape(len(tgt), 3)
    D, N = len(dev), len(tgt)
    prop = cfg.propagation
    if not prop.blockage:
        zeros = np.zeros((D, N))
        return PathLosses(zeros, np.zeros((D, N), bool), np.zeros((D, N), bool), zeros.copy())
    origin = dev[:, None, :]                       # [D, 1, 3]
    direction = tgt[None, :, :] - origin           # [D, N, 3]
    buildings, foliage = _static_crossings(cfg, origin, direction)                # [D, N]
    # Other targets: the segment in the frame of target m (rotated by -yaw_m about its centre), [D, N, M].
    c, s = np.cos(yaws), np.sin(yaws)
    rel = origin[:, :, None, :] - tgt[None, None, :, :]                          # [D, 1, M, 3]
    rel = np.broadcast_to(rel, (D, N, N, 3))
    d = np.broadcast_to(direction[:, :, None, :], (D, N, N, 3))

    def to_local(v: np.ndarray) -> np.ndarray:
        return np.stack([c * v[..., 0] + s * v[..., 1], -s * v[..., 0] + c * v[..., 1], v[..., 2]], axis=-1)

    half = sizes / 2
    hits = _slab(to_local(rel), to_local(d), -half, half)
    hits &= ~np.eye(N, dtype=bool)[None]                                          # never its own box
    targets = hits.sum(axis=-1)

    loss = 2.0 * (prop.building_loss_db * buildings + prop.target_loss_db * targets
                  + prop.foliage_loss_db_per_m * foliage)
    return PathLosses(loss, buildings > 0, targets > 0, foliage)


def blockage_statistics(cfg: SceneConfig, sequences: int, seed: int | None = None) -> dict:
    """How often the paths of ``cfg``'s layout are blocked, over ``sequences`` sequences of its frame times.

    Draws each sequence's trajectories with :func:`disac_ros.sim.motion.sequence_trajectories` (``seed``: the
    scene's seed if None) and tests the paths of every frame (``motion.frame_times``), without rendering. Shares
    are over (frame, target) pairs:

    * ``devices[id]``: ``blocked`` (building or target), ``building``, ``target`` (each crossing counted whatever
      else the path crosses), ``foliage`` (crosses some canopy) and ``blocked_by_class`` ({type: share});
    * ``all_blocked`` (every device's path blocked at once) and ``all_blocked_by_class``;
    * ``blocked_devices``: share of pairs blocked for exactly 0, 1, ..., D devices;
    * ``frames``, ``pairs``: how many frames and (frame, target) pairs were measured.
    """
    from disac_ros.sim.motion import frame_times, sequence_trajectories

    seed = cfg.seed if seed is None else seed
    dev = np.array([d.position for d in cfg.devices], dtype=np.float64)
    D, N = len(cfg.devices), len(cfg.targets)
    times = frame_times(cfg)
    sums = {key: np.zeros((D, N)) for key in ("blocked", "building", "target", "foliage")}
    all_blocked, counts = np.zeros(N), np.zeros(D + 1)
    frames = 0
    for sequence in range(sequences):
        trajectories = sequence_trajectories(cfg, seed, sequence)
        sizes = np.array([tr.size for tr in trajectories])
        positions = np.stack([tr.position(times) for tr in trajectories], axis=1)   # [F, N, 3]
        yaws = np.stack([np.atleast_1d(tr.yaw(times)) for tr in trajectories], axis=1)
        for f in range(len(times)):
            p = path_losses(cfg, dev, positions[f], yaws[f], sizes)
            blocked = p.blocked
            sums["blocked"] += blocked
            sums["building"] += p.building
            sums["target"] += p.target
            sums["foliage"] += p.foliage_m > 0
            all_blocked += blocked.all(axis=0)
            counts += np.bincount(blocked.sum(axis=0), minlength=D + 1)
            frames += 1
    pairs = frames * N

    def share(x) -> float:
        return round(float(np.sum(x)) / max(pairs, 1), 4)

    def by_class(per_target: np.ndarray) -> dict[str, float]:
        out = {}
        for name in dict.fromkeys(t.type for t in cfg.targets):
            idx = [n for n, t in enumerate(cfg.targets) if t.type == name]
            out[name] = round(float(per_target[idx].sum()) / max(frames * len(idx), 1), 4)
        return out

    devices = {d.id: {"blocked": share(sums["blocked"][k]), "building": share(sums["building"][k]),
                      "target": share(sums["target"][k]), "foliage": share(sums["foliage"][k]),
                      "blocked_by_class": by_class(sums["blocked"][k])} for k, d in enumerate(cfg.devices)}
    return {"frames": frames, "pairs": pairs, "devices": devices, "all_blocked": share(all_blocked),
            "all_blocked_by_class": by_class(all_blocked),
            "blocked_devices": [round(float(x) / max(pairs, 1), 4) for x in counts]}
