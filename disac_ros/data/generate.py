"""Dataset generation (paper Sec. V-A1).

Genesis renders every device's view, Eqs. (55)-(58) give the labels and Eqs. (1)-(3) the radar echo of
every (device, target, frame).

Generation is deterministic (a sequence's trajectories come from ``rng([seed, sequence])`` and the radar
noise of a frame from ``rng([seed, sequence, frame])``), chunked and resumable: a chunk file exists only
once it is complete, so a killed run re-does at most the chunk it was writing.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from disac_ros.config import CLASSES, SceneConfig
from disac_ros.data import store
from disac_ros.files import write_json_atomic
from disac_ros.sim import labels as label_eqs
from disac_ros.sim.motion import sample_trajectories
from disac_ros.sim.radar import synthesize_echo

log = logging.getLogger(__name__)


def split_sequences(num_sequences: int, fractions: tuple[float, float, float], seed: int) -> dict[str, list[int]]:
    """Split whole sequences into train/val/test, so no frames of one sequence leak across splits."""
    order = np.random.default_rng([seed, 7]).permutation(num_sequences).tolist()
    if num_sequences < 3:
        n_val, n_test = 0, num_sequences - 1
    else:
        n_val = max(1, round(fractions[1] * num_sequences))
        n_test = max(1, round(fractions[2] * num_sequences))
    n_train = num_sequences - n_val - n_test
    return {"train": sorted(order[:n_train]), "val": sorted(order[n_train:n_train + n_val]),
            "test": sorted(order[n_train + n_val:])}


def frame_labels_and_echoes(cfg: SceneConfig, positions: np.ndarray, velocities: np.ndarray,
                            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Labels [D, N, 4] (SI) and echoes [D, N, C, A, S] for one frame; positions/velocities are [N, 3]."""
    dev = np.array([d.position for d in cfg.devices], dtype=np.float64)[:, None, :]          # [D, 1, 3]
    lab = label_eqs.sensing_labels(dev, positions[None], velocities[None])                   # each [D, N]
    out = np.stack([lab[k] for k in store.LABEL_KEYS], axis=-1).astype(np.float32)
    r = cfg.radar
    echoes = np.empty((len(cfg.devices), len(cfg.targets), r.num_chirps, r.num_antennas, r.num_samples),
                      dtype=np.complex64)
    for k in range(len(cfg.devices)):
        for n, tgt in enumerate(cfg.targets):
            echoes[k, n] = synthesize_echo(r, float(lab["slant_range"][k, n]), float(lab["azimuth"][k, n]),
                                           float(lab["pitch"][k, n]), float(lab["radial_velocity"][k, n]),
                                           tgt.radar_cross_section, rng)
    return out, echoes


