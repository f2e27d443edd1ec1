#!/usr/bin/env python3
"""The center's decoders in float32 and int8: time per decoder call and offline accuracy / NMSE (issue 15).

Usage (after `source .venv/env.sh`, with the run and dataset `make demo` made):
    python benchmarks/bench_decoder_precision.py [--preset default] [--run RUN] [--data DATA] [--snr 20]
                                                 [--json results/bench/decoder-precision-default.json]

For each precision of :func:`disac_ros.models.decoders.for_inference`: the wall time of one trained decoder's call
on one frame's codes (the targets of a frame, one torch thread, as the aggregator node runs it), and the run's
offline evaluation on the test split at ``--snr`` with every handed-over decoder in that precision (the same
evaluation, seed and channel noise as ``disac evaluate``, so the two rows differ by the precision alone): accuracy
and the four NMSEs. int8 is what the aggregator's ``decoder_precision`` parameter switches on.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch


def call_ms(decoder, targets: int, shape: tuple[int, int], calls: int = 100) -> float:
    """Median wall milliseconds of ``decoder`` on ``targets`` codes of ``shape`` at 20 dB and 25 m."""
    codes, snr, dist = torch.randn(targets, *shape), torch.full((targets,), 20.0), torch.full((targets,), 25.0)
    times = []
    with torch.inference_mode():
        for i in range(calls + 5):
            t0 = time.perf_counter()
            decoder(codes, snr, dist)
            if i >= 5:
                times.append(1e3 * (time.perf_counter() - t0))
    return float(sorted(times)[len(times) // 2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--run", default=None, help="trained run (default: runs/<preset>-<digest>, make demo's)")
    parser.add_argument("--data", default=None, help="its dataset (default: data/<preset>-<digest>)")
    parser.add_argument("--snr", type=float, default=20.0, help="link SNR [dB] of the evaluation")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    from disac_ros import runs
    from disac_ros.evaluation.offline import evaluate_offline
    from disac_ros.models.decoders import PRECISIONS

    torch.set_num_threads(1)
    run = runs.Run(Path(args.run) if args.run else runs.default_run(args.preset))
    data = Path(args.data) if args.data else runs.default_data(args.preset)
    targets, shape = len(run.target_classes), run.code_shape
    results = {}
    for precision in PRECISIONS:
        ms = call_ms(run.load_decoder(run.collaborators()[0], precision=precision), targets, shape)
        t0 = time.monotonic()
        evaluation = evaluate_offline(data, run.path, [args.snr], centers=[run.center], split="test", seed=0,
                                      decoder_precision=precision)
        row = evaluation["centers"][run.center]["by_snr"][f"{args.snr:g}"]
        metrics = row["metrics"]["normalised"]
        nmse = {k: v for k, v in metrics.items() if k.startswith("nmse_db")}
        results[precision] = {"decoder_call_ms": ms, "evaluation_s": time.monotonic() - t0,
                              "accuracy": metrics["accuracy"], **nmse}
        print(f"{precision:>8}: {ms:6.1f} ms per decoder call ({targets} targets), accuracy "
              f"{100 * metrics['accuracy']:.1f} %, NMSE dB " +
              ", ".join(f"{k.removeprefix('nmse_db_')} {v:.2f}" for k, v in nmse.items()), flush=True)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"command": " ".join(sys.argv), "run": str(run.path),
                                               "snr_db": args.snr, "results": results}, indent=1))
        print(f"figures: {args.json}")


if __name__ == "__main__":
    main()
