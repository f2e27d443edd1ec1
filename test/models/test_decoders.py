"""disac_ros.models.decoders: the semantic decoders (Eqs. 37-40, Alg. 3): the LLM decoder, the baselines, the registry
and the factory, and a user's local checkpoint."""
from __future__ import annotations

import copy

import pytest
import torch

from disac_ros.config import DECODER_KINDS, ModelConfig
from disac_ros.models.decoders import (
    GPT2SemanticDecoder,
    LLMSemanticDecoder,
    RNNSemanticDecoder,
    build_decoder,
    decoder_kinds,
    for_inference,
    register_decoder,
)
from disac_ros.models.lstn import AWGNChannel, SemanticEncoder, demodulate, modulate
from disac_ros.models.prompt import PromptTokenizer, channel_prompt

B, L_SF, D_SF, L_SE, D_SE = 4, 8, 32, 4, 8


def model_cfg(**overrides) -> ModelConfig:
    """A ModelConfig with this module's decoder shapes."""
    return ModelConfig(**{"L_sf": L_SF, "d_sf": D_SF, "L_se": L_SE, "d_se": D_SE, **overrides})


def test_only_lora_in_last_layers_and_projections_are_trainable(llm_decoder):
    trainable = {n for n, p in llm_decoder.named_parameters() if p.requires_grad}
    backbone = {n for n in trainable if n.startswith("backbone.")}
    assert backbone and all("lora_" in n for n in backbone)
    layers = {int(n.split(".layers.")[1].split(".")[0]) for n in backbone}
    assert layers == {0, 1, 2, 3}  # the last 4 of the 4 kept layers
    assert {n.split(".")[-4] for n in backbone} == {"q_proj", "k_proj", "v_proj", "o_proj"}
    assert {n.split(".")[0] for n in trainable} == {"backbone", "in_proj", "readout", "skip_feature", "skip_token"}
    frozen = [n for n, p in llm_decoder.named_parameters() if not p.requires_grad]
    assert "backbone.embed_tokens.weight" in frozen and "backbone.layers.0.mlp.up_proj.weight" in frozen


