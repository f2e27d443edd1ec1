"""Dataset generation (paper Sec. V-A1).

Genesis renders every device's view (under the sequence's camera condition: clear, fog or low light), Eqs.
(55)-(58) give the labels and Eqs. (1)-(3) with the radar equation the echo of every (device, target, frame):
each device sees each target under its own aspect, with its own Swerling draw of the RCS, through whatever its
path to the target crosses (buildings, canopies, other targets: :mod:`disac_ros.sim.blockage`).
:func:`frame_sensing` is that per-frame physics, shared with the live bridge.

Generation is deterministic (a sequence's trajectories and camera condition come from ``rng([seed, sequence])``
streams, the radar's RCS draws and noise of a frame from ``rng([seed, sequence, frame])`` and the cameras' sensor
noise from ``rng([seed, sequence, frame, 23])``), chunked and resumable: a chunk file exists only once it is
complete, so a killed run re-does at most the chunk it was writing.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from disac_ros.config import CLASSES, SceneConfig
from disac_ros.data import store
from disac_ros.data.crops import CROP_PX, device_crops, thumbnail
from disac_ros.data.detections import device_estimates
from disac_ros.files import write_json_atomic
from disac_ros.sim import labels as label_eqs
from disac_ros.sim.blockage import path_losses
from disac_ros.sim.clutter import clutter_summary, scene_clutter
from disac_ros.sim.conditions import CONDITION_KINDS, apply_condition, needs_depth, sequence_condition
from disac_ros.sim.motion import sequence_trajectories
from disac_ros.sim.radar import ArrayPose, aspect_rcs, draw_rcs, synthesize_echo

log = logging.getLogger(__name__)


def survey_summary(cfg: SceneConfig) -> dict:
    """The manifest's ``survey`` block: the model's sigmas, its sources and every device's drawn pose error."""
    errors = {d.id: cfg.survey_errors(k) for k, d in enumerate(cfg.devices)}
    return {"position_sigma_m": cfg.survey.position_sigma_m, "heading_sigma_deg": cfg.survey.heading_sigma_deg,
            "source": "config.SurveyConfig: GNSS between SBAS and RTK (u-blox ZED-F9P), MEMS compass (Honeywell "
                      "AN-203)",
            "per_device": {d: {"position_error_m": [round(float(v), 4) for v in offset],
                               "heading_error_deg": round(math.degrees(heading), 4)}
                           for d, (offset, heading) in errors.items()}}


def split_sequences(num_sequences: int, fractions: tuple[float, float, float], seed: int) -> dict[str, list[int]]:
    """Split whole sequences into train/val/test, so no frames of one sequence leak across splits.

    A split of a positive fraction gets at least one sequence; one of fraction 0 none, and with no train and no
    val fraction every sequence is a test sequence (data drawn only to evaluate on).
    """
    order = np.random.default_rng([seed, 7]).permutation(num_sequences).tolist()
    if not fractions[0] and not fractions[1]:  # evaluation data (``disac generate --split 0 0 1``): all test
        n_val, n_test = 0, num_sequences
    elif num_sequences < 3:
        n_val, n_test = 0, num_sequences - 1
    else:
        n_val = max(1, round(fractions[1] * num_sequences)) if fractions[1] else 0
        n_test = max(1, round(fractions[2] * num_sequences)) if fractions[2] else 0
    n_train = num_sequences - n_val - n_test
    return {"train": sorted(order[:n_train]), "val": sorted(order[n_train:n_train + n_val]),
            "test": sorted(order[n_train + n_val:])}


@dataclass
class FrameSensing:
    """What every device senses of every target in one frame (D devices, N targets)."""

    labels: np.ndarray     # [D, N, 4] float32: distance, azimuth, pitch, radial velocity (SI, world frame)
    echoes: np.ndarray     # [D, N, C, A, S] complex64
    loss_db: np.ndarray    # [D, N] two-way propagation loss of the path [dB]
    building: np.ndarray   # [D, N] bool: the path crosses a building
    target: np.ndarray     # [D, N] bool: the path crosses another target
    rcs: np.ndarray        # [D, N] RCS the device's radar saw (mean of the frame's chirps) [m^2]

    @property
    def blocked(self) -> np.ndarray:
        """[D, N] bool: line of sight blocked by a building or a target (foliage alone only attenuates)."""
        return self.building | self.target


