"""Communication cost and execution time (Sec. III-A3, Eqs. 9, 10 and 14; Sec. V-B1).

* **Bytes.** Conventionally a device sends, per target, its camera image ``H x W x 3`` uint8 and the target's radar
  echo ``C x A x S`` complex64 (8 bytes per value), the shapes of the dataset; LLM-DiSAC sends the semantic code
  ``L_se x d_se`` float32 (:func:`disac_ros.models.link.payload_bytes`, what the trainer hands over and the
  ``SemanticCode`` message carries). The paper's 1,370,112 vs 100,352 bytes are listed beside ours.
* **Rate and delay.** Eq. (9) ``V = B log2(1 + P H / N0)`` with B = 1 kHz, P = 1 W, H = 1 (the pure AWGN channel of
  the experiments) and the noise power N0 = P / 10^(SNR/10) of each evaluation SNR; Eq. (10) ``t_com = Z / V``
  with Z the payload in bits: :func:`disac_ros.models.link.link_budget`, as the ``channel`` node computes it.
* **Execution time.** Eq. (14) ``T_exe = max_k (t_ft + t_se + t_com + t_sd + t_fa)``, each term measured on the
  trained run's own models and real test inputs (one frame of N targets), with the timing helper of
  ``benchmarks/bench_models.py`` (warm-up calls, median of repeats).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from disac_ros.data.store import input_shapes
from disac_ros.evaluation.paper import EVAL_SNRS_DB, PAPER_RAW_BYTES, PAPER_REDUCTION_PERCENT, PAPER_SEMANTIC_BYTES
from disac_ros.models.link import BANDWIDTH_HZ, POWER_W, link_budget, link_distances, payload_bytes
from disac_ros.runs import Run, pick_device


def raw_bytes(manifest: dict) -> dict[str, int]:
    """Bytes per device and target of the raw data: image H x W x 3 uint8 + echo C x A x S complex64."""
    image_shape, echo_shape = input_shapes(manifest)
    image, echo = int(np.prod(image_shape)), int(np.prod(echo_shape)) * 8
    return {"image": image, "echo": echo, "total": image + echo, "image_shape": list(image_shape),
            "echo_shape": list(echo_shape)}


def communication_cost(manifest: dict, L_se: int, d_se: int, snrs_db=EVAL_SNRS_DB, multi_device: bool = True,
                       bandwidth_hz: float = BANDWIDTH_HZ, power_w: float = POWER_W) -> dict:
    """Bytes, reduction and per-SNR rate and delay of raw vs semantic transmission, ours and the paper's.

    Per device and target (one dataset sample); ``per_frame`` multiplies by the targets N and the collaborators K
    (devices - 1) that send to the center. A single-device scheme sends nothing (``semantic_bytes`` 0).
    """
    raw = raw_bytes(manifest)
    code = payload_bytes(L_se, d_se, torch.float32) if multi_device else 0
    N, K = len(manifest["targets"]), len(manifest["devices"]) - 1
    links = {}
    for snr in snrs_db:
        key = f"{float(snr):g}"
        ours_raw, ours_code = link_budget(raw["total"], snr, 1.0, bandwidth_hz, power_w), \
            link_budget(code, snr, 1.0, bandwidth_hz, power_w)
        links[key] = {"snr_db": float(snr), "noise_power_w": ours_raw["noise_power_w"],
                      "rate_bps": ours_raw["rate_bps"],
                      "delay_raw_s": ours_raw["delay_s"], "delay_semantic_s": ours_code["delay_s"],
                      "paper_delay_raw_s": link_budget(PAPER_RAW_BYTES, snr, 1.0, bandwidth_hz, power_w)["delay_s"],
                      "paper_delay_semantic_s": link_budget(PAPER_SEMANTIC_BYTES, snr, 1.0, bandwidth_hz,
                                                            power_w)["delay_s"]}
    return {
        "raw": raw, "semantic_bytes": code, "semantic_shape": [L_se, d_se], "semantic_dtype": "float32",
        "complex_symbols": L_se * d_se // 2 if multi_device else 0,
        "payload_percent": 100.0 * code / raw["total"], "reduction_percent": 100.0 * (1 - code / raw["total"]),
        "per_frame": {"targets": N, "collaborators": K, "raw_bytes": N * K * raw["total"],
                      "semantic_bytes": N * K * code},
        "paper": {"raw_bytes": PAPER_RAW_BYTES, "semantic_bytes": PAPER_SEMANTIC_BYTES,
                  "payload_percent": 100.0 * PAPER_SEMANTIC_BYTES / PAPER_RAW_BYTES,
                  "reduction_percent": 100.0 * (1 - PAPER_SEMANTIC_BYTES / PAPER_RAW_BYTES),
                  "reduction_percent_printed": PAPER_REDUCTION_PERCENT},
        "bandwidth_hz": bandwidth_hz, "power_w": power_w, "gain": 1.0, "links": links,
    }


def _timer():
    """``timed(fn, repeats, device, warmup)`` of benchmarks/bench_models.py, or the same logic when not installed."""
    try:
        from benchmarks.bench_models import timed
        return timed
    except ImportError:  # an installed package without the repository's benchmarks/
        def timed(fn, repeats: int, device: torch.device, warmup: int = 2) -> np.ndarray:
            for _ in range(warmup):
                fn()
            out = []
            for _ in range(repeats):
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                fn()
                if device.type == "cuda":
                    torch.cuda.synchronize()
                out.append(time.perf_counter() - t0)
            return np.array(out)
        return timed


@torch.no_grad()
def execution_time(data: Path, run: Path, snrs_db=EVAL_SNRS_DB, center: str | None = None, repeats: int = 20,
                   split: str = "test") -> dict:
    """Eq. (14) measured stage by stage on the run's trained models, for one frame of N targets.

    Terms (median and p95 over ``repeats`` calls, in ms): ``t_ft`` a collaborator's RVFN feature extraction,
    ``t_se`` its semantic encoder, ``t_sd`` the center decoding that collaborator's received codes, ``t_fa`` the
    center's TRAM + heads over its own feature and all K decoded collaborators; ``t_com`` from Eq. (10) for the N
    codes at each SNR. ``T_exe`` per SNR is the max over collaborators of the sum (the collaborators run the same
    networks, so their compute terms are measured once). The center also decodes its K collaborators one after
    the other on one CPU: ``center_decode_all_ms`` = K x t_sd. Single-device schemes: ``t_ft`` + the head only.
    """
    from disac_ros.data.datasets import DeviceTargetDataset
    from disac_ros.training.center import CenterSide

    data, run = Path(data), Run(run)
    manifest = run.check_data(data)
    model_cfg = run.model_cfg
    dev = pick_device()
    timed = _timer()
    center = center or run.center
    N = len(manifest["targets"])

    def frame(device_id: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ds = DeviceTargetDataset(data, split, devices=[device_id])
        samples = [ds[i] for i in range(min(N, len(ds)))]
        return tuple(torch.stack([s[key] for s in samples]).to(dev) for key in ("image", "echo", "detection"))

    def stat(times: np.ndarray) -> dict[str, float]:
        return {"p50_ms": float(1e3 * np.median(times)), "p95_ms": float(1e3 * np.percentile(times, 95))}

    out: dict = {"device": str(dev), "threads": torch.get_num_threads(), "repeats": repeats, "targets": N,
                 "center": center, "terms": {}, "by_snr": {}}
    if not model_cfg.multi_device:
        model = run.load_device_model(center, dev)
        image, echo, det = frame(center)
        feats = model.features(image, echo, det)
        out["terms"]["t_ft"] = stat(timed(lambda: model.features(image, echo, det), repeats, dev))
        out["terms"]["t_head"] = stat(timed(lambda: model.head(feats, model.head_input(det)), repeats, dev))
        total = out["terms"]["t_ft"]["p50_ms"] + out["terms"]["t_head"]["p50_ms"]
        out["by_snr"] = {f"{float(s):g}": {"t_com_ms": 0.0, "T_exe_ms": total} for s in snrs_db}
        return out
    collaborator = run.collaborators(center)[0]
    side = CenterSide(run, data, center)
    head = run.load_center_model(center, dev)
    sender = run.load_device_model(collaborator, dev)
    image, echo, det = frame(collaborator)
    feats = sender.features(image, echo, det)
    code = sender.encoder(feats)
    K = len(side.decoders)
    snr = torch.full((len(image),), 20.0, device=dev)
    distance = torch.full((len(image),), link_distances(run.scene, center, [collaborator])[collaborator], device=dev)
    received = sender.transmit(code, snr)
    decoder = side.decoders[side.collaborators.index(collaborator)]
    decoded = decoder(received, snr, distance)
    cimage, cecho, cdet = frame(center)
    center_feats = side.center_model.features(cimage, cecho, cdet)
    prior = side.center_model.head_input(cdet)
    all_decoded = decoded.unsqueeze(1).expand(-1, K, -1, -1).contiguous()
    terms = out["terms"]
    terms["t_ft"] = stat(timed(lambda: sender.features(image, echo, det), repeats, dev))
    terms["t_se"] = stat(timed(lambda: sender.encoder(feats), repeats, dev))
    terms["t_sd"] = stat(timed(lambda: decoder(received, snr, distance), repeats, dev))
    terms["t_fa"] = stat(timed(lambda: head(center_feats, all_decoded, None, side.poses, prior), repeats, dev))
    out["center_decode_all_ms"] = K * terms["t_sd"]["p50_ms"]
    out["collaborators"] = K
    compute = sum(terms[k]["p50_ms"] for k in ("t_ft", "t_se", "t_sd", "t_fa"))
    bytes_per_frame = len(image) * payload_bytes(model_cfg.L_se, model_cfg.d_se, torch.float32)
    for s in snrs_db:
        t_com = 1e3 * link_budget(bytes_per_frame, float(s))["delay_s"]
        out["by_snr"][f"{float(s):g}"] = {"t_com_ms": t_com, "T_exe_ms": compute + t_com}
    out["payload_bytes_per_frame"] = bytes_per_frame
    out["note"] = ("t_com from Eq. (10) at B = 1 kHz dominates T_exe by orders of magnitude; compute terms measured "
                   f"on {dev} with {torch.get_num_threads()} threads")
    return out
