"""LSTN: semantic encoder (Eq. 36), modulation and channel (Eqs. 8-10), semantic decoders (Eqs. 37-40, Alg. 3)."""
from __future__ import annotations

import copy
import math
import typing

import pytest
import torch

from disac_ros.config import DECODER_KINDS, ModelConfig
from disac_ros.models.decoders import (
    GPT2SemanticDecoder,
    LLMSemanticDecoder,
    RNNSemanticDecoder,
    build_decoder,
    decoder_kinds,
    register_decoder,
)
from disac_ros.models.language_model import load_pretrained_lm
from disac_ros.models.link import link_rate, payload_bytes, transmission_delay
from disac_ros.models.lstn import (
    AWGNChannel,
    SemanticEncoder,
    demodulate,
    modulate,
)
from disac_ros.models.prompt import PromptCodec, PromptTokenizer, channel_prompt

B, L_SF, D_SF, L_SE, D_SE = 4, 8, 32, 4, 8


def model_cfg(**overrides) -> ModelConfig:
    """A ModelConfig with this module's decoder shapes."""
    return ModelConfig(**{"L_sf": L_SF, "d_sf": D_SF, "L_se": L_SE, "d_se": D_SE, **overrides})


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


def measured_snr_db(clean: torch.Tensor, received: torch.Tensor) -> torch.Tensor:
    signal = clean.abs().pow(2).flatten(1).mean(1)
    noise = (received - clean).abs().pow(2).flatten(1).mean(1)
    return 10 * torch.log10(signal / noise)


# --- encoder, modulation, channel -----------------------------------------------------------------------------------

