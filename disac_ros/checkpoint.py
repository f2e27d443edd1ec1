"""Atomic, safely loadable checkpoints.

Weights go to safetensors with the config that made them in the file's metadata; optimizer and RNG state to
a ``torch.save`` file loaded with ``weights_only=True``. Every file is written to a temporary name and renamed,
so a checkpoint on disk is always complete; a kill leaves the previous one.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from disac_ros.files import atomic_path


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Parameters that training changes plus buffers; frozen pretrained weights are not copied."""
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if k not in frozen}


def save_weights(model: nn.Module, path: Path, config: dict) -> None:
    with atomic_path(path) as tmp:
        save_file(trainable_state(model), str(tmp), metadata={"config": json.dumps(config, sort_keys=True)})


def load_weights(model: nn.Module, path: Path, config: dict) -> None:
    """Load weights saved by :func:`save_weights`; refuse a checkpoint made by another config."""
    from safetensors import safe_open

    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} not found")
    try:
        with safe_open(str(path), framework="pt") as f:
            saved = json.loads((f.metadata() or {}).get("config", "null"))
        state = load_file(str(path))
    except Exception as exc:  # safetensors raises several types for damaged files
        raise ValueError(f"{path} is not a readable safetensors checkpoint ({exc})") from exc
    if saved != json.loads(json.dumps(config, sort_keys=True)):
        diff = sorted(k for k in set(saved or {}) | set(config) if (saved or {}).get(k) != config.get(k))
        raise ValueError(f"{path} was trained with another config (differs in: {', '.join(diff) or 'everything'}); "
                         "expected the config of this run")
    load_trainable(model, state, path)


def load_trainable(model: nn.Module, state: dict[str, torch.Tensor], path) -> nn.Module:
    """Load ``state`` (as :func:`trainable_state` saved it) into ``model``; ``path`` names its source in errors.

    Every tensor that training changes must be there and nothing else; frozen pretrained weights are the model's own.
    """
    missing, unexpected = model.load_state_dict(state, strict=False)
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    missing = [k for k in missing if k not in frozen]
    if missing or unexpected:
        raise ValueError(f"{path} does not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model


def save_state(path: Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_state(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)
