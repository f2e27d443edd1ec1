"""The Genesis multi-view scene of paper Sec. V-A1 (Fig. 4).

A bounded ground plane, static obstacles, three kinematic targets (car, robot dog, drone) and one RGB camera
per sensing device.

Every frame the caller places the targets (``set_targets``) and renders all devices (``render``): an RGB image
plus, from Genesis' entity segmentation, which pixels belong to which target. A target that covers no pixel
(occluded by an obstacle or another target, or outside the view) is invisible in that view.

Models: the car is a one-link URDF of boxes and cylinders written by this module; the dog is Genesis' Unitree
Go2 with its meshes decimated (23 k faces instead of 400 k: the full meshes make llvmpipe rendering several
times slower, and the detail is invisible at these resolutions) and posed standing; the drone is the
Crazyflie cf2x scaled up. Genesis fixes a model's size when the scene is built, so every target has one entity
per size variant (``motion.TARGET_SIZE`` x each of the target's ``scale`` values); ``set_targets`` places the chosen
variant of each target, the centre of its bounding box (the label reference point) at the given position with +x
along the heading, and parks the others below the ground, beyond every camera's far clip (never drawn, never in
a segmentation). The segmentation maps every variant's entity to its target's index.
Generated assets are cached under ``$XDG_CACHE_HOME/disac_ros``.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from disac_ros.config import SceneConfig
from disac_ros.sim.motion import target_size, trunk_radius

log = logging.getLogger(__name__)

_GO2_STAND = {"hip": 0.0, "thigh": 0.8, "calf": -1.5}
# Colours (RGB 0..1).
_SKY, _GROUND, _DRONE = (0.62, 0.76, 0.90), (0.36, 0.45, 0.31), (0.12, 0.12, 0.14)
_BUILDING = ((0.72, 0.68, 0.60), (0.60, 0.62, 0.66), (0.70, 0.58, 0.50))
_TRUNK, _CANOPY = (0.40, 0.28, 0.18), (0.20, 0.45, 0.18)


@dataclass
class CameraFrame:
    """One device's view of one frame. Per-target arrays follow the order of ``cfg.targets``.

    ``bbox`` rows are (x0, y0, x1, y1) in pixels, inclusive (column/row of the first and last target pixel);
    (-1, -1, -1, -1) for an invisible target. ``mask`` holds the target index of each pixel, -1 elsewhere.
    The four segmentation fields are None from ``render(segmentation=False)`` (the live bridge: it publishes only
    the image). ``depth`` (only from ``render(depth=True)``, else None) is the planar depth in metres, the z
    coordinate of each pixel's surface point in the camera frame (not the distance along the ray: see
    ``conditions.ray_distance``), and ``inf`` where no geometry is within the far clip (the sky).
    """

    rgb: np.ndarray          # [H, W, 3] uint8
    visible: np.ndarray | None      # [N] bool
    bbox: np.ndarray | None         # [N, 4] int
    pixel_count: np.ndarray | None  # [N] int
    mask: np.ndarray | None         # [H, W] int8
    depth: np.ndarray | None = None  # [H, W] float32 [m], inf for the sky


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "disac_ros"


def _publish(build, dest: Path) -> Path:
    """Create ``dest`` (a directory) with ``build(tmpdir)`` unless it exists; atomic across processes."""
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-"))
        try:
            build(tmp)
            tmp.rename(dest)
        except OSError:  # another process published it first
            if not dest.exists():
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def car_urdf() -> str:
    """Return a one-link car URDF (body, cabin, windows, wheels, lights) of ``TARGET_SIZE['car']``, box-centred."""
    length, width, height = target_size("car")
    hz = height / 2
    r, wt = 0.34, 0.26  # wheel radius and width
    parts = [  # (material, geometry xml, xyz, rpy)
        ("paint", f'<box size="{length} {width} 0.62"/>', (0, 0, 0.22 + 0.31 - hz), (0, 0, 0)),
        ("paint", f'<box size="{0.52 * length} {0.9 * width} 0.66"/>', (-0.05 * length, 0, 0.84 + 0.33 - hz),
         (0, 0, 0)),
        ("glass", f'<box size="{0.48 * length} {0.92 * width} 0.42"/>', (-0.05 * length, 0, 0.84 + 0.26 - hz),
         (0, 0, 0)),
        ("glass", f'<box size="{0.54 * length} {0.80 * width} 0.42"/>', (-0.05 * length, 0, 0.84 + 0.26 - hz),
         (0, 0, 0)),
        ("tyre", f'<cylinder radius="{r}" length="{wt}"/>', (0.31 * length, (width - wt) / 2, r - hz), (1.5708, 0, 0)),
        ("tyre", f'<cylinder radius="{r}" length="{wt}"/>', (0.31 * length, -(width - wt) / 2, r - hz), (1.5708, 0, 0)),
        ("tyre", f'<cylinder radius="{r}" length="{wt}"/>', (-0.31 * length, (width - wt) / 2, r - hz), (1.5708, 0, 0)),
        ("tyre", f'<cylinder radius="{r}" length="{wt}"/>', (-0.31 * length, -(width - wt) / 2, r - hz),
         (1.5708, 0, 0)),
        ("light", '<box size="0.04 0.35 0.14"/>', (length / 2, 0.55, 0.62 - hz), (0, 0, 0)),
        ("light", '<box size="0.04 0.35 0.14"/>', (length / 2, -0.55, 0.62 - hz), (0, 0, 0)),
    ]
    colours = {"paint": "0.75 0.08 0.06 1", "glass": "0.12 0.16 0.22 1", "tyre": "0.05 0.05 0.05 1",
               "light": "1 0.95 0.7 1"}
    visuals = "".join(
        f'<visual><origin xyz="{x} {y} {z}" rpy="{a} {b} {c}"/><geometry>{g}</geometry>'
        f'<material name="{m}"/></visual>' for m, g, (x, y, z), (a, b, c) in parts)
    materials = "".join(f'<material name="{m}"><color rgba="{c}"/></material>' for m, c in colours.items())
    return (f'<?xml version="1.0"?><robot name="car">{materials}<link name="body">'
            f'<inertial><mass value="1200"/><inertia ixx="1" ixy="0" ixz="0" iyy="1" iyz="0" izz="1"/>'
            f'</inertial>{visuals}</link></robot>\n')


def _decimate_go2(dest: Path, keep: float = 0.05, min_faces: int = 150) -> None:
    """Copy Genesis' Go2 URDF to ``dest`` with each visual mesh decimated to ``keep`` of its faces (as GLB)."""
    import fast_simplification
    import trimesh
    from genesis.utils.misc import get_assets_dir

    src = Path(get_assets_dir()) / "urdf" / "go2"
    (dest / "dae").mkdir(parents=True)
    (dest / "urdf").mkdir()
    for dae in sorted((src / "dae").glob("*.dae")):
        loaded = trimesh.load(dae)
        meshes = loaded.dump(concatenate=False) if isinstance(loaded, trimesh.Scene) else [loaded]
        out = trimesh.Scene()
        for i, m in enumerate(meshes):
            colour = getattr(getattr(m.visual, "material", None), "main_color", [128, 128, 128, 255])
            # Weld the texture/normal seams first, or the simplifier tears the surface apart along them.
            m = trimesh.Trimesh(m.vertices, m.faces, process=False)
            m.merge_vertices(merge_tex=True, merge_norm=True)
            v, f, n = m.vertices, m.faces, len(m.faces)
            reduction = max(0.0, 1.0 - max(min_faces, keep * n) / n)
            if reduction > 0:
                v, f = fast_simplification.simplify(v.astype(np.float32), f.astype(np.int32), reduction)
            lite = trimesh.Trimesh(v, f, process=False)
            lite.visual = trimesh.visual.TextureVisuals(material=trimesh.visual.material.PBRMaterial(
                baseColorFactor=colour, metallicFactor=0.0, roughnessFactor=0.8))
            out.add_geometry(lite, geom_name=f"part{i}")
        out.export(dest / "dae" / f"{dae.stem}.glb")
    urdf = (src / "urdf" / "go2.urdf").read_text().replace('.dae"', '.glb"')
    (dest / "urdf" / "go2.urdf").write_text(urdf)


