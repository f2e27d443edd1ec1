"""Fixtures of the model tests: a fixed torch seed for every test, and the pretrained LM and LLM decoder, loaded once
per module."""
from __future__ import annotations

import pytest
import torch

from disac_ros.models.decoders import LLMSemanticDecoder
from disac_ros.models.language_model import load_pretrained_lm

# The LSTN shapes of test_lstn.py, test_decoders.py and test_language_model.py.
L_SF, D_SF, L_SE, D_SE = 8, 32, 4, 8


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def smol():
    """(tokenizer, full 30-layer SmolLM2 causal LM), loaded once per process."""
    return load_pretrained_lm()


@pytest.fixture(scope="module")
def llm_decoder(smol):
    torch.manual_seed(0)
    return LLMSemanticDecoder(L_SF, D_SF, L_SE, D_SE, num_layers=4, lora_r=8, lora_layers=4)