def frame_sensing(cfg: SceneConfig, positions: np.ndarray, velocities: np.ndarray, yaws: np.ndarray,
                  sizes: np.ndarray, rng: np.random.Generator) -> FrameSensing:
    """Labels, echoes and path losses of one frame.

    Target centres ``positions`` and ``velocities`` [N, 3], headings ``yaws`` [N] [rad], bounding-box ``sizes``
    [N, 3] [m]. Per device k and target n: the labels of Eqs. (55)-(58) in the world frame; the path's loss; the
    mean RCS under the aspect between the target's heading and the device-to-target direction, a Swerling draw
    around it (independent per device: each sees its own aspect); the echo of Eq. (1) in the device's array frame,
    plus the device's clutter of this frame (:mod:`disac_ros.sim.clutter`, its moving part drawn from a stream
    spawned from ``rng``), then the noise.
    """
    dev = np.array([d.position for d in cfg.devices], dtype=np.float64)                       # [D, 3]
    lab = label_eqs.sensing_labels(dev[:, None, :], positions[None], velocities[None])       # each [D, N]
    labels = np.stack([lab[k] for k in store.LABEL_KEYS], axis=-1).astype(np.float32)
    losses = path_losses(cfg, dev, positions, yaws, sizes)
    r = cfg.radar
    D, N = len(cfg.devices), len(cfg.targets)
    echoes = np.empty((D, N, r.num_chirps, r.num_antennas, r.num_samples), dtype=np.complex64)
    seen = np.empty((D, N))
    clutter = scene_clutter(cfg)
    clutter_rng = rng.spawn(1)[0] if clutter is not None else None  # its own stream: rng's draws stay as they were
    background = None
    for k, device in enumerate(cfg.devices):
        pose = ArrayPose.from_device(device.position, device.lookat, r.boresight)
        slant, azimuth, pitch, off_boresight = pose.local(positions)
        if clutter is not None:  # the device's clutter of this frame, the same in all its echoes
            background = clutter[k].frame(clutter_rng)
        for n, tgt in enumerate(cfg.targets):
            los = positions[n, :2] - dev[k, :2]
            aspect = float(yaws[n]) - float(np.arctan2(los[1], los[0]))
            rcs = draw_rcs(aspect_rcs(tgt.radar_cross_section, tgt.aspect_ratio_db, aspect), tgt.swerling,
                           r.num_chirps, rng)
            seen[k, n] = float(np.mean(rcs))
            echoes[k, n] = synthesize_echo(r, float(slant[n]), float(azimuth[n]), float(pitch[n]),
                                           float(lab["radial_velocity"][k, n]), rcs, rng,
                                           loss_db=float(losses.loss_db[k, n]),
                                           off_boresight=float(off_boresight[n]), background=background)
    return FrameSensing(labels, echoes, losses.loss_db.astype(np.float32), losses.building, losses.target,
                        seen.astype(np.float32))


