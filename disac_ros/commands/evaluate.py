"""``disac evaluate``: sensing metrics (NMSE in dB, RMSE, accuracy; Eqs. 59-61) of recorded or offline estimates.

``--bag BAG`` evaluates a rosbag2 bag that holds ``/ground_truth/targets`` and ``/targets`` (SI values, estimates
matched to ground truth by header stamp and target id). ``--run RUN --data DIR`` (the offline evaluation suite)
is the other mode; the two exclude each other.
"""
from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--bag", metavar="BAG", help="a bag with /ground_truth/targets and /targets")
    mode.add_argument("--run", metavar="RUN", help="a training run to evaluate offline on --data (not implemented yet)")
    parser.add_argument("--data", metavar="DIR", help="dataset directory for --run")
    parser.add_argument("--json", metavar="OUT", help="also write every number to this JSON file")


def format_table(result: dict) -> str:
    """A short human-readable table of :func:`disac_ros.ros.bags.evaluate_bag`'s result."""
    from disac_ros.metrics import PARAMETERS

    lines = [
        f"bag {result['bag']}: {result['matched']} estimates matched to ground truth "
        f"({result['estimate_arrays']} estimate arrays, {result['ground_truth_arrays']} ground-truth arrays)",
        f"unmatched estimates {result['unmatched_estimates']}, missed targets {result['missed_targets']}, "
        f"frames without estimate {result['frames_without_estimate']}, "
        f"mean contributing devices {result['mean_contributing_devices']:.2f}",
        f"accuracy {100 * result['accuracy']:.2f} %",
        f"{'parameter':<16} {'NMSE [dB]':>10} {'RMSE':>10}  unit",
    ]
    for name in PARAMETERS:
        nmse = result[f"nmse_db_{name}"]
        nmse_text = "n/a" if math.isnan(nmse) else f"{nmse:.2f}"
        lines.append(f"{name:<16} {nmse_text:>10} {result[f'rmse_{name}']:>10.4f}  {result['units'][name]}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.run is not None:
        raise ValueError("--run RUN --data DIR (the offline evaluation suite) is not implemented yet; "
                         "evaluate a recording with --bag BAG")
    if args.data is not None:
        raise ValueError("--data goes with --run; --bag reads everything from the bag")
    from disac_ros.ros.bags import evaluate_bag

    result = evaluate_bag(args.bag)
    print(format_table(result))
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        # NaN (NMSE of an all-zero parameter) becomes null so the file is strict JSON.
        clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in result.items()}
        tmp.write_text(json.dumps(clean, indent=2) + "\n")
        os.replace(tmp, out)
        print(f"wrote {out}")
    return 0
