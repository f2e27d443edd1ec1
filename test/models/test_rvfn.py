"""disac_ros.models.rvfn: RVFN (Eqs. 22-35): complex building blocks, the RF and visual extractors, the fusion, and a
tiny end-to-end training run of RVFN and the multi-task head."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from disac_ros.models.heads import MultiTaskHead
from disac_ros.models.losses import SensingLoss
from disac_ros.models.rvfn import (
    RVFN,
    ComplexConv2d,
    ComplexMaxPool2d,
    CrossAttentionFusion,
    RFFeatureExtractor,
    VisualFeatureExtractor,
    complex_relu,
)

B, L_SF, D_SF, IMAGE, A, S = 2, 8, 32, 64, 16, 60


def crandn(*shape, scale=1.0):
    return torch.complex(torch.randn(*shape), torch.randn(*shape)) * scale


def echo_batch(b=B, chirps=8, scale=1e-5):
    return crandn(b, chirps, A, S, scale=scale)


@pytest.fixture(scope="module")
def rvfn():
    torch.manual_seed(0)
    return RVFN("both", image_size=IMAGE, num_chirps=8, num_antennas=A, num_samples=S, L_sf=L_SF, d_sf=D_SF,
                rf_channels=(16, 32, 64), num_heads=4)


def test_complex_conv_equals_complex_arithmetic():
    conv = ComplexConv2d(3, 5, kernel_size=3, padding=1)
    with torch.no_grad():
        conv.bias_real.normal_()
        conv.bias_imag.normal_()
    x = crandn(2, 3, 7, 9)
    expected = F.conv2d(x, conv.weight, torch.complex(conv.bias_real, conv.bias_imag), padding=1)  # torch complex
    got = conv(x)
    assert got.dtype == torch.complex64 and got.shape == (2, 5, 7, 9)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    # Eqs. (22)-(23) written out on one output element
    w_r, w_i = conv.conv_real.weight[1], conv.conv_imag.weight[1]
    patch = x[0, :, 2:5, 3:6]
    z_r = (w_r * patch.real).sum() - (w_i * patch.imag).sum() + conv.bias_real[1]
    z_i = (w_r * patch.imag).sum() + (w_i * patch.real).sum() + conv.bias_imag[1]
    torch.testing.assert_close(got[0, 1, 3, 4], torch.complex(z_r, z_i), rtol=1e-4, atol=1e-5)


def test_complex_relu_acts_on_both_parts():
    z = torch.tensor([1 - 2j, -3 + 4j, -1 - 1j, 2 + 5j], dtype=torch.complex64)
    torch.testing.assert_close(complex_relu(z), torch.tensor([1 + 0j, 0 + 4j, 0j, 2 + 5j], dtype=torch.complex64))


def test_complex_max_pool_keeps_value_of_largest_magnitude():
    z = crandn(2, 3, 8, 10)
    z[0, 0, 0, 0], z[0, 0, 0, 1] = 3 + 0j, 0.5 - 4j  # the larger real part is not the larger magnitude
    z[0, 0, 1, 0], z[0, 0, 1, 1] = 0j, 0j
    got = ComplexMaxPool2d(2)(z)
    assert got.shape == (2, 3, 4, 5)
    windows = z.view(2, 3, 4, 2, 5, 2).permute(0, 1, 2, 4, 3, 5).reshape(2, 3, 4, 5, 4)
    expected = windows.gather(-1, windows.abs().argmax(-1, keepdim=True)).squeeze(-1)
    torch.testing.assert_close(got, expected)
    assert got[0, 0, 0, 0] == 0.5 - 4j
    assert ComplexMaxPool2d(2)(crandn(1, 1, 15, 15)).shape == (1, 1, 8, 8)  # ceil mode: no sample dropped


@pytest.mark.parametrize("chirps", [1, 8])
def test_rf_extractor_shapes_step_by_step(chirps):
    rf = RFFeatureExtractor(chirps, A, S, L_SF, D_SF, channels=(16, 32, 64))
    echo = echo_batch(chirps=chirps)
    z, amplitude = rf.normalize(echo)
    assert z.shape == (B, chirps, A, S) and amplitude.shape == (B, 1)
    expected = [(B, 16, 8, 30), (B, 32, 4, 15), (B, 64, 2, 8)]
    for conv, shape in zip(rf.convs, expected, strict=True):
        z = rf.pool(complex_relu(conv(z)))
        assert z.shape == shape and z.is_complex()
    z3 = torch.cat([z.real, z.imag], dim=1)  # Eq. (25)
    assert z3.shape == (B, 128, 2, 8)
    s_rf = rf(echo)
    assert s_rf.shape == (B, L_SF, D_SF) and s_rf.dtype == torch.float32
    expected = rf.linear(z3.flatten(1)).view(B, L_SF, D_SF) + rf.amplitude_embed(amplitude)[:, None]
    torch.testing.assert_close(s_rf, expected)


def test_rf_normalisation_is_scale_free_and_keeps_the_level():
    rf = RFFeatureExtractor(8, A, S, L_SF, D_SF)
    echo = echo_batch()
    z1, a1 = rf.normalize(echo)
    z2, a2 = rf.normalize(echo * 10.0)
    torch.testing.assert_close(z1, z2)
    torch.testing.assert_close(a2 - a1, torch.ones_like(a1), rtol=0, atol=1e-4)  # +20 dB = +1
    assert (z1.abs().square().mean(dim=(1, 2, 3)) - 1).abs().max() < 1e-4
    z0, a0 = rf.normalize(torch.zeros(1, 8, A, S, dtype=torch.complex64))  # silent echo stays finite
    assert torch.isfinite(a0).all() and torch.isfinite(torch.view_as_real(z0)).all()


@pytest.mark.parametrize(("size", "tokens"), [(64, 4), (128, 16)])
def test_visual_extractor_shapes(size, tokens):
    cv = VisualFeatureExtractor(L_SF, D_SF, size, variant="convnext_atto")
    assert cv.num_tokens == tokens
    feature_map = cv.backbone(torch.rand(B, 3, size, size))[-1]
    assert feature_map.shape == (B, 320, size // 32, size // 32)  # convnext_atto last stage
    assert cv(torch.rand(B, 3, size, size)).shape == (B, L_SF, D_SF)


def test_fusion_follows_eqs_32_to_35():
    fusion = CrossAttentionFusion(D_SF, num_heads=4).eval()
    s_rf, s_cv = torch.randn(B, L_SF, D_SF), torch.randn(B, L_SF, D_SF)
    z_cv = fusion.rf_queries_cv(s_rf, s_cv, s_cv)[0]
    z_rf = fusion.cv_queries_rf(s_cv, s_rf, s_rf)[0]
    s_mul = fusion(s_rf, s_cv)
    assert s_mul.shape == (B, L_SF, D_SF)
    torch.testing.assert_close(s_mul, F.layer_norm(z_cv + z_rf, (D_SF,)) + s_rf + s_cv)
    s_cv2 = s_cv.clone()
    s_cv2[:, :, 0] += 1.0
    assert not torch.allclose(fusion(s_rf, s_cv2) - s_cv2, s_mul - s_cv)  # RF side attends to vision


def test_rvfn_shapes_and_gradients_reach_both_extractors(rvfn):
    s_mul = rvfn(torch.rand(B, 3, IMAGE, IMAGE), echo_batch())
    assert s_mul.shape == (B, L_SF, D_SF)
    rvfn.zero_grad()
    s_mul.square().mean().backward()
    for name, p in [("rf first conv", rvfn.rf.convs[0].conv_imag.weight), ("rf linear", rvfn.rf.linear.weight),
                    ("cv stem", next(rvfn.cv.backbone.parameters())), ("cv token map", rvfn.cv.token_map.weight),
                    ("fusion", rvfn.fusion.rf_queries_cv.in_proj_weight)]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_fusion_attention_path_carries_gradient_to_both_modalities():
    """Without the residuals of Eq. (35), LayerNorm(z_CV + z_RF) still depends on both inputs."""
    fusion = CrossAttentionFusion(D_SF, num_heads=4)
    s_rf = torch.randn(B, L_SF, D_SF, requires_grad=True)
    s_cv = torch.randn(B, L_SF, D_SF, requires_grad=True)
    attended = fusion(s_rf, s_cv) - s_rf - s_cv
    (attended * torch.randn_like(attended)).sum().backward()
    assert s_rf.grad.abs().sum() > 0 and s_cv.grad.abs().sum() > 0


def test_rvfn_runs_under_bfloat16_autocast(rvfn):
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the complex RF branch opts out and stays float32
        s_mul = rvfn(torch.rand(B, 3, IMAGE, IMAGE), echo_batch())
    assert s_mul.shape == (B, L_SF, D_SF) and torch.isfinite(s_mul.float()).all()


@pytest.mark.parametrize("chirps", [1, 8])
def test_single_modality_rvfn(chirps):
    rf_only = RVFN("rf", image_size=IMAGE, num_chirps=chirps, num_antennas=A, num_samples=S, L_sf=L_SF, d_sf=D_SF)
    assert rf_only.cv is None and rf_only.fusion is None
    assert rf_only(None, echo_batch(chirps=chirps)).shape == (B, L_SF, D_SF)
    cv_only = RVFN("cv", image_size=IMAGE, num_chirps=chirps, num_antennas=A, num_samples=S, L_sf=L_SF, d_sf=D_SF)
    assert cv_only.rf is None and cv_only(torch.rand(B, 3, IMAGE, IMAGE), None).shape == (B, L_SF, D_SF)
    with pytest.raises(ValueError, match="modality"):
        RVFN("lidar", image_size=IMAGE, num_chirps=chirps, num_antennas=A, num_samples=S, L_sf=L_SF, d_sf=D_SF)


def _nan_echo():
    echo = echo_batch()
    echo[1, 2, 3, 4] = complex(float("nan"), 0.0)
    return echo


def _nan_image():
    image = torch.rand(B, 3, IMAGE, IMAGE)
    image[0, 0, 0, 0] = float("nan")
    return image


@pytest.mark.parametrize(("image", "echo", "message"), [
    (lambda: torch.rand(B, 3, IMAGE, IMAGE), lambda: echo_batch().real,
     r"echo must be complex64 \[B, C, A, S\] = \[\*, 8, 16, 60\], got float32 \[2, 8, 16, 60\]"),
    (lambda: torch.rand(B, 3, IMAGE, IMAGE), lambda: echo_batch(chirps=1),
     r"= \[\*, 8, 16, 60\], got complex64 \[2, 1"),
    (lambda: torch.rand(B, 3, IMAGE, IMAGE), lambda: echo_batch()[0], r"echo must be .* = \[\*, 8, 16, 60\]"),
    (lambda: torch.rand(B, 3, 32, 32), echo_batch, r"image must be float \[B, 3, H, W\] = \[\*, 3, 64, 64\], got"),
    (lambda: torch.randint(0, 255, (B, 3, IMAGE, IMAGE), dtype=torch.uint8), echo_batch, r"got uint8"),
    (lambda: torch.rand(B, 3, IMAGE, IMAGE), _nan_echo, r"echo contains NaN"),
    (_nan_image, echo_batch, r"image contains NaN"),
    (lambda: torch.rand(B + 1, 3, IMAGE, IMAGE), echo_batch, r"same batch size"),
])
def test_rvfn_rejects_bad_inputs(rvfn, image, echo, message):
    with pytest.raises(ValueError, match=message):
        rvfn(image(), echo())


def _synthetic_batch(n, g, size):
    """Random images (no information); the class and distance are set by the echo level (-120/-100/-80 dB, which
    only the log-RMS feature keeps after normalisation), the azimuth by which antenna half is attenuated."""
    cls = torch.randint(0, 3, (n,), generator=g)
    half = torch.randint(0, 2, (n,), generator=g)
    echo = torch.complex(torch.randn(n, 1, A, S, generator=g), torch.randn(n, 1, A, S, generator=g))
    echo[half == 1, :, : A // 2] *= 0.1
    level = 10 ** ((-120.0 + 20.0 * cls.float()) / 20)
    echo = echo / echo.abs().square().mean(dim=(1, 2, 3), keepdim=True).sqrt() * level[:, None, None, None]
    labels = torch.stack([0.2 + 0.3 * cls.float(), 0.3 + 0.4 * half.float(), torch.full((n,), 0.5),
                          torch.full((n,), 0.5)], dim=1)
    return torch.rand(n, 3, size, size, generator=g), echo.to(torch.complex64), labels, cls


def test_tiny_training_lowers_the_loss():
    """RVFN + head, 30 steps on fresh batches; the held-out loss must drop well below what fitting the label means
    gives (~6): only possible by reading the echo (the images are noise and never repeat)."""
    size, g = 32, torch.Generator().manual_seed(1)
    model = torch.nn.ModuleDict({
        "rvfn": RVFN("both", image_size=size, num_chirps=1, num_antennas=A, num_samples=S, L_sf=4, d_sf=32,
                     rf_channels=(8, 16, 32), num_heads=4),
        "head": MultiTaskHead(32, num_classes=3)})
    loss_fn = SensingLoss()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)

    def loss(batch):
        image, echo, labels, cls = batch
        return loss_fn(model["head"](model["rvfn"](image, echo)), labels, cls)

    held_out = _synthetic_batch(64, g, size)
    model.eval()
    with torch.no_grad():
        before, _ = loss(held_out)
    model.train()
    for _ in range(30):
        opt.zero_grad()
        total, _ = loss(_synthetic_batch(16, g, size))
        total.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        after, log = loss(held_out)
    assert float(after) < 0.3 * float(before), f"loss {float(before):.3f} -> {float(after):.3f} ({log})"
    assert log["distance"] < 0.02 and log["azimuth"] < 0.02, log


@pytest.mark.parametrize("u, v", [(0.0, 0.0), (-0.5, 0.25), (0.6, -0.7)])
def test_camera_cue_pooling_is_centred_on_the_projected_target(u, v):
    from disac_ros.models.rvfn import cue_weights

    h = w = 8
    weights = cue_weights(torch.tensor([[u, v]]), h, w, sigma=0.25)[0]
    assert weights.sum().item() == pytest.approx(1.0)
    i, j = divmod(int(weights.argmax()), w)
    cell = ((2 * j + 1) / w - 1, (2 * i + 1) / h - 1)
    assert abs(cell[0] - u) <= 1 / w + 1e-6 and abs(cell[1] - v) <= 1 / h + 1e-6
    # a synthetic map with one bright cell where the target lies: pooled there, the bright cell dominates
    bright = torch.zeros(1, 1, h, w)
    bright[0, 0, i, j] = 1.0
    far = cue_weights(torch.tensor([[-u - 0.9 * (1 if u >= 0 else -1), -v]]), h, w, sigma=0.25)[0]
    assert (bright[0, 0] * weights).sum() > 5 * (bright[0, 0] * far).sum()


def test_cued_camera_branch_reads_the_cue_and_ignores_it_when_invalid():
    from disac_ros.models.rvfn import VisualFeatureExtractor

    torch.manual_seed(0)
    cv = VisualFeatureExtractor(4, 16, 64, camera_cue=True).eval()
    image = torch.rand(2, 3, 64, 64)
    left, right = torch.tensor([[-0.8, 0.0, 1.0]] * 2), torch.tensor([[0.8, 0.0, 1.0]] * 2)
    with torch.no_grad():
        assert not torch.allclose(cv(image, left), cv(image, right))
        off = torch.tensor([[-0.8, 0.0, 0.0]] * 2), torch.tensor([[0.8, 0.0, 0.0]] * 2)
        torch.testing.assert_close(cv(image, off[0]), cv(image, off[1]))
    with pytest.raises(ValueError, match="cue"):
        cv(image)


def test_radar_front_end_puts_a_target_at_its_range_doppler_and_beam_cells():
    from disac_ros.config import load_scene
    from disac_ros.models.rvfn import RadarFrontEnd
    from disac_ros.sim import radar

    cfg = load_scene(preset="default").radar
    t = np.arange(cfg.num_samples) / cfg.sampling_frequency
    replicas = torch.from_numpy(radar.lfm_chirp(cfg, t[None, :] - t[:, None]).astype(np.complex64))
    front = RadarFrontEnd(cfg.num_chirps, (cfg.array_rows, cfg.array_cols), replicas)
    near = radar.synthesize_echo(cfg, 20.0, 0.0, 0.0, 0.0, 1.0, noise=False)
    far = radar.synthesize_echo(cfg, 40.0, 0.0, 0.0, 0.0, 1.0, noise=False)
    cubes = front(torch.from_numpy(np.stack([near, far]))).abs()          # [2, C, A, S]
    range_bin = cubes.amax(dim=(1, 2)).argmax(dim=1)
    per_bin = 3e8 / (2 * cfg.sampling_frequency)
    assert abs(range_bin[0].item() * per_bin - 20.0) <= per_bin and abs(range_bin[1].item() * per_bin - 40.0) <= per_bin
    # boresight, zero Doppler: the centre (shifted zero-frequency) beam and Doppler cells hold the peak
    c, a = np.unravel_index(int(cubes[0, :, :, range_bin[0]].argmax()), cubes.shape[1:3])
    assert c == cfg.num_chirps // 2 and a == (cfg.array_rows // 2) * cfg.array_cols + cfg.array_cols // 2


def test_one_image_expanded_over_targets_runs_the_backbone_once_with_the_same_features():
    from disac_ros.models.rvfn import VisualFeatureExtractor

    torch.manual_seed(0)
    cv = VisualFeatureExtractor(4, 16, 64, camera_cue=True).eval()
    image = torch.rand(1, 3, 64, 64)
    cue = torch.tensor([[-0.5, 0.1, 1.0], [0.0, 0.0, 1.0], [0.6, -0.2, 1.0]])
    batches = []
    cv.backbone.register_forward_hook(lambda module, args, out: batches.append(args[0].shape[0]))
    with torch.no_grad():
        shared = cv(image.expand(3, -1, -1, -1), cue)     # how the inference API passes a frame
        copied = cv(image.repeat(3, 1, 1, 1), cue)        # how a training batch holds it
    assert batches == [1, 3]
    torch.testing.assert_close(shared, copied, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(shared[0], shared[2])       # the cue still tells the targets apart