def test_llm_decoder_pipeline_shapes_and_gradients_reach_the_encoder(llm_decoder):
    enc, channel = SemanticEncoder(L_SF, D_SF, L_SE, D_SE), AWGNChannel().train()
    llm_decoder.train()
    s = torch.randn(B, L_SF, D_SF)
    e = enc(s)
    assert e.shape == (B, L_SE, D_SE)
    c = modulate(e)
    assert c.shape == (B, L_SE * D_SE // 2)
    snr = channel.sample_snr(B)
    y = channel(c, snr)
    e_hat = demodulate(y, e.shape)
    assert e_hat.shape == (B, L_SE, D_SE)
    s_hat = llm_decoder(e_hat, snr, torch.full((B,), 50.0))
    assert s_hat.shape == (B, L_SF, D_SF) and torch.isfinite(s_hat).all()
    llm_decoder.zero_grad()
    torch.nn.functional.mse_loss(s_hat, s).backward()
    assert enc.feature.weight.grad.abs().sum() > 0 and enc.token.weight.grad.abs().sum() > 0
    lora_a = llm_decoder.backbone.layers[3].self_attn.q_proj.lora_A["default"].weight
    assert lora_a.grad is not None  # (lora_B starts at zero, so A's gradient is zero at step 0; B's is not)
    assert llm_decoder.backbone.layers[3].self_attn.q_proj.lora_B["default"].weight.grad.abs().sum() > 0
    assert llm_decoder.backbone.embed_tokens.weight.grad is None


def test_decoder_output_depends_on_the_received_code(llm_decoder):
    # The failure this guards against: a decoder whose s_hat depends on the prompt only (a first version read the
    # LM's hidden states alone and under 1 % of s_hat's energy changed with the code, so training collapsed).
    llm_decoder.eval()
    with torch.no_grad():
        s_hat = llm_decoder(torch.randn(16, L_SE, D_SE), 10.0, 30.0)
    varying = (s_hat - s_hat.mean(0)).pow(2).mean() / s_hat.pow(2).mean()
    assert varying > 0.05, f"only {varying:.2%} of s_hat's energy depends on the code"


def test_prompt_changes_the_output_and_padding_does_not(llm_decoder):
    llm_decoder.eval()
    code = torch.randn(1, L_SE, D_SE).expand(3, -1, -1)
    with torch.no_grad():
        out = llm_decoder(code, torch.tensor([0.0, 25.0, 0.0]), torch.tensor([50.0, 50.0, 50.0]))
        far = llm_decoder(code[:1], 0.0, 123.4)
        alone = llm_decoder(code[:1], 0.0, 50.0)
        padded = llm_decoder(code[:2], torch.tensor([0.0, 12.5]), torch.tensor([50.0, 100.25]))  # longer prompt
    assert not torch.allclose(out[0], out[1], atol=1e-4)  # same code, other SNR -> other s_hat
    assert not torch.allclose(far[0], alone[0], atol=1e-4)  # other distance -> other s_hat
    torch.testing.assert_close(out[0], out[2])
    torch.testing.assert_close(alone[0], out[0], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(padded[0], alone[0], atol=1e-4, rtol=1e-4)  # the padded batch-mate changes nothing
    assert llm_decoder.codec.ids(channel_prompt(0.0, 50.0)) is llm_decoder.codec.ids(channel_prompt(0.0, 50.0))


def test_decoder_trainable_state_restores_the_decoder(llm_decoder):
    """What a collaborator hands over (LoRA + projections) rebuilds the same decoder on a fresh instance."""
    trained = copy.deepcopy(llm_decoder)
    with torch.no_grad():
        for p in trained.parameters():
            if p.requires_grad:
                p.add_(0.01 * torch.randn_like(p))  # LoRA B is no longer zero
    frozen = {n for n, p in trained.named_parameters() if not p.requires_grad}
    state = {k: v for k, v in trained.state_dict().items() if k not in frozen}
    assert any("lora_B" in k for k in state) and "backbone.embed_tokens.weight" not in state
    torch.manual_seed(1)
    fresh = LLMSemanticDecoder(L_SF, D_SF, L_SE, D_SE)
    code = torch.randn(2, L_SE, D_SE)
    with torch.no_grad():
        assert not torch.allclose(fresh.eval()(code, 10.0, 20.0), trained.eval()(code, 10.0, 20.0))
        missing, unexpected = fresh.load_state_dict(state, strict=False)
        assert not unexpected and set(missing) <= frozen
        torch.testing.assert_close(fresh(code, 10.0, 20.0), trained(code, 10.0, 20.0))


@pytest.mark.parametrize("bad, match", [
    (lambda: (torch.randn(B, L_SE, D_SE + 1), torch.zeros(B), torch.zeros(B)), rf"\[B, {L_SE}, {D_SE}\]"),
    (lambda: (torch.randn(B, L_SE * D_SE), torch.zeros(B), torch.zeros(B)), rf"\[B, {L_SE}, {D_SE}\]"),
    (lambda: (torch.full((B, L_SE, D_SE), float("nan")), torch.zeros(B), torch.zeros(B)), "finite"),
    (lambda: (torch.randn(B, L_SE, D_SE), torch.tensor([0.0, float("nan"), 0, 0]), torch.zeros(B)), "snr_db"),
    (lambda: (torch.randn(B, L_SE, D_SE), torch.zeros(B + 1), torch.zeros(B)), r"snr_db.*\[B=4\]"),
    (lambda: (torch.randn(B, L_SE, D_SE), torch.zeros(B), torch.tensor([1.0, 2, 3, float("inf")])), "distance_m"),
])
@pytest.mark.parametrize("kind", ["llama", "lstm"])
def test_bad_inputs_raise(kind, bad, match, llm_decoder):
    dec = llm_decoder if kind == "llama" else RNNSemanticDecoder(L_SF, D_SF, L_SE, D_SE)
    with pytest.raises(ValueError, match=match):
        dec(*bad())


@pytest.mark.parametrize("kind, steps, lr", [("gpt2", 10, 1e-3), ("lstm", 10, 1e-2), ("gru", 10, 1e-2),
                                             ("llama", 6, 3e-4)])
def test_decoders_have_one_interface_and_train(kind, steps, lr, smol):
    torch.manual_seed(0)
    dec = build_decoder(model_cfg(decoder=kind, decoder_layers=2, lora_layers=2)).train()
    assert isinstance(dec, {"llama": LLMSemanticDecoder, "gpt2": GPT2SemanticDecoder}.get(kind, RNNSemanticDecoder))
    code, snr, dist = torch.randn(8, L_SE, D_SE), torch.linspace(0, 25, 8), torch.full((8,), 40.0)
    target = (code.flatten(1) @ torch.randn(L_SE * D_SE, L_SF * D_SF)).view(8, L_SF, D_SF) / (L_SE * D_SE) ** 0.5
    opt = torch.optim.Adam([p for p in dec.parameters() if p.requires_grad], lr=lr)
    losses = []
    for _ in range(steps):
        out = dec(code, snr, dist)
        assert out.shape == (8, L_SF, D_SF)
        loss = torch.nn.functional.mse_loss(out, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-2:]) / 2 < 0.9 * losses[0], losses


def test_gpt2_baseline_is_a_random_gpt2_and_rnn_uses_the_channel_numbers():
    from transformers import GPT2Model

    dec = GPT2SemanticDecoder(L_SF, D_SF, L_SE, D_SE, num_layers=2, hidden_size=64, num_heads=4).eval()
    assert isinstance(dec.backbone, GPT2Model) and len(dec.backbone.h) == 2
    assert all(p.requires_grad for p in dec.parameters())  # randomly initialised: everything trains
    assert isinstance(dec.tokenizer, PromptTokenizer)
    assert dec.tokenizer("the SNR is 12.5 dB")["input_ids"][-5:-1] == [dec.tokenizer.vocab[c] for c in "12.5"]
    code = torch.randn(1, L_SE, D_SE).expand(2, -1, -1)
    with torch.no_grad():
        out = dec(code, torch.tensor([0.0, 25.0]), 10.0)
        rnn = RNNSemanticDecoder(L_SF, D_SF, L_SE, D_SE, kind="gru").eval()(code, torch.tensor([0.0, 25.0]), 10.0)
    assert not torch.allclose(out[0], out[1]) and not torch.allclose(rnn[0], rnn[1])


def test_factory_rejects_unknown_kinds():
    with pytest.raises(ValueError, match="llama, gpt2, lstm, gru"):
        build_decoder(model_cfg().model_copy(update={"decoder": "bert"}))  # model_copy skips validation
    with pytest.raises(ValueError, match="model_path"):
        build_decoder(model_cfg(decoder="lstm", decoder_path="/nonexistent"))
    with pytest.raises(ValueError, match="kind"):
        RNNSemanticDecoder(L_SF, D_SF, L_SE, D_SE, kind="rnn")
    with pytest.raises(FileNotFoundError):
        build_decoder(model_cfg(decoder="llama", decoder_path="/nonexistent"))
    with pytest.raises(TypeError, match="ModelConfig"):  # the old call style, build_decoder(kind, L_sf=...)
        build_decoder("lstm", L_sf=L_SF, d_sf=D_SF, L_se=L_SE, d_se=D_SE)


def test_every_decoder_kind_is_registered():
    assert decoder_kinds() == DECODER_KINDS == ("llama", "gpt2", "lstm", "gru")


def test_registry_refuses_a_kind_outside_decoder_kinds_and_a_duplicate():
    def builder(cfg, **kwargs):
        return RNNSemanticDecoder(cfg.L_sf, cfg.d_sf, cfg.L_se, cfg.d_se, kind="gru")

    with pytest.raises(ValueError, match="DECODER_KINDS"):
        register_decoder("bert")(builder)
    with pytest.raises(ValueError, match="'lstm' is already registered"):
        register_decoder("lstm")(builder)
    # Neither refusal registered anything: the kinds and the lstm builder are unchanged.
    assert decoder_kinds() == DECODER_KINDS
    assert build_decoder(model_cfg(decoder="lstm")).kind == "lstm"


@pytest.mark.parametrize("kind", ["lstm", "gru", "gpt2"])
def test_build_decoder_follows_the_config(kind):
    cfg = ModelConfig(decoder=kind, L_sf=6, d_sf=16, L_se=2, d_se=4, decoder_layers=3, lora_layers=1)
    kwargs = {} if kind == "gpt2" else {"hidden_size": 24}  # gpt2: its (small) default width
    dec = build_decoder(cfg, **kwargs)
    assert type(dec) is (GPT2SemanticDecoder if kind == "gpt2" else RNNSemanticDecoder)
    assert (dec.L_sf, dec.d_sf, dec.L_se, dec.d_se) == (6, 16, 2, 4)
    if kind == "gpt2":
        assert len(dec.backbone.h) == cfg.decoder_layers and dec.hidden_size == 256
    else:
        assert dec.kind == kind and dec.rnn.hidden_size == 24 and dec.rnn.num_layers == 2
    assert dec(torch.randn(3, 2, 4), torch.tensor([0.0, 5.0, 9.0]), 20.0).shape == (3, 6, 16)


def test_local_hf_checkpoint_directory(smol, tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    tokenizer, _ = smol
    llama_dir, gpt2_dir = tmp_path / "tiny-llama", tmp_path / "tiny-gpt2"
    tiny = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                                        num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
                                        max_position_embeddings=128))
    tiny.save_pretrained(llama_dir)
    tokenizer.save_pretrained(llama_dir)
    dec = build_decoder(model_cfg(decoder="llama", decoder_path=str(llama_dir), decoder_layers=2, lora_r=4,
                                  lora_layers=1))
    assert isinstance(dec, LLMSemanticDecoder) and (dec.L_sf, dec.d_sf, dec.L_se, dec.d_se) == (L_SF, D_SF, L_SE, D_SE)
    assert dec.hidden_size == 64 and len(dec.backbone.layers) == 2
    assert torch.equal(dec.backbone.layers[0].mlp.up_proj.weight, tiny.model.layers[0].mlp.up_proj.weight)
    lora_layers = {int(n.split(".layers.")[1].split(".")[0])
                   for n, p in dec.named_parameters() if p.requires_grad and n.startswith("backbone.")}
    assert lora_layers == {1}
    assert dec(torch.randn(2, L_SE, D_SE), torch.tensor([3.0, 9.0]), 20.0).shape == (2, L_SF, D_SF)

    GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=2,
                               n_positions=64)).save_pretrained(gpt2_dir)
    tokenizer.save_pretrained(gpt2_dir)
    gpt = GPT2SemanticDecoder(L_SF, D_SF, L_SE, D_SE, model_path=gpt2_dir, num_layers=2, lora_layers=1)
    trainable = [n for n, p in gpt.backbone.named_parameters() if p.requires_grad]
    assert trainable and all(".h.1.attn." in f".{n}" and "lora_" in n for n in trainable)
    assert gpt(torch.randn(2, L_SE, D_SE), 5.0, 5.0).shape == (2, L_SF, D_SF)
    with pytest.raises(ValueError, match="gpt2"):
        GPT2SemanticDecoder(L_SF, D_SF, L_SE, D_SE, model_path=llama_dir)


