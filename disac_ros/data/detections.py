"""Each device's own radar detection of each target, as the learned models and the classical baselines read it.

A real radar's signal processor hands its detections (range, angles, Doppler, level) to whatever comes next; here
that processor is the frozen classical baseline (:func:`disac_ros.sim.estimators.classical_estimates`), run on
every echo of a dataset once and cached (:func:`dataset_estimates`, ``<dataset>/detections.npz``, recomputed when
the dataset's scene digest or :data:`VERSION` changes). :func:`detection_features` turns one device's estimates into
the vector [M, D] the RF branch embeds (:data:`FEATURES`), including the camera cue: the detected point projected
into the device's own calibrated image (pinhole intrinsics, world-to-camera extrinsics in OpenCV axes, both from
the manifest), which tells the camera branch which target a sample is about. The live graph computes the same
vector from each echo as it arrives (:class:`DeviceDetector`), so training and deployment read the same numbers.

Nothing here uses a label: a device only knows its own surveyed pose (``SceneConfig.surveyed``: the world-frame
estimates and the point x, y, z use it), its radar config, its camera calibration relative to its radar (the cue
goes from the radar's array frame to the image through the rig both share, so a survey error does not move it)
and the label normalisation (a fixed convention of the dataset).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from disac_ros.data import store
from disac_ros.files import atomic_path, locked
from disac_ros.sim.estimators import Estimates, classical_estimates
from disac_ros.sim.radar import ArrayPose

log = logging.getLogger(__name__)

#: Bump when the estimator or the cache layout changes: cached files of another version are recomputed.
VERSION = 4  # 2: the MTI + CA-CFAR detector and its cfar_db field; 3: surveyed poses; 4: the CFAR's minimum range
CACHE_FILE = "detections.npz"
#: The estimate fields kept per echo, in the cache's last axis.
FIELDS = ("detected", "peak_snr_db", "slant_range", "distance", "azimuth", "pitch", "radial_velocity", "rcs_db",
          "azimuth_local", "pitch_local", "cfar_db")
#: The detection vector of :func:`detection_features`, in order.
FEATURES = ("detected", "peak_snr", "x", "y", "z", "distance", "azimuth", "pitch", "radial_velocity", "azimuth_cos",
            "azimuth_sin", "rcs", "cue_u", "cue_v", "cue_valid")
NUM_FEATURES = len(FEATURES)
#: Columns of the detection vector that are the normalised label estimates (distance, azimuth, pitch, velocity)
#: in the heads' order: the prior a head may refine (:class:`disac_ros.models.heads.MultiTaskHead`).
PRIOR = slice(FEATURES.index("distance"), FEATURES.index("radial_velocity") + 1)
#: Columns of the camera cue (u, v in [-1, 1] image coordinates, valid flag).
CUE = slice(FEATURES.index("cue_u"), FEATURES.index("cue_valid") + 1)
_PRIOR_CLIP = 1e-3
HEIGHT_SCALE_M = 5.0   # targets fly or stand 0-8 m above the ground
RCS_SCALE_DB = 10.0


def region_point(scene) -> np.ndarray:
    """The world point reported when nothing is detected (the frozen rule): the region's centre at ground level."""
    return np.array([*scene.world.region_center, 0.0])


def device_pose(scene, k: int, known: bool = True) -> ArrayPose:
    """Device ``k``'s array pose: the surveyed one the system knows, or with ``known=False`` the true one.

    Surveyed: :meth:`disac_ros.config.SceneConfig.surveyed`; true: the rig its camera and radar share.
    """
    device = (scene.surveyed() if known else scene).devices[k]
    return ArrayPose.from_device(device.position, device.lookat, scene.radar.boresight)


def estimates_array(est: Estimates) -> np.ndarray:
    """:class:`Estimates` of M echoes -> float64 [M, len(FIELDS)] (NaN RCS where nothing was detected)."""
    return np.stack([np.asarray(est[f], dtype=np.float64) for f in FIELDS], axis=-1)


def _compute(root: Path, manifest: dict, progress: bool) -> dict[str, np.ndarray]:
    from tqdm import tqdm

    scene = store.scene_config(manifest)
    poses = [device_pose(scene, k) for k in range(len(scene.devices))]
    fallback = region_point(scene)
    reader = store.ChunkReader(root)
    out = {}
    for c in tqdm(manifest["chunks"], desc="classical detections", disable=not progress, dynamic_ncols=True):
        echo = reader.file(c["sequence"], c["chunk"])["echo"][()]            # [F, K, N, C, A, S]
        F, K, N = echo.shape[:3]
        per_device = [estimates_array(classical_estimates(echo[:, k].reshape(F * N, *echo.shape[3:]), scene.radar,
                                                          poses[k], fallback)).reshape(F, N, len(FIELDS))
                      for k in range(K)]
        out[chunk_key(c["sequence"], c["chunk"])] = np.stack(per_device, axis=1)  # [F, K, N, fields]
    return out


