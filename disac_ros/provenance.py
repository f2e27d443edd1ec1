"""What made a run or a result: its language model, packages, commit, dataset, machine and wall times.

The language model's file, package, version and SHA-256, package versions, the code's commit and dirty flag, the
dataset's digests and seed, the machine (stdlib only until a model config asks for its language model).

    collect(model_cfg, manifest)   # {"language_model", "packages", "code", "dataset", "machine", "recorded_utc"}

``run.json`` keeps it under ``provenance`` beside the run's identity (:mod:`disac_ros.runs`: updated as stages
finish, never compared when a run is resumed); ``summary.json`` of a benchmark under ``provenance``;
``disac info --run RUN`` prints it.

The SHA-256 of a file (SmolLM2's GGUF: ~100 MB, ~0.3 s) is computed once and cached in ``.cache/sha256.json`` of the
source tree (``$DISAC_CACHE``, else ``$XDG_CACHE_HOME/disac_ros`` when the tree is not writable), keyed by the
file's resolved path, size and modification time.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path

from disac_ros.files import locked, write_json_atomic

#: Distributions whose versions a record names; rclpy: the ROS 2 wheel's own name as a fallback.
PACKAGES: tuple[str, ...] = ("torch", "transformers", "peft", "timm", "genesis-world", "rclpy", "numpy")
_FALLBACK = {"rclpy": "ros-jazzy-rclpy"}
SOURCE_ROOT = Path(__file__).resolve().parent.parent


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def cache_dir() -> Path:
    """Where cached digests go: ``$DISAC_CACHE``, the source tree's ``.cache/``, else the user's cache."""
    if os.environ.get("DISAC_CACHE"):
        return Path(os.environ["DISAC_CACHE"])
    if (SOURCE_ROOT / ".git").exists() and os.access(SOURCE_ROOT, os.W_OK):
        return SOURCE_ROOT / ".cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "disac_ros"


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file, from the cache when its path, size and modification time are the cached ones."""
    from disac_ros.data.store import sha256_file

    path = Path(path).resolve()
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    cache = cache_dir() / "sha256.json"
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    if key in known:
        return known[key]
    digest = sha256_file(path)
    try:
        with locked(cache.parent):  # processes hashing at once: each adds its entry to what the others wrote
            try:
                known = json.loads(cache.read_text())
            except (OSError, ValueError):
                known = {}
            write_json_atomic(cache, {**known, key: digest})
    except OSError:  # a read-only tree: the digest is still right, only not cached
        pass
    return digest


def path_sha256(path: str | Path) -> str:
    """A file's SHA-256, or of a directory the SHA-256 of its files' relative paths and SHA-256s, in order."""
    import hashlib

    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    files = sorted(p for p in path.rglob("*") if p.is_file())
    listing = "\n".join(f"{p.relative_to(path)} {file_sha256(p)}" for p in files)
    return hashlib.sha256(listing.encode()).hexdigest()


def language_model(model_cfg) -> dict | None:
    """The pretrained language model a model config decodes with: file, source package and version, SHA-256.

    None when its decoder has none (LSTM, GRU, or GPT-2 without ``decoder_path``: trained from scratch).
    """
    if model_cfg is None or model_cfg.decoder in ("lstm", "gru") or (model_cfg.decoder == "gpt2"
                                                                     and not model_cfg.decoder_path):
        return None
    from disac_ros.models.language_model import model_source

    try:
        source = model_source(model_cfg.decoder_path)
    except FileNotFoundError as exc:  # recorded, not raised: building the decoder says so where it matters
        return {"file": model_cfg.decoder_path, "package": None, "version": None, "sha256": None, "error": str(exc)}
    path = Path(source["path"])
    return {"file": str(path), "package": source["package"], "version": source["version"],
            "bytes": path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*")
                                                                     if p.is_file()),
            "sha256": path_sha256(path)}


def packages() -> dict[str, str | None]:
    """The installed version of each of :data:`PACKAGES` (None: not installed)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        for dist in (name, _FALLBACK.get(name)):
            try:
                out[name] = metadata.version(dist) if dist else None
                break
            except metadata.PackageNotFoundError:
                out[name] = None
    return out


def code(root: Path = SOURCE_ROOT) -> dict:
    """The source tree's commit and whether it has uncommitted changes (``commit`` None outside a git checkout)."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit.strip() if commit else None, "dirty": bool(status.strip()) if status is not None else None}


def machine() -> dict:
    """CPU, cores, torch's threads and the CUDA device (None without one)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    out = {"cpu": cpu, "cores": os.cpu_count(), "host": platform.node(), "python": platform.python_version(),
           "threads": None, "cuda": None}
    try:
        import torch

        out["threads"] = torch.get_num_threads()
        out["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:  # noqa: BLE001 - a broken torch still leaves the rest of the record
        pass
    return out


def dataset(manifest: dict) -> dict:
    """A dataset's identity and size: world and dataset digests, seed, sequences and split sizes."""
    return {"config_digest": manifest["config_digest"], "dataset_digest": manifest.get("dataset_digest"),
            "seed": manifest.get("seed", manifest.get("config", {}).get("seed")),
            "sequences": manifest.get("counts", {}).get("sequences"),
            "splits": {k: len(v) for k, v in manifest.get("splits", {}).items()},
            "generation_seconds": manifest.get("timing", {}).get("generation_seconds")}


def collect(model_cfg=None, manifest: dict | None = None) -> dict:
    """Everything above for a model config (its language model) trained or evaluated on ``manifest``'s data."""
    return {"recorded_utc": utc_now(), "language_model": language_model(model_cfg), "packages": packages(),
            "code": code(), "dataset": dataset(manifest) if manifest else None, "machine": machine()}


def for_summary(manifest: dict, preset: str, wall_seconds: float | None = None) -> dict:
    """The ``provenance`` block of a benchmark's ``summary.json``: :func:`collect` for the preset's model config.

    Its language model is the preset's decoder's (the shipped SmolLM2 for LLaMA decoders); each run's own record is
    in its ``run.json``. ``wall_seconds``: the benchmark's so far.
    """
    from disac_ros.config import load_section

    return {**collect(load_section("model", preset), manifest), "preset": preset, "wall_seconds": wall_seconds}
