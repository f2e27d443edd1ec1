#!/usr/bin/env python3
"""Training throughput per stage and inference latency of the LLM-DiSAC networks, for a preset.

Usage (after `source .venv/env.sh`):
    python benchmarks/bench_models.py [--presets default] [--steps 10] [--repeats 30] [--device cpu|cuda]

Measures, with random weights and synthetic inputs of the preset's shapes (speed does not depend on the weights):

* stage 1: samples/s of one device's training step (RVFN + semantic encoder + channel + LLM decoder + head,
  forward, backward, AdamW step) at the preset's batch size;
* stage 2: samples/s of the center's training step (its RVFN features, K = 3 collaborators' frozen decoders on
  noisy codes, TRAM + head forward/backward);
* inference: latency of one device's encode (one frame, all targets: RVFN + encoder) and of one aggregation
  (the center's RVFN, decoding 3 collaborators' codes, TRAM + head), p50 / p95 in ms - the feature extraction,
  encoding, decoding and aggregation terms of Eq. (14).

The first iterations are a warm-up and are not timed. Prints one table and the machine it ran on.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch


def machine(device: torch.device) -> str:
    cpu = platform.processor() or platform.machine()
    gpu = torch.cuda.get_device_name(0) if device.type == "cuda" else "no GPU used"
    return f"{cpu}, {os.cpu_count()} cores, {gpu}, torch {torch.__version__}, threads {torch.get_num_threads()}"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, repeats: int, device: torch.device, warmup: int = 2) -> np.ndarray:
    """Wall time of ``fn()`` in seconds, ``repeats`` times after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        out.append(time.perf_counter() - t0)
    return np.array(out)


def bench(preset: str, steps: int, repeats: int, device: torch.device) -> dict:
    from disac_ros.config import load_scene, load_section
    from disac_ros.models.llm_disac import CenterModel, DeviceModel
    from disac_ros.models.losses import SensingLoss

    scene = load_scene(preset=preset)
    model_cfg, train_cfg = load_section("model", preset), load_section("train", preset)
    r, size, n_targets, K = scene.radar, scene.camera.height, len(scene.targets), 3
    echo_shape = (r.num_chirps, r.num_antennas, r.num_samples)
    B = train_cfg.batch_size
    torch.manual_seed(0)

    def batch(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = torch.rand(n, 3, size, size, device=device)
        echo = torch.randn(n, *echo_shape, dtype=torch.complex64, device=device)
        return image, echo

    labels = torch.rand(B, 4, device=device)
    classes = torch.randint(0, model_cfg.num_classes, (B,), device=device)
    loss_fn = SensingLoss(weights=train_cfg.loss_weights).to(device)

    # Stage 1: one device's training step.
    device_model = DeviceModel(model_cfg, size, echo_shape).to(device).train()
    opt = torch.optim.AdamW([p for p in device_model.parameters() if p.requires_grad], lr=train_cfg.lr)
    image, echo = batch(B)
    distance = torch.full((B,), 20.0, device=device)

    def stage1_step():
        loss, _ = loss_fn(device_model(image, echo, None, distance), labels, classes)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t1 = timed(stage1_step, steps, device)

    # Stage 2: the center's training step with K collaborators' frozen decoders.
    device_model.eval()
    center = CenterModel(model_cfg).to(device).train()
    opt2 = torch.optim.AdamW(center.parameters(), lr=train_cfg.lr)
    with torch.no_grad():
        feats = device_model.features(image, echo)
        codes = device_model.encode(image, echo)
    snr = torch.full((B,), 15.0, device=device)

    def stage2_step():
        with torch.no_grad():
            decoded = torch.stack([device_model.decode(device_model.transmit(codes, snr), snr, distance)
                                   for _ in range(K)], 1)
        loss, _ = loss_fn(center(feats, decoded), labels, classes)
        opt2.zero_grad(set_to_none=True)
        loss.backward()
        opt2.step()

    t2 = timed(stage2_step, steps, device)

    # Inference, one frame with all targets: encode on a device; aggregate at the center.
    center.eval()
    image1, echo1 = batch(n_targets)
    snr1, dist1 = torch.full((n_targets,), 15.0, device=device), torch.full((n_targets,), 20.0, device=device)
    with torch.no_grad():
        rx = device_model.transmit(device_model.encode(image1, echo1), snr1)

        def aggregate():
            decoded = torch.stack([device_model.decode(rx, snr1, dist1) for _ in range(K)], 1)
            return center(device_model.features(image1, echo1), decoded)

        parts = {
            "feature extraction (RVFN)": timed(lambda: device_model.features(image1, echo1), repeats, device),
            "encode (RVFN + encoder)": timed(lambda: device_model.encode(image1, echo1), repeats, device),
            "decode (1 collaborator)": timed(lambda: device_model.decode(rx, snr1, dist1), repeats, device),
            "aggregate (RVFN + 3 decodes + TRAM)": timed(aggregate, repeats, device),
        }
    return {"preset": preset, "batch": B, "targets": n_targets, "stage1": B / np.median(t1),
            "stage2": B / np.median(t2), "latency_ms": {k: (1e3 * np.median(v), 1e3 * np.percentile(v, 95))
                                                       for k, v in parts.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["default"], choices=("smoke", "default", "paper"))
    parser.add_argument("--steps", type=int, default=10, help="timed training steps per stage")
    parser.add_argument("--repeats", type=int, default=30, help="timed inference calls")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"machine: {machine(device)}")
    print(f"{'preset':<8} {'batch':>5} {'stage 1 samples/s':>18} {'stage 2 samples/s':>18}")
    results = [bench(p, args.steps, args.repeats, device) for p in args.presets]
    for r in results:
        print(f"{r['preset']:<8} {r['batch']:>5} {r['stage1']:>18.1f} {r['stage2']:>18.1f}")
    for r in results:
        print(f"\n{r['preset']}: inference latency, one frame of {r['targets']} targets (p50 / p95 ms)")
        for name, (p50, p95) in r["latency_ms"].items():
            print(f"  {name:<38} {p50:8.1f} / {p95:8.1f}")


if __name__ == "__main__":
    main()