def chunk_key(sequence: int, chunk: int) -> str:
    return f"s{sequence}_c{chunk}"


def dataset_estimates(root: str | Path, manifest: dict | None = None, progress: bool = False) -> dict[str, np.ndarray]:
    """Every echo's classical estimate: {chunk_key: float64 [F, K, N, len(FIELDS)]}, cached in ``root``.

    The first call on a dataset runs the estimator on every echo (about 7 ms per echo on one CPU core: ~80 s for
    the default dataset) and writes ``root/detections.npz`` atomically; later calls read it.
    """
    root = Path(root)
    manifest = manifest or store.load_manifest(root)
    path = root / CACHE_FILE
    stamp = f"{manifest['config_digest']}/v{VERSION}"
    arrays = _read_cache(path, stamp, manifest)
    if arrays is not None:
        return arrays
    with locked(root):  # several processes (the probes, a training run) may ask at once: one computes
        arrays = _read_cache(path, stamp, manifest)
        if arrays is not None:
            return arrays
        log.info("computing the classical detection of every echo of %s (cached in %s)", root, path.name)
        arrays = _compute(root, manifest, progress)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, stamp=np.array(stamp), **arrays)
    return arrays


def _read_cache(path: Path, stamp: str, manifest: dict) -> dict[str, np.ndarray] | None:
    """The cached estimates when ``path`` holds every chunk of ``manifest`` under ``stamp``, else None."""
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as cached:  # a plain npz of float arrays and one string: no pickle
        if str(cached["stamp"]) == stamp and all(chunk_key(c["sequence"], c["chunk"]) in cached
                                                 for c in manifest["chunks"]):
            return {k: cached[k] for k in cached.files if k != "stamp"}
    log.info("%s is stale (another scene or estimator version): recomputing", path)
    return None


def dataset_features(root: str | Path, manifest: dict | None = None, progress: bool = True) -> dict[str, np.ndarray]:
    """Every sample's detection vector: {chunk_key: float32 [F, K, N, NUM_FEATURES]} (estimates cached on disk)."""
    manifest = manifest or store.load_manifest(root)
    out = {}
    for key, est in dataset_estimates(root, manifest, progress).items():
        F, K, N, _ = est.shape
        out[key] = np.stack([detection_features(est[:, k].reshape(F * N, -1), manifest, k).reshape(F, N, -1)
                             for k in range(K)], axis=1)
    return out


def world_points(est: np.ndarray, position: np.ndarray) -> np.ndarray:
    """The estimated world point [M, 3] from estimates [M, len(FIELDS)] (inverts Eqs. 55-57 at ``position``)."""
    d, az, pitch = (est[:, FIELDS.index(f)] for f in ("distance", "azimuth", "pitch"))
    return np.stack([position[0] + d * np.cos(az), position[1] - d * np.sin(az), position[2] - d * np.tan(pitch)],
                    axis=-1)


