"""Per-side artifacts: what a sensing device deploys, and what the aggregation center deploys (issue 14).

In the paper's system a device is an IoT node that holds its feature extractor and semantic encoder; the center
holds its own RVFN, the decoders the collaborators handed over, TRAM and the heads, and never a collaborator's
feature extractor (two-stage training hands over only codes and decoder weights). :func:`export` writes, from a
trained run (:class:`disac_ros.runs.Run`)::

    OUT/<device>/artifact.safetensors        one per collaborator: RVFN + semantic encoder (rvfn.*, encoder.*)
    OUT/center-<center>/artifact.safetensors the center: its own RVFN + head (own.*), TRAM + pose embedding +
                                             heads (tram.*, multi-device schemes), the hand-over decoder of
                                             each collaborator (decoder.<device>.*)

Each file's metadata ``artifact`` (JSON) says what it is: ``kind`` (device / center), ``format``, the device or
center id, the run's center and collaborators, ``weights`` (the model config and scene digest the weights
belong to, as :meth:`~disac_ros.runs.Run.weights_config`), the dataset manifest without its chunks (shapes,
classes, normalisation, cameras, radar: what inference needs), the device's ``pose`` (position, and the rows of
its array's rotation) and ``tensors_sha256``, a digest of every tensor. :func:`read_artifact` refuses a file
whose kind, ids, config or digest differ from what the caller expects, naming the field. The frozen pretrained
language model is not in the center's artifact: it comes from the installed package, as in training.

:func:`resolve` lets the nodes take either an artifact folder or a run directory; a run is exported on the fly
into ``RUN/export/`` (again whenever one of its sources is newer than the artifact), under a lock of that folder,
so nodes starting at once on one run all load the same export and only one of them writes it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from disac_ros.files import atomic_path, locked
from disac_ros.runs import WEIGHTS, Run

FORMAT = 1
ARTIFACT_FILE = "artifact.safetensors"
#: Parts of a device's stage-1 model that the device runs.
DEVICE_PARTS = ("rvfn.", "encoder.")
EXPORT_DIR = "export"


@dataclass
class Artifact:
    """One side's weights (``tensors``, names as exported) and what they are (``meta``)."""

    path: Path
    meta: dict
    tensors: dict[str, torch.Tensor]

    def part(self, prefix: str) -> dict[str, torch.Tensor]:
        """The tensors under ``prefix``, with the prefix removed (a module's state dict)."""
        return {k[len(prefix):]: v for k, v in self.tensors.items() if k.startswith(prefix)}


