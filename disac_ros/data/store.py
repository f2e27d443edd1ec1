"""On-disk format of a generated dataset, readable without Genesis (h5py + json only).

Layout of a dataset directory::

    generation.json              config and its digests, written first; a resumed run must match it
    seq_0000/chunk_0000.h5       one HDF5 file per chunk of frames, written to a temporary name and
    seq_0000/chunk_0001.h5       renamed when complete, so a file with this name is always whole
    ...
    manifest.json                written last: counts, class balance, normalisation, splits, checksums

Datasets of one chunk file (F frames, D devices, N targets, C chirps, A antennas, S samples):

    time             float64 [F]                 seconds since the sequence start
    frame_index      int32   [F]                 frame number within the sequence
    image            uint8   [F, D, H, W, 3]     RGB (gzip-compressed, one HDF5 chunk per image)
    echo             complex64 [F, D, N, C, A, S] radar echo R_{k,n} (Eq. 1)
    visible          bool    [F, D, N]           target has pixels in the device's segmentation
    bbox             int16   [F, D, N, 4]        x0, y0, x1, y1 in pixels (-1 if invisible)
    pixels           int32   [F, D, N]           segmented pixel count
    target_position  float64 [F, N, 3]           world centre of each target [m]
    target_velocity  float64 [F, N, 3]           world velocity [m/s]
    target_yaw       float64 [F, N]              heading [rad] about +z from +x
    target_size      float64 [F, N, 3]           bounding box of the sequence's size variant [m]
    variant          int8    [F, N]              which size variant of the target the sequence uses
    labels           float32 [F, D, N, 4]        distance, azimuth, pitch, radial velocity (SI, Eqs. 55-58)
    path_loss_db     float32 [F, D, N]           two-way propagation loss of the radar path [dB]
    rcs              float32 [F, D, N]           RCS the device's radar saw (aspect + Swerling draw) [m^2]
    blocked_building bool    [F, D, N]           the radar path crosses a building
    blocked_target   bool    [F, D, N]           the radar path crosses another target
    blocked          bool    [F, D, N]           either: the device has no line of sight to the target
    condition        int8    [F]                 camera condition of the sequence (sim.conditions.CONDITION_KINDS)
    fog_visibility   float64 [F]                 meteorological visibility of fog [m] (0: no fog)
    light_gain       float64 [F]                 irradiance gain of low light (1: normal light)

Format version 2 (this layout); version 1 datasets (no blockage, conditions or variants) are refused.

The manifest names the world (``config_digest``, :meth:`disac_ros.config.SceneConfig.digest`: what a run trained on
it compares) and the dataset itself (``dataset_digest``: the world and how its samples were drawn, ``seed``); a
manifest written before the two were told apart gets both, recomputed from its config, when it is read.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

LABEL_KEYS = ("distance", "azimuth", "pitch", "radial_velocity")
FORMAT_VERSION = 2


def chunk_path(root: Path, sequence: int, chunk: int) -> Path:
    return Path(root) / f"seq_{sequence:04d}" / f"chunk_{chunk:04d}.h5"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_chunk(path: Path, arrays: dict[str, np.ndarray], attrs: dict) -> None:
    """Write one chunk file atomically: a temporary file, fsync, then rename."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    with h5py.File(tmp, "w") as f:
        for key, value in arrays.items():
            if key in ("image", "thumbnail", "crop"):  # one image (crop) an HDF5 chunk: a sample reads only its own
                f.create_dataset(key, data=value, compression="gzip", compression_opts=4,
                                 chunks=(1,) * (value.ndim - 3) + value.shape[-3:])
            elif value.ndim >= 2:
                f.create_dataset(key, data=value, compression="gzip", compression_opts=4)
            else:
                f.create_dataset(key, data=value)
        f.attrs.update({k: v for k, v in attrs.items()})
        f.flush()
        os.fsync(f.id.get_vfd_handle())
    os.replace(tmp, path)


class ChunkReader:
    """Lazy reader of chunk files; keeps a few files open (one per DataLoader worker process)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._open: dict[Path, object] = {}
        self._pid = os.getpid()

    def file(self, sequence: int, chunk: int):
        import h5py

        if os.getpid() != self._pid:  # forked into a DataLoader worker: h5py handles must not be shared
            self._open, self._pid = {}, os.getpid()
        path = chunk_path(self.root, sequence, chunk)
        if path not in self._open:
            if len(self._open) > 8:
                for f in self._open.values():
                    f.close()
                self._open = {}
            try:
                self._open[path] = h5py.File(path, "r")
            except OSError as exc:
                raise OSError(f"cannot read {path}: {exc}; re-run `disac generate` on this directory "
                              "to regenerate missing or corrupt chunks") from exc
        return self._open[path]

    def __getstate__(self):
        return {"root": self.root, "_open": {}, "_pid": -1}


def normalization_arrays(manifest: dict) -> tuple[np.ndarray, np.ndarray]:
    """(offset, scale) [4] in LABEL_KEYS order: x_norm = (x - offset) / scale."""
    norm = manifest["normalization"]
    return (np.array([norm[k]["offset"] for k in LABEL_KEYS]), np.array([norm[k]["scale"] for k in LABEL_KEYS]))


def input_shapes(manifest: dict) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(image [H, W, 3], echo [C, A, S]) of one device's sample in the dataset of ``manifest``."""
    camera, radar = manifest["config"]["camera"], manifest["radar"]
    return ((int(camera["height"]), int(camera["width"]), 3),
            (int(radar["num_chirps"]), int(radar["num_antennas"]), int(radar["num_samples"])))


def scene_config(manifest: dict):
    """The :class:`disac_ros.config.SceneConfig` the dataset of ``manifest`` was generated from."""
    from disac_ros.config import SceneConfig

    return SceneConfig.model_validate(manifest["config"])


def load_manifest(root: str | Path) -> dict:
    path = Path(root) / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{root} has no manifest.json: it is not a complete dataset "
                                f"(run `disac generate --out {root}` to finish it)")
    manifest = json.loads(path.read_text())
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: format_version {manifest.get('format_version')} is not {FORMAT_VERSION}")
    if "dataset_digest" not in manifest:  # written before the world / sampling split: its digest covered both
        cfg = scene_config(manifest)
        manifest.update(config_digest=cfg.digest(), dataset_digest=cfg.dataset_digest(), seed=cfg.seed)
    return manifest


def dataset_identity(manifest: dict) -> dict:
    """What names a dataset: its world's digest (``config_digest``), its own (``dataset_digest``) and its seed."""
    return {"config_digest": manifest["config_digest"], "dataset_digest": manifest["dataset_digest"],
            "seed": manifest["seed"]}
