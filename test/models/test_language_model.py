"""disac_ros.models.language_model: the shipped pretrained SmolLM2, its truncated backbone and where LoRA goes."""
from __future__ import annotations

import pytest
import torch

from disac_ros.models.decoders import LLMSemanticDecoder

B, L_SF, D_SF, L_SE, D_SE = 4, 8, 32, 4, 8


def test_shipped_model_is_pretrained_smollm2(smol, llm_decoder):
    from transformers import LlamaConfig, LlamaModel

    tokenizer, lm = smol
    assert lm.config.model_type == "llama" and lm.config.num_hidden_layers == 30
    ids = tokenizer("The capital of France is", return_tensors="pt")
    out = lm.generate(**ids, max_new_tokens=2, do_sample=False)
    assert tokenizer.decode(out[0, ids["input_ids"].shape[1]:]).startswith(" Paris")
    # The decoder's (truncated) backbone holds exactly these pretrained weights, not a random initialisation.
    backbone = llm_decoder.backbone
    assert len(backbone.layers) == 4 and backbone.config.num_hidden_layers == 4
    assert torch.equal(backbone.embed_tokens.weight, lm.model.embed_tokens.weight)
    assert torch.equal(backbone.layers[3].mlp.down_proj.weight, lm.model.layers[3].mlp.down_proj.weight)
    q_proj = backbone.layers[2].self_attn.q_proj
    assert torch.equal(q_proj.base_layer.weight, lm.model.layers[2].self_attn.q_proj.weight)
    cfg = LlamaConfig(**{k: v for k, v in backbone.config.to_dict().items() if k != "quantization_config"})
    random_model = LlamaModel(cfg)
    assert not torch.allclose(random_model.layers[0].mlp.down_proj.weight, backbone.layers[0].mlp.down_proj.weight)
    assert not torch.allclose(random_model.embed_tokens.weight, backbone.embed_tokens.weight)
    # The shared cached model was neither truncated nor given adapters.
    assert len(lm.model.layers) == 30 and not any("lora_" in n for n, _ in lm.named_parameters())


def test_lora_only_on_the_last_kept_layers(smol):
    dec = LLMSemanticDecoder(L_SF, D_SF, L_SE, D_SE, num_layers=6, lora_layers=4, lora_r=2)
    layers = {int(n.split(".layers.")[1].split(".")[0])
              for n, p in dec.named_parameters() if p.requires_grad and n.startswith("backbone.")}
    assert layers == {2, 3, 4, 5}
    with pytest.raises(ValueError, match="lora_layers"):
        LLMSemanticDecoder(L_SF, D_SF, L_SE, D_SE, num_layers=2, lora_layers=4)
