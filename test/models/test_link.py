"""disac_ros.models.link: the link model: rate, delay and payload (Eqs. 9-10), SNR schedule, path gain, channel
noise."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from disac_ros.models import link
from disac_ros.models.link import link_rate, payload_bytes, transmission_delay


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


def test_snr_schedule():
    assert link.snr_at(3.0, 12.0) == 12.0
    assert link.snr_at(2.5, 12.0, "sine", 5.0, 10.0) == pytest.approx(17.0)
    assert link.snr_at(7.5, 12.0, "sine", 5.0, 10.0) == pytest.approx(7.0)
    with pytest.raises(ValueError):
        link.snr_at(0.0, 12.0, "square")
    with pytest.raises(ValueError):
        link.snr_at(0.0, 12.0, "sine", 5.0, 0.0)


def test_link_statistics_follow_eqs_9_and_10():
    stats = link.link_budget(128, 20.0, 1.0, bandwidth_hz=1000.0, power_w=1.0)
    rate = 1000.0 * math.log2(1 + 100.0)                       # Eq. 9 with P H / N0 = 10^(20/10)
    assert stats["rate_bps"] == pytest.approx(rate)
    assert stats["delay_s"] == pytest.approx(128 * 8 / rate)   # Eq. 10
    assert stats["payload_bits"] == 1024 and stats["snr_db"] == 20.0
    gain = link.path_gain(40.0, reference_distance_m=20.0, exponent=2.0)
    assert gain == pytest.approx(0.25)
    far = link.link_budget(128, 20.0, gain)
    assert far["snr_db"] == pytest.approx(20.0 + 10 * math.log10(0.25))
    assert far["rate_bps"] == pytest.approx(1000.0 * math.log2(1 + 25.0))
    assert link.path_gain(40.0) == 1.0  # exponent 0: the paper's pure AWGN link


def test_channel_noise_matches_the_snr_and_equalisation_removes_the_gain():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((2000, 4, 8)).astype(np.float32)
    codes /= np.sqrt((codes ** 2).mean(axis=(1, 2), keepdims=True))      # what the encoder emits
    for gain in (1.0, 0.01):
        out = link.transmit_codes(codes, 10.0, gain, generator=torch.Generator().manual_seed(1))
        noise = ((out - codes) ** 2).mean()
        assert noise == pytest.approx(0.1, rel=0.05)                        # P_signal / 10^(10/10)
    again = link.transmit_codes(codes[:5], 10.0, generator=torch.Generator().manual_seed(3))
    assert np.array_equal(again, link.transmit_codes(codes[:5], 10.0, generator=torch.Generator().manual_seed(3)))
    assert np.allclose(link.transmit_codes(codes[:5], 0.0, lossless=True), codes[:5], atol=1e-6)
    with pytest.raises(ValueError):
        link.transmit_codes(np.full((1, 4, 8), np.nan, np.float32), 10.0)


def test_check_link_refuses_an_snr_outside_its_range_and_a_sine_that_leaves_it():
    low, high = link.SNR_RANGE_DB
    link.check_link(low)
    link.check_link(high)
    link.check_link(20.0, "sine", 70.0, 10.0)                          # -50 .. 90 dB
    for args, match in (((-1000.0,), r"snr_db must be in \[-50, 100\] dB, got -1000"), ((150.0,), "snr_db"),
                        ((20.0, "sine", 80.0), "swings 20 \\+- 80 dB"), ((20.0, "sine", -80.0), "swings"),
                        ((math.nan,), "finite"), ((20.0, "constant", 0.0, 10.0, 0.0), "bandwidth_hz"),
                        ((20.0, "constant", 0.0, 10.0, 1e3, math.inf), "power_w")):
        with pytest.raises(ValueError, match=match):
            link.check_link(*args)


def test_a_link_budget_never_raises_for_a_weak_link():
    """A rate that underflows to 0 is an infinite delay (the caller checks it is finite), never an exception."""
    weak = link.link_budget(128, -50.0, 1e-320)
    assert weak["rate_bps"] == 0.0 and weak["delay_s"] == math.inf
    very_weak = link.link_budget(128, -50.0, 1e-300)                    # log1p keeps a rate of ~1e-302 bit/s
    assert 0 < very_weak["rate_bps"] < 1e-300 and math.isfinite(very_weak["delay_s"])
    assert very_weak["rate_bps"] == pytest.approx(1e3 * 1e-305 / math.log(2))
    for snr in link.SNR_RANGE_DB:                                       # the whole configurable range is finite
        stats = link.link_budget(100_352, snr, link.path_gain(1e4, 1e-3, 10.0))   # the farthest gain of the ranges
        assert all(math.isfinite(v) for v in stats.values()), stats
    with pytest.raises(ValueError, match="float range"):                # thousands of dB: N_0 is not a float
        link.link_budget(128, 4000.0)
    with pytest.raises(ValueError, match="float range"):
        link.path_gain(1e-300, 1e300, 10.0)                             # H overflows
    with pytest.raises(ValueError, match="float range"):
        link.path_gain(1e300, 1e-300, 10.0)                             # H underflows to 0
    with pytest.raises(ValueError, match="finite"):
        link.link_budget(128, 20.0, math.inf)
    with pytest.raises(ValueError, match="finite SNR"):
        link.transmit_codes(np.ones((1, 4, 8), np.float32), math.nan)