def _quat_yaw(yaw: np.ndarray) -> np.ndarray:
    """Quaternions (w, x, y, z) of rotations by ``yaw`` about +z."""
    yaw = np.asarray(yaw, dtype=np.float64)
    return np.stack([np.cos(yaw / 2), np.zeros_like(yaw), np.zeros_like(yaw), np.sin(yaw / 2)], axis=-1)


def _rot_z(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def init_genesis(backend: str = "auto", seed: int = 0) -> str:
    """Initialise Genesis once per process (later calls are no-ops); returns the backend in use."""
    import genesis as gs
    import torch

    if backend == "auto":
        backend = "cuda" if torch.cuda.is_available() else "cpu"
    if backend not in ("cpu", "cuda"):
        raise ValueError(f"backend must be auto, cpu or cuda, got {backend!r}")
    if not getattr(gs, "_initialized", False):
        gs.init(backend=gs.gpu if backend == "cuda" else gs.cpu, seed=seed, logging_level="warning")
        # Expected for the Go2 (its zero calf angle is outside the joint limits); it is posed standing after build.
        gs.logger.addFilter(lambda record: "qpos0) exceeds joint limits" not in record.getMessage())
        log.info("Genesis initialised on %s", backend)
    return backend


class GenesisScene:
    """The multi-view scene of one :class:`SceneConfig`; see the module docstring."""

    def __init__(self, cfg: SceneConfig, backend: str = "auto"):
        t0 = time.monotonic()
        self.cfg = cfg
        self.backend = init_genesis(backend, cfg.seed)
        import genesis as gs

        cache = _cache_dir()
        car = car_urdf()
        car_dir = _publish(lambda d: (d / "car.urdf").write_text(car),
                           cache / f"car-{hashlib.sha1(car.encode()).hexdigest()[:10]}")
        go2 = _publish(_decimate_go2, cache / "go2-lite-v2")
        scene = gs.Scene(
            show_viewer=False,
            vis_options=gs.options.VisOptions(segmentation_level="entity", background_color=_SKY,
                                              ambient_light=(0.3, 0.3, 0.3), shadow=False,
                                              lights=[{"type": "directional", "dir": (-0.4, 0.5, -1.0),
                                                       "color": (1.0, 1.0, 0.95), "intensity": 5.0}]),
            renderer=gs.renderers.Rasterizer(),
        )
        kin = gs.materials.Kinematic
        w = cfg.world
        scene.add_entity(gs.morphs.Plane(plane_size=tuple(w.size), tile_size=(4.0, 4.0)), material=kin(),
                         surface=gs.surfaces.Rough(color=_GROUND))
        for i, ob in enumerate(cfg.obstacles):
            x, y = ob.position
            if ob.type == "building":
                sx, sy, sz = ob.size
                scene.add_entity(gs.morphs.Box(pos=(x, y, sz / 2), size=(sx, sy, sz), fixed=True), material=kin(),
                                 surface=gs.surfaces.Rough(color=_BUILDING[i % len(_BUILDING)]))
            else:
                radius, _, total = ob.size
                trunk = total - radius
                scene.add_entity(gs.morphs.Cylinder(pos=(x, y, trunk / 2), radius=trunk_radius(radius),
                                                    height=trunk, fixed=True),
                                 material=kin(), surface=gs.surfaces.Rough(color=_TRUNK))
                scene.add_entity(gs.morphs.Sphere(pos=(x, y, total - radius), radius=radius, fixed=True),
                                 material=kin(), surface=gs.surfaces.Rough(color=_CANOPY))
        log.info("scene: ground %gx%g m, %d obstacles", *w.size, len(cfg.obstacles))

        # Per target, one entity per size variant; each starts parked (out of every view) until placed.
        self._targets: list[list] = []
        for n, tgt in enumerate(cfg.targets):
            variants = []
            for v, scale in enumerate(tgt.scale):
                parked = tuple(self._parking(n, v))
                surface = None
                if tgt.type == "car":
                    morph = gs.morphs.URDF(file=str(car_dir / "car.urdf"), scale=scale, pos=parked, fixed=True)
                elif tgt.type == "dog":  # the standing Go2 is 0.694 m long
                    morph = gs.morphs.URDF(file=str(go2 / "urdf" / "go2.urdf"), pos=parked, fixed=True,
                                           scale=scale * target_size("dog")[0] / 0.694)
                else:  # cf2x is 0.0966 m long (x) across the propeller guards
                    morph = gs.morphs.URDF(file="urdf/drones/cf2x.urdf", pos=parked, fixed=True,
                                           scale=scale * target_size("drone")[0] / 0.0966)
                    surface = gs.surfaces.Default(color=_DRONE)
                variants.append(scene.add_entity(morph, material=kin(), surface=surface))
            self._targets.append(variants)
            log.info("target %d: %s, speed %s m/s, size variants %s", n, tgt.type, list(tgt.speed), list(tgt.scale))
        self._placed: list[int | None] = [None] * len(self._targets)

        cam = cfg.camera
        self._cameras = {}
        for dev in cfg.devices:
            self._cameras[dev.id] = scene.add_camera(res=(cam.width, cam.height), pos=tuple(dev.position),
                                                     lookat=tuple(dev.lookat), fov=cam.fov, far=cam.far, GUI=False)
        scene.build()
        self.scene = scene

        # Pose the dogs, then measure each entity's bounding-box centre in its own frame (yaw 0).
        self._offsets = [np.zeros((len(variants), 3)) for variants in self._targets]
        for n, (tgt, variants) in enumerate(zip(cfg.targets, self._targets, strict=True)):
            for v, ent in enumerate(variants):
                if tgt.type == "dog":
                    names = [j.name for j in ent.joints if j.n_dofs == 1]
                    q = [next(val for k, val in _GO2_STAND.items() if f"_{k}_" in name) for name in names]
                    ent.set_dofs_position(np.array(q), [ent.get_joint(nm).dofs_idx_local[0] for nm in names])
                base = np.asarray(ent.get_pos().cpu(), dtype=np.float64)
                aabb = np.asarray(ent.get_vAABB().cpu(), dtype=np.float64)
                self._offsets[n][v] = aabb.mean(axis=0) - base
                log.info("target %d (%s) variant %d: box %s m", n, tgt.type, v,
                         np.round(aabb[1] - aabb[0], 2).tolist())

        # Segmentation index -> target index lookup (every variant's entity maps to its target).
        seg_map = scene.visualizer.segmentation_idx_dict
        ent_to_target = {ent.idx: n for n, variants in enumerate(self._targets) for ent in variants}
        self._seg_lut = np.full(max(seg_map) + 1, -1, dtype=np.int8)
        for seg_idx, key in seg_map.items():
            if key in ent_to_target:
                self._seg_lut[seg_idx] = ent_to_target[key]
        self._dirty = True
        log.info("Genesis scene built in %.1f s: %d devices at %dx%d, %d targets",
                 time.monotonic() - t0, len(cfg.devices), cam.width, cam.height, len(self._targets))

    # -- targets ------------------------------------------------------------------------------------
    def _parking(self, target: int, variant: int) -> np.ndarray:
        """Where an unused entity waits: below the ground plane, beyond every camera's far clip."""
        return np.array([5.0 * target, 5.0 * variant, -(self.cfg.camera.far + 50.0)])

    def set_targets(self, positions: np.ndarray, yaws: np.ndarray, variants: np.ndarray | None = None) -> None:
        """Place the targets: bounding-box centres ``positions`` [N, 3] (m) and headings ``yaws`` [N] (rad).

        ``variants`` [N]: the size variant (index into the target's ``scale``) to show, e.g. ``Trajectory.variant``;
        None: variant 0 of every target. The target's other variants are parked out of every view.
        """
        N = len(self._targets)
        positions = np.asarray(positions, dtype=np.float64).reshape(N, 3)
        yaws = np.asarray(yaws, dtype=np.float64).reshape(N)
        variants = np.zeros(N, dtype=np.int64) if variants is None else np.asarray(variants).reshape(N)
        quats = _quat_yaw(yaws)
        for n, entities in enumerate(self._targets):
            v = int(variants[n])
            if not 0 <= v < len(entities):
                raise ValueError(f"set_targets: target {n} has {len(entities)} size variants, got variant {v}")
            previous = self._placed[n]
            if previous is not None and previous != v:
                entities[previous].set_pos(self._parking(n, previous))
            entities[v].set_quat(quats[n])
            entities[v].set_pos(positions[n] - _rot_z(yaws[n]) @ self._offsets[n][v])
            self._placed[n] = v
        self._dirty = True

    def target_centers(self) -> np.ndarray:
        """World centre [N, 3] of each target's placed variant's axis-aligned bounding box (the label reference)."""
        return np.stack([np.asarray(variants[v or 0].get_vAABB().cpu(), dtype=np.float64).mean(axis=0)
                         for variants, v in zip(self._targets, self._placed, strict=True)])

    # -- cameras ------------------------------------------------------------------------------------
    def intrinsics(self, device_id: str) -> np.ndarray:
        """Pinhole matrix K (3x3, pixels) of a device's camera."""
        return np.asarray(self._cameras[device_id].intrinsics, dtype=np.float64)

    def extrinsics(self, device_id: str) -> np.ndarray:
        """World-to-camera transform (4x4, OpenCV axes: x right, y down, z forward)."""
        return np.asarray(self._cameras[device_id].extrinsics, dtype=np.float64)

    def render(self, depth: bool = False, segmentation: bool = True) -> dict[str, CameraFrame]:
        """Render every device's RGB image and target segmentation for the current target poses.

        ``segmentation=False`` skips the segmentation pass (a third of the rendering CPU at 128 px) and leaves the
        frames' segmentation fields None; the image is the same. With ``depth`` also each view's planar depth
        (``CameraFrame.depth``; read from the same rasterisation pass, so the image is unchanged). Genesis'
        rasteriser reports the far clip distance (149.99 m for ``far`` 150) where nothing was drawn; like its
        ``render_pointcloud``, depths from ``far * (1 - 1e-3)`` on are taken for the sky and set to ``inf``.
        """
        n = len(self._targets)
        frames = {}
        for dev_id, cam in self._cameras.items():
            rgb, z, seg, _ = cam.render(rgb=True, depth=depth, segmentation=segmentation, force_render=self._dirty)
            self._dirty = False
            if depth:
                z = np.array(z, dtype=np.float32)
                z[z >= cam.far * (1.0 - 1e-3)] = np.inf
            rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
            if not segmentation:
                frames[dev_id] = CameraFrame(rgb, None, None, None, None, z if depth else None)
                continue
            mask = self._seg_lut[np.asarray(seg)]
            counts = np.bincount(mask.ravel().astype(np.int64) + 1, minlength=n + 1)[1:]
            bbox = np.full((n, 4), -1, dtype=np.int64)
            for t in np.flatnonzero(counts):
                ys, xs = np.nonzero(mask == t)
                bbox[t] = xs.min(), ys.min(), xs.max(), ys.max()
            frames[dev_id] = CameraFrame(rgb, counts > 0, bbox, counts, mask, z if depth else None)
        return frames

    def close(self) -> None:
        """Release the scene's renderer and solver resources (Genesis itself stays initialised)."""
        if getattr(self, "scene", None) is not None:
            try:
                self.scene.destroy()
            finally:
                self.scene = None

    def __enter__(self) -> GenesisScene:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