def project(points: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray,
            image_size: tuple[int, int]) -> np.ndarray:
    """World points [M, 3] -> (u, v, valid) [M, 3]: image coordinates in [-1, 1] (-1 = left / top edge).

    Pinhole model, OpenCV axes (x right, y down, z forward). ``valid`` is 1 for a point in front of the camera
    whose projection falls inside the image; otherwise u, v are 0 (no cue).
    """
    width, height = image_size
    cam = points @ np.asarray(extrinsics)[:3, :3].T + np.asarray(extrinsics)[:3, 3]
    z = cam[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        pix = cam @ np.asarray(intrinsics).T
        u = 2 * (pix[:, 0] / z) / width - 1
        v = 2 * (pix[:, 1] / z) / height - 1
    valid = (z > 1e-6) & (np.abs(u) <= 1) & (np.abs(v) <= 1)
    return np.stack([np.where(valid, u, 0.0), np.where(valid, v, 0.0), valid.astype(np.float64)], axis=-1)


def detection_features(est: np.ndarray, manifest: dict, k: int) -> np.ndarray:
    """Device ``k``'s detection vectors [M, NUM_FEATURES] float32 (:data:`FEATURES`) from estimates [M, FIELDS].

    * detected (0/1); peak SNR in dB / 20;
    * the estimated world point: x and y divided by a quarter of the world's size, the height z by
      :data:`HEIGHT_SCALE_M` (the region's centre when nothing was detected), the same frame for every device, so
      collaborators' features describe the same space;
    * the estimate's distance, azimuth, pitch and radial velocity normalised like the labels (manifest
      ``normalization``, clipped into (0, 1)): the prior a head may refine; cos and sin of the azimuth;
    * the estimated RCS in dBsm / :data:`RCS_SCALE_DB` (0 when nothing was detected);

    The scales put the features that tell the classes apart (height, RCS) at order one: with them a small MLP on
    this vector alone reaches the QDA's accuracy in 8 epochs of the default training split instead of 30
    (measured while choosing them).
    * the camera cue: the detected point projected into the device's image through the rig (the array-frame
      estimate on the true pose, the camera's extrinsics), (u, v, valid); (0, 0, 0) when nothing was detected.
    """
    scene = store.scene_config(manifest)
    offset, scale = store.normalization_arrays(manifest)
    position = device_pose(scene, k).position
    half = 0.5 * np.asarray(scene.world.size, dtype=np.float64)
    get = {f: est[:, i] for i, f in enumerate(FIELDS)}
    detected = get["detected"] > 0.5
    points = world_points(est, position)
    prior = (np.stack([get[f] for f in store.LABEL_KEYS], axis=-1) - offset) / scale
    camera = manifest["cameras"][scene.devices[k].id]
    cue = camera_cue(est, scene, k, camera["intrinsics"], camera["extrinsics"])
    columns = [detected.astype(np.float64), np.clip(np.nan_to_num(get["peak_snr_db"]) / 20.0, -1.0, 4.0),
               points[:, 0] / (half[0] / 2), points[:, 1] / (half[1] / 2), points[:, 2] / HEIGHT_SCALE_M,
               *np.clip(prior, _PRIOR_CLIP, 1 - _PRIOR_CLIP).T, np.cos(get["azimuth"]), np.sin(get["azimuth"]),
               np.where(detected, np.clip(np.nan_to_num(get["rcs_db"]) / RCS_SCALE_DB, -10.0, 10.0), 0.0), *cue.T]
    return np.stack(columns, axis=-1).astype(np.float32)


def device_estimates(scene, k: int, echoes: np.ndarray) -> np.ndarray:
    """Device ``k``'s classical estimates [M, len(FIELDS)] of its echoes [M, C, A, S] (its surveyed pose)."""
    est = classical_estimates(np.asarray(echoes), scene.radar, device_pose(scene, k), region_point(scene))
    return estimates_array(est)


def camera_cue(est: np.ndarray, scene, k: int, intrinsics, extrinsics) -> np.ndarray:
    """Device ``k``'s detections [M, len(FIELDS)] projected into its image: (u, v, valid) [M, 3] (:func:`project`).

    The array-frame estimate goes to the world through the true rig (its camera and radar are one rigid body, so
    a survey error does not move the cue); (0, 0, 0) where nothing was detected.
    """
    get = {f: est[:, i] for i, f in enumerate(FIELDS)}
    rig = device_pose(scene, k, known=False).to_world(get["slant_range"], get["azimuth_local"], get["pitch_local"])
    cue = project(rig, intrinsics, extrinsics, (scene.camera.width, scene.camera.height))
    cue[get["detected"] <= 0.5] = 0.0  # no detection, no cue
    return cue


class DeviceDetector:
    """Detection vectors of one device from its echoes as they arrive (the live graph's front end)."""

    def __init__(self, manifest: dict, device_id: str):
        self.manifest = manifest
        self.scene = store.scene_config(manifest)
        self.k = [d.id for d in self.scene.devices].index(device_id)

    def estimates(self, echoes: np.ndarray) -> np.ndarray:
        """Echoes [M, C, A, S] complex64 -> classical estimates [M, len(FIELDS)] float64."""
        return device_estimates(self.scene, self.k, echoes)

    def features(self, est: np.ndarray) -> np.ndarray:
        """Estimates [M, len(FIELDS)] -> detection vectors [M, NUM_FEATURES] float32."""
        return detection_features(est, self.manifest, self.k)

    def __call__(self, echoes: np.ndarray) -> np.ndarray:
        """Echoes [M, C, A, S] complex64 -> detection vectors [M, NUM_FEATURES] float32."""
        return self.features(self.estimates(echoes))