def center_folder(center: str) -> str:
    return f"center-{center}"


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{list(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def write_artifact(folder: Path, meta: dict, tensors: dict[str, torch.Tensor]) -> Path:
    """``folder/artifact.safetensors`` with ``meta`` (plus format and digest) in its metadata, atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    meta = {**meta, "format": FORMAT, "tensors_sha256": tensors_digest(tensors)}
    path = folder / ARTIFACT_FILE
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"artifact": json.dumps(meta, sort_keys=True)})
    return path


def read_artifact(folder: str | Path, kind: str, **expected) -> Artifact:
    """The artifact in ``folder``, checked.

    ``ValueError`` naming the field when its kind, format, digest or any of ``expected`` (e.g.
    ``device_id="device_1"``) is not what it should be.
    """
    path = Path(folder) / ARTIFACT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{folder} holds no {ARTIFACT_FILE}; write one with `disac export --run RUN`")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})["artifact"])
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors raises several types for damaged files
        raise ValueError(f"{path} is not a readable artifact ({type(exc).__name__}: {exc})") from exc
    for field, want in {"kind": kind, "format": FORMAT, **expected}.items():
        if meta.get(field) != want:
            raise ValueError(f"{path}: field {field!r} is {_short(meta.get(field))}, expected {_short(want)}")
    if tensors_digest(tensors) != meta.get("tensors_sha256"):
        raise ValueError(f"{path}: field 'tensors_sha256' does not match its tensors: the weights were changed "
                         f"after export; export the run again")
    return Artifact(path, meta, tensors)


def _short(value) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _pose(run: Run, device_id: str) -> dict:
    from disac_ros.data.detections import device_pose

    pose = device_pose(run.scene, run.devices.index(device_id))
    return {"position": [float(v) for v in pose.position], "rotation": pose.rotation.astype(float).tolist()}


def _common(run: Run) -> dict:
    return {"weights": run.weights_config, "center": run.center, "devices": run.devices, "manifest": run.manifest}


def _check_exportable(run: Run, center: str) -> None:
    """Refuse a run whose stage-1 models, hand-overs or center models are missing or stale, naming what to run."""
    train = f"`disac train --data DATA --out {run.path}"
    if not run.model_cfg.multi_device:
        if not (run.stage1_dir(center) / WEIGHTS).exists():
            raise ValueError(f"{run.path} has no trained model of {center}: run {train}`")
        return
    for k in run.collaborators(center):
        if not (run.stage1_dir(k) / WEIGHTS).exists():
            raise ValueError(f"{run.path}: {k} has no stage-1 model: run {train} --stage 1 --device {k}`")
        if run.handover_stale(k):
            raise ValueError(f"{run.path}: the hand-over of {k} is missing or older than its stage-1 model: "
                             f"run {train} --stage 2`")
    for what, path in (("its own model", run.center_dir(center)), ("a stage-2 model", run.stage2_dir(center))):
        if not (path / WEIGHTS).exists():
            raise ValueError(f"{run.path}: center {center} has no {what} ({path}): run {train} --stage 2"
                             f"{'' if center == run.center else f' --center {center}'}`")


def _sources(run: Run, center: str) -> list[Path]:
    files = [run.center_dir(center) / WEIGHTS]
    if run.model_cfg.multi_device:
        files += [run.stage2_dir(center) / WEIGHTS]
        for k in run.collaborators(center):
            files += [run.stage1_dir(k) / WEIGHTS, run.handover_dir(k) / "decoder.safetensors"]
    return files


def export(run: Run | str | Path, out: str | Path | None = None, center: str | None = None) -> dict[str, Path]:
    """Write every side's artifact of ``run`` for ``center`` (default: the run's) into ``out``.

    ``out`` defaults to ``RUN/export``. Returns {side (device id, or ``center-<id>``): artifact folder}.
    """
    run = run if isinstance(run, Run) else Run(run)
    center = center or run.center
    if center not in run.devices:
        raise ValueError(f"unknown center {center!r}; run {run.path} has {run.devices}")
    _check_exportable(run, center)
    out = Path(out) if out else run.path / EXPORT_DIR
    written = {}
    if run.model_cfg.multi_device:
        for k in run.collaborators(center):
            stage1 = load_file(str(run.stage1_dir(k) / WEIGHTS))
            tensors = {n: t for n, t in stage1.items() if n.startswith(DEVICE_PARTS)}
            meta = {**_common(run), "kind": "device", "device_id": k, "pose": _pose(run, k)}
            written[k] = write_artifact(out / k, meta, tensors).parent
    tensors = {f"own.{n}": t for n, t in load_file(str(run.center_dir(center) / WEIGHTS)).items()}
    collaborators = run.collaborators(center) if run.model_cfg.multi_device else []
    if collaborators:
        tensors.update({f"tram.{n}": t for n, t in load_file(str(run.stage2_dir(center) / WEIGHTS)).items()})
        for k in collaborators:
            decoder = load_file(str(run.handover_dir(k) / "decoder.safetensors"))
            tensors.update({f"decoder.{k}.{n}": t for n, t in decoder.items()})
    meta = {**_common(run), "kind": "center", "center": center, "collaborators": collaborators,
            "poses": {d: _pose(run, d) for d in [center, *collaborators]}}
    written[center_folder(center)] = write_artifact(out / center_folder(center), meta, tensors).parent
    return written


def resolve(path: str | Path, kind: str, side: str | None = None) -> Path:
    """The artifact folder of ``kind`` (device / center) for ``side`` at ``path``.

    ``side``: a device id, or a center id (None: the run's center). ``path``: an artifact folder itself, a folder
    of them (what :func:`export` writes), or a run directory, exported on the fly into ``RUN/export`` when its
    artifact is missing or older than its sources.
    """
    path = Path(path)
    if (path / ARTIFACT_FILE).is_file():
        return path
    if (path / "run.json").is_file():
        run = Run(path)
        center = side if kind == "center" and side else run.center
        name = side if kind == "device" else center_folder(center)
        folder = path / EXPORT_DIR / name
        artifact = folder / ARTIFACT_FILE
        if kind == "device" and not run.model_cfg.multi_device:
            raise ValueError(f"run {path} is scheme {run.model_cfg.scheme}: it has no semantic link, so no device "
                             f"transmits (run the aggregator alone)")
        if kind == "device" and side not in run.collaborators(center):
            raise ValueError(f"{side!r} is not a collaborator of run {path} (collaborators "
                             f"{run.collaborators(center)}, center {center})")
        newest = max((p.stat().st_mtime for p in _sources(run, center) if p.exists()), default=0.0)

        def stale() -> bool:
            return not artifact.is_file() or artifact.stat().st_mtime < newest

        if stale():
            # Several nodes resolve the same run at start-up: one exports, the others wait and find it fresh.
            with locked(path / EXPORT_DIR):
                if stale():
                    export(run, path / EXPORT_DIR, center)
        return folder
    if kind == "center":
        found = sorted(path.glob(f"{center_folder(side or '*')}/{ARTIFACT_FILE}"))
        if len(found) == 1:
            return found[0].parent
    elif side and (path / side / ARTIFACT_FILE).is_file():
        return path / side
    raise FileNotFoundError(f"{path} is neither a run nor holds the {kind} artifact of {side or 'the center'}; "
                            f"train a run (`disac train`) and export it (`disac export --run RUN`)")