def test_int8_inference_folds_lora_and_quantizes_only_the_language_model(llm_decoder):
    """``for_inference(..., "int8")``: each LoRA update folded into its frozen weight before it is quantized, every
    linear layer of the LM int8, the code projection, readout and skip path float; the output close to float32's;
    recurrent decoders unchanged; an unknown precision refused."""
    from peft.tuners.lora import LoraLayer

    torch.manual_seed(1)
    decoder = copy.deepcopy(llm_decoder).eval()
    for name, p in decoder.backbone.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.5)    # an update larger than a quantization step (peft starts B at 0)
    lora = next(n for n, m in decoder.backbone.named_modules() if isinstance(m, LoraLayer))
    layer = decoder.backbone.get_submodule(lora)
    weight, delta = layer.base_layer.weight.detach().clone(), layer.get_delta_weight("default").detach().clone()
    e, snr, dist = torch.randn(3, L_SE, D_SE), torch.full((3,), 20.0), torch.full((3,), 25.0)
    with torch.inference_mode():
        ref = decoder(e, snr, dist)
        assert for_inference(decoder, "float32") is decoder
        out = for_inference(decoder, "int8")(e, snr, dist)
    quantized = decoder.backbone.get_submodule(lora).base_layer.weight()
    step = quantized.q_scale()
    assert (quantized.dequantize() - (weight + delta)).abs().max() <= step          # W + B A, to one step
    assert (quantized.dequantize() - weight).abs().max() > 5 * step                  # not W alone
    assert not [m for m in decoder.backbone.modules() if type(m) is torch.nn.Linear]   # every LM linear is int8
    assert type(decoder.in_proj) is torch.nn.Linear and type(decoder.skip_feature) is torch.nn.Linear
    assert ((out - ref).norm() / ref.norm()).item() < 0.45   # a large update widens the int8 steps too
    rnn = RNNSemanticDecoder(L_SF, D_SF, L_SE, D_SE, kind="gru").eval()
    assert for_inference(rnn, "int8") is rnn and isinstance(rnn.rnn, torch.nn.GRU)
    with pytest.raises(ValueError, match="precision"):
        for_inference(rnn, "fp16")
