"""What a node loads before it starts: its scene config and its half of a trained run (:class:`ConfigError` if not).

Also the torch thread count of the process (``num_threads``) and no progress bars from transformers while a run's
models load (they garble the prefixed output of ``disac launch``).
"""
from __future__ import annotations

from disac_ros.nodes.spin import ConfigError


def load_scene_config(scene_config: str, preset: str):
    """The :class:`disac_ros.config.SceneConfig` of ``scene_config`` (empty: config/scene.yaml) with ``preset``."""
    from disac_ros.config import load_scene

    try:
        return load_scene(scene_config or None, preset or None)
    except (ValueError, FileNotFoundError) as exc:
        raise ConfigError(f"scene_config {scene_config!r} / preset {preset!r}: {exc}") from exc


def set_torch_threads(num_threads: int) -> None:
    """Torch CPU threads of this process (0: leave torch's default); one inter-op thread (a node runs one model)."""
    import torch

    if num_threads > 0:
        torch.set_num_threads(num_threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # inter-op work already started in this process: keep its pool
            pass


def quiet_model_loading() -> None:
    """No progress bars from transformers while a node loads its models."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass


def load_side(kind: str, path: str, side: str | None, num_threads: int, decoder_precision: str = "float32"):
    """This node's half of a trained system, on ``num_threads`` torch threads (:mod:`disac_ros.inference`).

    ``kind`` "device": the :class:`~disac_ros.inference.SensingDevice` of device ``side``; "center": the
    :class:`~disac_ros.inference.AggregationCenter` (``side`` None: the run's center). ``path``: an artifact folder
    written by ``disac export`` or a run directory (exported on the fly). ``decoder_precision``: the center's
    decoders (:class:`~disac_ros.inference.AggregationCenter`).
    """
    from disac_ros.inference import AggregationCenter, SensingDevice

    quiet_model_loading()
    set_torch_threads(num_threads)
    try:
        if kind == "device":
            return SensingDevice.load(path, side)
        return AggregationCenter.load(path, side, decoder_precision=decoder_precision)
    except (FileNotFoundError, ValueError) as exc:
        raise ConfigError(f"run {path!r}: {exc}") from exc
