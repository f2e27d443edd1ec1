"""disac_ros.models.prompt: the channel prompt's wording and the prompt codec's special tokens."""
from __future__ import annotations

import pytest
import torch

from disac_ros.models.prompt import PromptCodec, channel_prompt


def test_channel_prompt_format():
    assert channel_prompt(5, 50) == "the SNR is 5 dB and the distance is 50 m"
    assert channel_prompt(12.34, 3.0) == "the SNR is 12.3 dB and the distance is 3 m"
    assert channel_prompt(-0.04, 25.56) == "the SNR is 0 dB and the distance is 25.6 m"
    with pytest.raises(ValueError):
        channel_prompt(float("nan"), 1.0)


def test_prompt_codec_moves_a_bos_in_front_and_keeps_an_eos():
    class BosEos:
        pad_token_id, eos_token_id, bos_token_id = None, 98, 99

        def __call__(self, text, add_special_tokens=True):
            ids = [len(w) for w in text.split()]
            return {"input_ids": [99, *ids, 98] if add_special_tokens else ids}

    codec = PromptCodec(BosEos())
    assert codec.prefix == (99,) and codec.suffix == (98,) and codec.pad_id == 98
    ids, mask = codec.batch(["ab c", "a"], torch.device("cpu"))
    assert ids.tolist() == [[2, 1, 98], [1, 98, 98]] and mask.tolist() == [[1, 1, 1], [1, 1, 0]]