def test_encoder_shape_and_unit_power():
    enc = SemanticEncoder(L_SF, D_SF, L_SE, D_SE)
    e = enc(torch.randn(B, L_SF, D_SF) * 7)
    assert e.shape == (B, L_SE, D_SE)
    torch.testing.assert_close(e.pow(2).mean(dim=(1, 2)), torch.ones(B))
    c = modulate(e)
    assert c.shape == (B, L_SE * D_SE // 2) and c.is_complex()
    torch.testing.assert_close(c.abs().pow(2).mean(1), torch.ones(B))  # average symbol power 1
    with pytest.raises(ValueError, match=rf"\[B, {L_SF}, {D_SF}\]"):
        enc(torch.randn(B, L_SF, D_SF + 1))
    with pytest.raises(ValueError, match="L_se <= L_sf"):
        SemanticEncoder(4, 8, 5, 8)


def test_code_spends_its_power_on_information_not_on_a_constant():
    # Features with a large part common to every sample (what RVFN outputs early in training): without centring,
    # the unit-power code would be almost the same for every sample and drown in channel noise.
    enc = SemanticEncoder(L_SF, D_SF, L_SE, D_SE).train()
    s = 10.0 + 0.1 * torch.randn(B, L_SF, D_SF)
    e = enc(s)
    torch.testing.assert_close(e.pow(2).mean(dim=(1, 2)), torch.ones(B))
    varying = (e - e.mean(0)).pow(2).mean() / e.pow(2).mean()
    assert varying > 0.9, f"only {varying:.1%} of the code's power differs between samples"
    enc.eval()  # inference uses the running statistics: one sample at a time gives the same code as in a batch
    torch.testing.assert_close(enc(s[:1]), enc(s)[:1])


def test_modulation_round_trip_is_exact_and_pairs_are_iq():
    e = torch.randn(B, L_SE, D_SE)
    c = modulate(e)
    torch.testing.assert_close(c[0, 0], torch.complex(e[0, 0, 0], e[0, 0, 1]) / math.sqrt(2))
    torch.testing.assert_close(demodulate(c, e.shape), e, rtol=0, atol=1e-6)
    torch.testing.assert_close(demodulate(AWGNChannel(lossless=True)(c, 5.0), e.shape), e, rtol=0, atol=1e-6)
    assert demodulate(c).shape == (B, L_SE * D_SE)
    with pytest.raises(ValueError, match="even"):
        modulate(torch.randn(B, 3, 3))
    with pytest.raises(ValueError, match="shape"):
        demodulate(c, (B, L_SE, D_SE + 2))


@pytest.mark.parametrize("gain", [1.0, 0.3 - 0.4j])
def test_channel_output_has_the_requested_snr(gain):
    channel = AWGNChannel(gain=gain).eval()
    c = torch.complex(torch.randn(4, 100_000), torch.randn(4, 100_000)) * 3
    snr = torch.tensor([0.0, 7.5, 15.0, 25.0])
    y = channel(c, snr)
    assert y.shape == c.shape
    assert (measured_snr_db(gain * c, y) - snr).abs().max() < 0.5
    y = channel(c, 10.0)  # a float applies to every sample
    assert (measured_snr_db(gain * c, y) - 10).abs().max() < 0.5


def test_channel_is_differentiable_and_lossless_mode_returns_input():
    c = torch.complex(torch.randn(B, 16), torch.randn(B, 16)).requires_grad_(True)
    AWGNChannel().train()(c).abs().pow(2).sum().backward()
    assert c.grad is not None and c.grad.abs().sum() > 0
    lossless = AWGNChannel(lossless=True).train()
    assert torch.equal(lossless(c), c) and torch.equal(lossless(c, 0.0), c)


def test_training_draws_a_uniform_snr_per_sample_each_pass():
    channel = AWGNChannel().train()
    draws = channel.sample_snr(10_000)
    assert draws.min() >= 0 and draws.max() <= 25 and 11 < draws.mean() < 14 and draws.std() > 6
    c = torch.complex(torch.randn(32, 20_000), torch.randn(32, 20_000))
    first, second = measured_snr_db(c, channel(c)), measured_snr_db(c, channel(c))
    assert first.min() > -0.5 and first.max() < 25.5
    assert first.std() > 3  # varies per sample
    assert (first - second).abs().max() > 1  # and is drawn again at every forward pass
    with pytest.raises(ValueError, match="eval mode"):
        channel.eval()(c)
    with pytest.raises(ValueError, match=r"\[B=32\]"):
        channel(c, torch.zeros(5))
    with pytest.raises(ValueError, match="finite"):
        channel(c, float("nan"))


def test_link_rate_delay_and_payload():
    # Eq. 9 with the paper's B = 1 kHz, P = 1 W: H = 1, N0 = 1 -> 1000 * log2(2) = 1000 bit/s.
    assert link_rate(1e3, 1.0, 1.0, 1.0) == pytest.approx(1000.0)
    assert link_rate(1e3, 1.0, 0.5, 0.01) == pytest.approx(1000 * math.log2(51))  # 5672.4 bit/s
    # Eq. 10: 128 bytes = 1024 bits over 1000 bit/s -> 1.024 s.
    assert payload_bytes(4, 8) == 128
    assert transmission_delay(8 * payload_bytes(4, 8), 1000.0) == pytest.approx(1.024)
    assert payload_bytes(4, 8, torch.float16, num_samples=10) == 640
    # The paper's 100,352-byte payload is 25,088 float32 values; vs 1,370,112 raw bytes: 92.7 % smaller.
    assert payload_bytes(49, 512) == 100_352
    assert 1 - payload_bytes(49, 512) / 1_370_112 == pytest.approx(0.9267, abs=1e-3)
    with pytest.raises(ValueError):
        link_rate(0.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError):
        transmission_delay(10, 0.0)


def test_channel_prompt_format():
    assert channel_prompt(5, 50) == "the SNR is 5 dB and the distance is 50 m"
    assert channel_prompt(12.34, 3.0) == "the SNR is 12.3 dB and the distance is 3 m"
    assert channel_prompt(-0.04, 25.56) == "the SNR is 0 dB and the distance is 25.6 m"
    with pytest.raises(ValueError):
        channel_prompt(float("nan"), 1.0)


# --- the pretrained LLM decoder -------------------------------------------------------------------------------------

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


def test_lora_only_on_the_last_kept_layers(smol):
    dec = LLMSemanticDecoder(L_SF, D_SF, L_SE, D_SE, num_layers=6, lora_layers=4, lora_r=2)
    layers = {int(n.split(".layers.")[1].split(".")[0])
              for n, p in dec.named_parameters() if p.requires_grad and n.startswith("backbone.")}
    assert layers == {2, 3, 4, 5}
    with pytest.raises(ValueError, match="lora_layers"):
        LLMSemanticDecoder(L_SF, D_SF, L_SE, D_SE, num_layers=2, lora_layers=4)


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


# --- the baselines and the factory ----------------------------------------------------------------------------------

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


def test_config_refuses_an_unknown_decoder_kind():
    with pytest.raises(ValueError, match="decoder"):
        ModelConfig(decoder="nope")
    # The config's Literal is DECODER_KINDS itself, not a copy of it.
    assert typing.get_args(ModelConfig.model_fields["decoder"].annotation) == DECODER_KINDS


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


def test_device_model_builds_the_configured_decoder():
    from disac_ros.models.llm_disac import DeviceModel

    cfg = ModelConfig(scheme="sm-md-rf", decoder="gru", L_sf=6, d_sf=16, L_se=2, d_se=4)
    model = DeviceModel(cfg, image_size=32, echo_shape=(1, 16, 60))
    assert isinstance(model.decoder, RNNSemanticDecoder) and model.decoder.kind == "gru"
    assert (model.decoder.L_sf, model.decoder.d_sf, model.decoder.L_se, model.decoder.d_se) == (6, 16, 2, 4)


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


# --- a user's local checkpoint --------------------------------------------------------------------------------------

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
