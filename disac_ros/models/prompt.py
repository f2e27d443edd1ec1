"""The textual channel prompt of the LLM decoder (paper Eq. 21, C_{k,n}) and its tokenisation (Eqs. 37-39).

* :func:`channel_prompt` - the prompt text of one link: ``"the SNR is 5 dB and the distance is 50 m"``.
* :class:`PromptTokenizer` - a tiny offline word/digit tokenizer for decoders without a pretrained tokenizer (the
  randomly initialised GPT-2 baseline).
* :class:`PromptCodec` - cached tokenisation of prompts with any tokenizer into right-padded id / mask batches,
  with the tokenizer's leading special tokens (a LLaMA-3 BOS) split off so the decoder can put them in front of the
  code.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

import torch

__all__ = [
    "PromptCodec",
    "PromptTokenizer",
    "channel_prompt",
]


def _format_number(value: float) -> str:
    value = round(float(value), 1)
    if value == 0:
        value = 0.0  # no "-0"
    return str(int(value)) if value.is_integer() else f"{value:.1f}"


def channel_prompt(snr_db: float, distance_m: float) -> str:
    """The textual communication parameters C_{k,n} of Eq. 21: ``"the SNR is 5 dB and the distance is 50 m"``.

    Both numbers are rounded to 0.1 and written without a trailing ``.0`` (12.34 -> ``12.3``, 50.0 -> ``50``), so a
    continuous SNR gives a bounded set of prompts (and tokenisations to cache). Non-finite values raise ValueError.
    """
    snr, dist = float(snr_db), float(distance_m)
    if not (math.isfinite(snr) and math.isfinite(dist)):
        raise ValueError(f"channel_prompt needs finite snr_db and distance_m, got {snr_db!r}, {distance_m!r}")
    return f"the SNR is {_format_number(snr)} dB and the distance is {_format_number(dist)} m"


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


class PromptCodec:
    """Cached tokenisation of channel prompts, split into the tokenizer's leading specials (BOS) and the rest.

    ``prefix``: the ids the tokenizer puts before a text (a BOS; the decoder puts them in front of the code);
    ``suffix``: those it puts after (an EOS; kept at the end of every prompt); ``pad_id``: the tokenizer's pad id,
    else its EOS, else 0. :meth:`ids` tokenises one prompt (cached, up to ``cache_size`` texts), :meth:`batch` a
    right-padded batch.
    """

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
        """Token ids of one prompt without the prefix, with the suffix (the same tuple object for a cached text)."""
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
