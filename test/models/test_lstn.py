"""disac_ros.models.lstn: the semantic encoder (Eq. 36), modulation and the AWGN channel (Eqs. 8-10)."""
from __future__ import annotations

import math

import pytest
import torch

from disac_ros.models.lstn import AWGNChannel, SemanticEncoder, demodulate, modulate

B, L_SF, D_SF, L_SE, D_SE = 4, 8, 32, 4, 8


def measured_snr_db(clean: torch.Tensor, received: torch.Tensor) -> torch.Tensor:
    signal = clean.abs().pow(2).flatten(1).mean(1)
    noise = (received - clean).abs().pow(2).flatten(1).mean(1)
    return 10 * torch.log10(signal / noise)


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