class Generator:
    """Writes a dataset directory for one scene config; ``run()`` resumes whatever is missing."""

    def __init__(self, cfg: SceneConfig, out: str | Path, backend: str = "auto", scene=None, workers: int = 1):
        """``scene``: an already built GenesisScene of the same config to reuse (it is then not closed).

        ``workers`` > 1: the missing chunks are shared among that many processes, each with its own Genesis scene
        (one scene per process); a chunk depends only on (seed, sequence, frame), so the data are the same.
        """
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.cfg, self.out, self.backend, self.workers = cfg, Path(out), backend, workers
        self._owns_scene = scene is None
        self.digest, self.dataset_digest = cfg.digest(), cfg.dataset_digest()
        ds = cfg.dataset
        self.frames = ds.frames_per_sequence
        self.chunks_per_sequence = -(-self.frames // ds.chunk_frames)
        self._scene = scene

    # -- bookkeeping ------------------------------------------------------------------------
    def _claim_directory(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        gen = self.out / "generation.json"
        if gen.exists():
            previous = json.loads(gen.read_text())
            try:  # recomputed from the config: generation.json files older than dataset_digest compare too
                theirs = SceneConfig.model_validate(previous["config"]).dataset_digest()
            except (KeyError, ValueError):
                theirs = previous.get("dataset_digest")
            if theirs != self.dataset_digest:
                raise ValueError(f"{self.out} holds data generated from another config (dataset digest {theirs} != "
                                 f"{self.dataset_digest}; world {previous.get('config_digest')} and {self.digest}); "
                                 "choose a new --out")
        else:
            write_json_atomic(gen, {"config_digest": self.digest, "dataset_digest": self.dataset_digest,
                                    "seed": self.cfg.seed, "config": self.cfg.model_dump(mode="json"),
                                    "format_version": store.FORMAT_VERSION})

    def missing_chunks(self) -> list[tuple[int, int]]:
        """Chunks to (re)generate: absent ones, and ones whose checksum no longer matches the manifest."""
        manifest = self.out / "manifest.json"
        expected = {}
        if manifest.exists():
            expected = {c["path"]: c["sha256"] for c in json.loads(manifest.read_text()).get("chunks", [])}
        todo = []
        for s in range(self.cfg.dataset.sequences):
            for c in range(self.chunks_per_sequence):
                path = store.chunk_path(self.out, s, c)
                rel = str(path.relative_to(self.out))
                if path.exists() and rel in expected and store.sha256_file(path) != expected[rel]:
                    log.warning("%s is corrupt (checksum mismatch): regenerating it", path)
                    path.unlink()
                if not path.exists():
                    todo.append((s, c))
        if todo and manifest.exists():
            manifest.unlink()  # the directory is incomplete until the missing chunks are back
        return todo

    @property
    def scene(self):
        if self._scene is None:
            from disac_ros.sim.scene import GenesisScene

            t0 = time.monotonic()
            self._scene = GenesisScene(self.cfg, backend=self.backend)
            log.info("Genesis scene built in %.1f s", time.monotonic() - t0)
        return self._scene

    # -- generation ---------------------------------------------------------------------------
    def chunk_arrays(self, sequence: int, chunk: int) -> dict[str, np.ndarray]:
        cfg, ds = self.cfg, self.cfg.dataset
        trajectories = sequence_trajectories(cfg, cfg.seed, sequence)
        condition = sequence_condition(cfg, cfg.seed, sequence)
        start = chunk * ds.chunk_frames
        frames = range(start, min(start + ds.chunk_frames, self.frames))
        D, N, W, H = len(cfg.devices), len(cfg.targets), cfg.camera.width, cfg.camera.height
        r = cfg.radar
        F = len(frames)
        a = {
            "time": np.zeros(F), "frame_index": np.asarray(frames, dtype=np.int32),
            **({"crop": np.zeros((F, D, N, CROP_PX, CROP_PX, 3), np.uint8),
                "thumbnail": np.zeros((F, D, *thumbnail(np.zeros((H, W, 3), np.uint8)).shape), np.uint8)}
               if cfg.camera.crop else {"image": np.zeros((F, D, H, W, 3), np.uint8)}),
            "echo": np.zeros((F, D, N, r.num_chirps, r.num_antennas, r.num_samples), np.complex64),
            "visible": np.zeros((F, D, N), bool), "bbox": np.full((F, D, N, 4), -1, np.int16),
            "pixels": np.zeros((F, D, N), np.int32),
            "target_position": np.zeros((F, N, 3)), "target_velocity": np.zeros((F, N, 3)),
            "target_yaw": np.zeros((F, N)), "target_size": np.zeros((F, N, 3)),
            "variant": np.zeros((F, N), np.int8),
            "labels": np.zeros((F, D, N, 4), np.float32),
            "path_loss_db": np.zeros((F, D, N), np.float32), "rcs": np.zeros((F, D, N), np.float32),
            "blocked_building": np.zeros((F, D, N), bool), "blocked_target": np.zeros((F, D, N), bool),
            "blocked": np.zeros((F, D, N), bool),
            "condition": np.full(F, CONDITION_KINDS.index(condition.kind), np.int8),
            "fog_visibility": np.full(F, condition.visibility_m or 0.0),
            "light_gain": np.full(F, condition.gain or 1.0),
        }
        variants = np.array([tr.variant for tr in trajectories])
        sizes = np.array([tr.size for tr in trajectories])
        for i, f in enumerate(frames):
            t = f / ds.fps
            pos = np.array([tr.position(t) for tr in trajectories])
            vel = np.array([tr.velocity(t) for tr in trajectories])
            yaw = np.array([tr.yaw(t) for tr in trajectories])
            self.scene.set_targets(pos, yaw, variants)
            views = self.scene.render(depth=needs_depth(condition))
            noise = np.random.default_rng([cfg.seed, sequence, f, 23])
            sensed = frame_sensing(cfg, pos, vel, yaw, sizes, np.random.default_rng([cfg.seed, sequence, f]))
            for k, dev in enumerate(cfg.devices):
                view = views[dev.id]
                image = apply_condition(view.rgb, condition, cfg.conditions, noise, depth=view.depth,
                                        intrinsics=self.scene.intrinsics(dev.id))
                if cfg.camera.crop:  # what the device's RVFN reads: the crop around its own radar's detections
                    a["crop"][i, k] = device_crops(image, device_estimates(cfg, k, sensed.echoes[k]), cfg, k,
                                                   self.scene.intrinsics(dev.id), self.scene.extrinsics(dev.id))
                    a["thumbnail"][i, k] = thumbnail(image)
                else:
                    a["image"][i, k] = image
                a["visible"][i, k] = view.visible
                a["bbox"][i, k] = view.bbox
                a["pixels"][i, k] = view.pixel_count
            a["labels"][i], a["echo"][i] = sensed.labels, sensed.echoes
            a["path_loss_db"][i], a["rcs"][i] = sensed.loss_db, sensed.rcs
            a["blocked_building"][i], a["blocked_target"][i], a["blocked"][i] = \
                sensed.building, sensed.target, sensed.blocked
            a["time"][i], a["target_position"][i], a["target_velocity"][i] = t, pos, vel
            a["target_yaw"][i], a["target_size"][i], a["variant"][i] = yaw, sizes, variants
        return a

    def run(self, progress: bool = True) -> dict:
        """Generate every missing chunk, then write the manifest. Returns the manifest."""
        from tqdm import tqdm

        self._claim_directory()
        todo = self.missing_chunks()
        if not todo and (self.out / "manifest.json").exists():
            return store.load_manifest(self.out)  # complete: keep the manifest (and the probes written into it)
        total = self.cfg.dataset.sequences * self.chunks_per_sequence
        if todo:
            log.info("%d of %d chunks to generate in %s", len(todo), total, self.out)
        t0 = time.monotonic()
        frames_done = 0
        cameras = None
        with tqdm(total=len(todo) * self.cfg.dataset.chunk_frames, unit="frame", disable=not progress,
                  desc="generate", dynamic_ncols=True) as bar:
            if self.workers > 1 and len(todo) > 1 and self._scene is None:
                for n, calibration in self._in_workers(todo):
                    frames_done, cameras = frames_done + n, calibration
                    bar.update(n)
            else:
                for sequence, chunk in todo:
                    n = self.write_chunk(sequence, chunk)
                    frames_done += n
                    bar.update(n)
        elapsed = time.monotonic() - t0
        cameras = cameras or self._camera_info()
        if self._scene is not None and self._owns_scene:
            self._scene.close()
            self._scene = None
        return self.write_manifest(cameras, generation_seconds=elapsed, frames_generated=frames_done)

    def write_chunk(self, sequence: int, chunk: int) -> int:
        """Generate and write one chunk file (atomically); returns its number of frames."""
        arrays = self.chunk_arrays(sequence, chunk)
        store.write_chunk(store.chunk_path(self.out, sequence, chunk), arrays,
                          {"sequence": sequence, "chunk": chunk, "config_digest": self.digest,
                           "dataset_digest": self.dataset_digest,
                           "device_ids": json.dumps([d.id for d in self.cfg.devices])})
        return len(arrays["time"])

    def _in_workers(self, todo: list[tuple[int, int]]):
        """Yield (frames, cameras) per chunk as ``self.workers`` spawned processes write them."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        workers = min(self.workers, len(todo))
        log.info("generating in %d worker processes, one Genesis scene each", workers)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init,
                                 initargs=(self.cfg.model_dump_json(), str(self.out), self.backend, workers)) as pool:
            for future in as_completed([pool.submit(_worker_chunk, s, c) for s, c in todo]):
                yield future.result()

    def _camera_info(self) -> dict:
        """Intrinsics and world->camera extrinsics per device (from the last manifest if nothing was rendered)."""
        previous = self.out / "manifest.json"
        if self._scene is None and previous.exists():
            cameras = json.loads(previous.read_text()).get("cameras")
            if cameras:
                return cameras
        return {d.id: {"intrinsics": np.asarray(self.scene.intrinsics(d.id)).tolist(),
                       "extrinsics": np.asarray(self.scene.extrinsics(d.id)).tolist()} for d in self.cfg.devices}

    def write_manifest(self, cameras: dict, generation_seconds: float, frames_generated: int) -> dict:
        import h5py

        cfg = self.cfg
        D, N = len(cfg.devices), len(cfg.targets)
        chunks, frames = [], 0
        sums = {key: np.zeros((D, N)) for key in ("visible", "blocked", "blocked_building", "blocked_target")}
        all_blocked, conditions = 0.0, np.zeros(len(CONDITION_KINDS))
        for s in range(cfg.dataset.sequences):
            for c in range(self.chunks_per_sequence):
                path = store.chunk_path(self.out, s, c)
                with h5py.File(path, "r") as f:
                    n = int(f["time"].shape[0])
                    for key, total in sums.items():
                        total += f[key][()].sum(axis=0)
                    all_blocked += float(f["blocked"][()].all(axis=1).sum())
                    if c == 0:
                        conditions[int(f["condition"][0])] += 1
                chunks.append({"sequence": s, "chunk": c, "frames": n,
                               "path": str(path.relative_to(self.out)), "sha256": store.sha256_file(path)})
                frames += n

        def share(key: str, k: int, n: int | None = None) -> float:
            total = sums[key]
            value = total[k].sum() / (max(frames, 1) * N) if n is None else total[k, n] / max(frames, 1)
            return round(float(value), 4)

        def by_class(key: str, k: int) -> dict[str, float]:
            return {t.type: share(key, k, n) for n, t in enumerate(cfg.targets)}

        blockage = {d.id: {"blocked": share("blocked", k), "building": share("blocked_building", k),
                           "target": share("blocked_target", k), "blocked_by_class": by_class("blocked", k),
                           "visible_by_class": by_class("visible", k)} for k, d in enumerate(cfg.devices)}
        class_counts = {name: sum(1 for t in cfg.targets if t.type == name) * frames * D for name in CLASSES}
        manifest = {
            "format_version": store.FORMAT_VERSION,
            "config_digest": self.digest,
            "dataset_digest": self.dataset_digest,
            "seed": cfg.seed,
            "sampling": cfg.sampling(),
            "config": cfg.model_dump(mode="json"),
            "classes": list(CLASSES),
            "devices": [{"id": d.id, "position": list(d.position), "aggregation_center": i == 0}
                        for i, d in enumerate(cfg.devices)],
            "targets": [{"id": n, "type": t.type, "class_id": CLASSES.index(t.type), "rcs": t.radar_cross_section}
                        for n, t in enumerate(cfg.targets)],
            "counts": {"sequences": cfg.dataset.sequences, "frames": frames, "devices": D, "targets": N,
                       "device_target_samples": frames * D * N},
            "class_balance": class_counts,
            "visibility": {d.id: by_class("visible", k) for k, d in enumerate(cfg.devices)},
            "blockage": {"per_device": blockage,
                         "all_devices": round(all_blocked / max(frames * N, 1), 4),
                         "definition": "share of (frame, target) pairs whose line of sight from the device crosses a "
                                       "building or another target (sim/blockage.py); visible: the camera sees pixels"},
            "conditions": {kind: round(float(conditions[i]) / cfg.dataset.sequences, 4)
                           for i, kind in enumerate(CONDITION_KINDS)},
            "clutter": clutter_summary(cfg),
            "survey": survey_summary(cfg),
            "normalization": label_eqs.normalization_spec(cfg.max_distance, cfg.velocity_bound),
            "splits": split_sequences(cfg.dataset.sequences, cfg.dataset.split, cfg.seed),
            "cameras": cameras,
            "radar": {**cfg.radar.model_dump(mode="json"), "chirp_slope": cfg.radar.chirp_slope,
                      "num_samples": cfg.radar.num_samples, "num_antennas": cfg.radar.num_antennas},
            "timing": {"generation_seconds": round(generation_seconds, 2), "frames_generated": frames_generated},
            "chunks": chunks,
        }
        write_json_atomic(self.out / "manifest.json", manifest)
        return manifest


_WORKER: Generator | None = None


def _worker_init(config_json: str, out: str, backend: str, workers: int) -> None:
    """A generation worker process: its own Generator and scene; BLAS and torch on this process's share of CPUs."""
    global _WORKER
    import os

    import torch

    threads = max(1, (os.cpu_count() or 1) // workers)
    torch.set_num_threads(threads)
    _WORKER = Generator(SceneConfig.model_validate_json(config_json), out, backend=backend)


def _worker_chunk(sequence: int, chunk: int) -> tuple[int, dict]:
    """Write one chunk in a worker; (its frames, the cameras' calibration) back to the driver."""
    return _WORKER.write_chunk(sequence, chunk), _WORKER._camera_info()