class Generator:
    """Writes a dataset directory for one scene config; ``run()`` resumes whatever is missing."""

    def __init__(self, cfg: SceneConfig, out: str | Path, backend: str = "auto", scene=None):
        """``scene``: an already built GenesisScene of the same config to reuse (it is then not closed)."""
        self.cfg, self.out, self.backend = cfg, Path(out), backend
        self._owns_scene = scene is None
        self.digest = cfg.digest()
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
            if previous.get("config_digest") != self.digest:
                raise ValueError(f"{self.out} holds data generated from another config (digest "
                                 f"{previous.get('config_digest')} != {self.digest}); choose a new --out")
        else:
            write_json_atomic(gen, {"config_digest": self.digest, "config": self.cfg.model_dump(mode="json"),
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
        trajectories = sample_trajectories(cfg, np.random.default_rng([cfg.seed, sequence]))
        start = chunk * ds.chunk_frames
        frames = range(start, min(start + ds.chunk_frames, self.frames))
        D, N, W, H = len(cfg.devices), len(cfg.targets), cfg.camera.width, cfg.camera.height
        r = cfg.radar
        F = len(frames)
        a = {
            "time": np.zeros(F), "frame_index": np.asarray(frames, dtype=np.int32),
            "image": np.zeros((F, D, H, W, 3), np.uint8),
            "echo": np.zeros((F, D, N, r.num_chirps, r.num_antennas, r.num_samples), np.complex64),
            "visible": np.zeros((F, D, N), bool), "bbox": np.full((F, D, N, 4), -1, np.int16),
            "pixels": np.zeros((F, D, N), np.int32),
            "target_position": np.zeros((F, N, 3)), "target_velocity": np.zeros((F, N, 3)),
            "labels": np.zeros((F, D, N, 4), np.float32),
        }
        for i, f in enumerate(frames):
            t = f / ds.fps
            pos = np.array([tr.position(t) for tr in trajectories])
            vel = np.array([tr.velocity(t) for tr in trajectories])
            yaw = np.array([tr.yaw(t) for tr in trajectories])
            self.scene.set_targets(pos, yaw)
            views = self.scene.render()
            for k, dev in enumerate(cfg.devices):
                view = views[dev.id]
                a["image"][i, k] = view.rgb
                a["visible"][i, k] = view.visible
                a["bbox"][i, k] = view.bbox
                a["pixels"][i, k] = view.pixel_count
            a["labels"][i], a["echo"][i] = frame_labels_and_echoes(
                cfg, pos, vel, np.random.default_rng([cfg.seed, sequence, f]))
            a["time"][i], a["target_position"][i], a["target_velocity"][i] = t, pos, vel
        return a

    def run(self, progress: bool = True) -> dict:
        """Generate every missing chunk, then write the manifest. Returns the manifest."""
        from tqdm import tqdm

        self._claim_directory()
        todo = self.missing_chunks()
        total = self.cfg.dataset.sequences * self.chunks_per_sequence
        if todo:
            log.info("%d of %d chunks to generate in %s", len(todo), total, self.out)
        t0 = time.monotonic()
        frames_done = 0
        with tqdm(total=len(todo) * self.cfg.dataset.chunk_frames, unit="frame", disable=not progress,
                  desc="generate", dynamic_ncols=True) as bar:
            for sequence, chunk in todo:
                arrays = self.chunk_arrays(sequence, chunk)
                store.write_chunk(store.chunk_path(self.out, sequence, chunk), arrays,
                                  {"sequence": sequence, "chunk": chunk, "config_digest": self.digest,
                                   "device_ids": json.dumps([d.id for d in self.cfg.devices])})
                n = len(arrays["time"])
                frames_done += n
                bar.update(n)
        elapsed = time.monotonic() - t0
        cameras = self._camera_info()
        if self._scene is not None and self._owns_scene:
            self._scene.close()
            self._scene = None
        return self.write_manifest(cameras, generation_seconds=elapsed, frames_generated=frames_done)

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
        chunks, visible, frames = [], np.zeros((len(cfg.devices), len(cfg.targets))), 0
        for s in range(cfg.dataset.sequences):
            for c in range(self.chunks_per_sequence):
                path = store.chunk_path(self.out, s, c)
                with h5py.File(path, "r") as f:
                    n = int(f["time"].shape[0])
                    visible += f["visible"][()].sum(axis=0)
                chunks.append({"sequence": s, "chunk": c, "frames": n,
                               "path": str(path.relative_to(self.out)), "sha256": store.sha256_file(path)})
                frames += n
        D, N = len(cfg.devices), len(cfg.targets)
        class_counts = {name: sum(1 for t in cfg.targets if t.type == name) * frames * D for name in CLASSES}
        manifest = {
            "format_version": store.FORMAT_VERSION,
            "config_digest": self.digest,
            "config": cfg.model_dump(mode="json"),
            "classes": list(CLASSES),
            "devices": [{"id": d.id, "position": list(d.position), "aggregation_center": i == 0}
                        for i, d in enumerate(cfg.devices)],
            "targets": [{"id": n, "type": t.type, "class_id": CLASSES.index(t.type), "rcs": t.radar_cross_section}
                        for n, t in enumerate(cfg.targets)],
            "counts": {"sequences": cfg.dataset.sequences, "frames": frames, "devices": D, "targets": N,
                       "device_target_samples": frames * D * N},
            "class_balance": class_counts,
            "visibility": {d.id: {cfg.targets[n].type: round(float(visible[k, n]) / max(frames, 1), 4)
                                  for n in range(N)} for k, d in enumerate(cfg.devices)},
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
