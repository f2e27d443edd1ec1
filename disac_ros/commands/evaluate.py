"""``disac evaluate``: sensing metrics (NMSE in dB, RMSE, accuracy; Eqs. 59-61) of recorded or offline estimates.

``--bag BAG`` evaluates a rosbag2 bag that holds ``/ground_truth/targets`` and ``/targets`` (SI values, estimates
matched to ground truth by header stamp and target id). ``--run RUN --data DIR`` (the offline evaluation suite,
:mod:`disac_ros.evaluation.offline`) evaluates a trained run on the dataset's test split at each link SNR and for
each aggregation center it has a model for, on normalised and SI values, with the communication cost and the
execution time of Eq. (14); ``--out DIR`` also writes ``results.json``, ``report.md`` and plots there. The two
modes exclude each other.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from disac_ros.files import write_json_atomic


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--bag", metavar="BAG", help="a bag with /ground_truth/targets and /targets")
    mode.add_argument("--run", metavar="RUN", help="a training run to evaluate offline on --data")
    parser.add_argument("--data", metavar="DIR", help="dataset directory for --run (the one it was trained on)")
    parser.add_argument("--json", metavar="OUT", help="also write every number to this JSON file")
    run_opts = parser.add_argument_group("--run options")
    run_opts.add_argument("--snr", nargs="+", type=float, default=None,
                          help="link SNRs [dB] (default: the paper's 0 10 15 20 25)")
    run_opts.add_argument("--centers", nargs="+", default=None,
                          help="aggregation centers (device ids; default: every center the run has a model for)")
    run_opts.add_argument("--split", default="test", help="dataset split")
    run_opts.add_argument("--seed", type=int, default=0, help="seed of the channel noise")
    run_opts.add_argument("--table-snr", type=float, default=20.0, help="SNR [dB] of the report's Table III")
    run_opts.add_argument("--out", metavar="DIR", help="write results.json, report.md and plots to DIR")
    run_opts.add_argument("--no-timing", action="store_true", help="skip the Eq. (14) execution-time measurement")


def format_table(result: dict) -> str:
    """A short human-readable table of a bag's :func:`disac_ros.evaluation.estimates.evaluate_estimates` result."""
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


def _write_json(path: str | Path, result: dict) -> None:
    write_json_atomic(path, result, strict=True)  # NaN (NMSE of an all-zero parameter) -> null: strict JSON
    print(f"wrote {path}")


def run_offline(args: argparse.Namespace) -> int:
    """``--run RUN --data DIR``: the offline evaluation of one trained run."""
    import shlex
    import time

    from disac_ros.data.store import load_manifest
    from disac_ros.evaluation import cost, offline, report
    from disac_ros.evaluation.paper import EVAL_SNRS_DB
    from disac_ros.evaluation.suite import results_for_run
    from disac_ros.runs import Run

    if args.data is None:
        raise ValueError("--run needs --data DIR, the dataset the run was trained on")
    t0 = time.monotonic()
    snrs = [float(s) for s in (args.snr or EVAL_SNRS_DB)]
    if args.out and args.table_snr not in snrs:
        raise ValueError(f"--table-snr {args.table_snr:g} must be one of --snr {snrs}")
    data, run_dir = Path(args.data), Path(args.run)
    evaluation = offline.evaluate_offline(data, run_dir, snrs, centers=args.centers, split=args.split,
                                          seed=args.seed)
    model_cfg = Run(run_dir).model_cfg
    comm = cost.communication_cost(load_manifest(data), model_cfg.L_se, model_cfg.d_se, snrs,
                                   multi_device=model_cfg.multi_device)
    exe = None if args.no_timing else cost.execution_time(data, run_dir, snrs, split=args.split)
    print(offline.format_run_table(evaluation, "normalised"))
    print()
    print(offline.format_run_table(evaluation, "si"))
    if model_cfg.multi_device:
        print(f"\ncommunication per device and target: raw {comm['raw']['total']:,} bytes vs semantic code "
              f"{comm['semantic_bytes']:,} bytes ({comm['payload_percent']:.3f} %, a {comm['reduction_percent']:.2f} % "
              f"reduction; the paper: {comm['paper']['reduction_percent_printed']} %)")
    if exe:
        terms = ", ".join(f"{k} {v['p50_ms']:.2f} ms" for k, v in exe["terms"].items())
        print(f"execution time (Eq. 14, one frame of {exe['targets']} targets, p50): {terms}; T_exe "
              + ", ".join(f"{v['T_exe_ms']:.0f} ms @ {k} dB" for k, v in exe["by_snr"].items()))
    parts = ["disac", "evaluate", "--run", str(run_dir), "--data", str(data), "--snr", *(f"{s:g}" for s in snrs),
             "--split", args.split, "--seed", str(args.seed)]
    if args.centers:
        parts += ["--centers", *args.centers]
    if args.out:
        parts += ["--out", args.out, "--table-snr", f"{args.table_snr:g}"]
    result = {"evaluation": evaluation, "cost": comm, "execution_time": exe, "command": shlex.join(parts)}
    if args.json:
        write_json_atomic(Path(args.json), result, indent=1, strict=True)
        print(f"wrote {args.json}")
    if args.out:
        results = results_for_run(data, run_dir, evaluation, comm, exe, [shlex.join(parts)], args.table_snr,
                                  args.seed, time.monotonic() - t0)
        written = report.write_outputs(results, Path(args.out))
        print(f"report: {written['report']}\nresults: {written['results']}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.run is not None:
        return run_offline(args)
    if args.data is not None:
        raise ValueError("--data goes with --run; --bag reads everything from the bag")
    given = [f"--{k.replace('_', '-')}" for k in ("snr", "centers", "out") if getattr(args, k, None)]
    if given:
        raise ValueError(f"{', '.join(given)} go with --run; --bag evaluates the estimates recorded in the bag")
    from disac_ros.evaluation.estimates import evaluate_estimates
    from disac_ros.ros.bags import read_target_arrays

    result = {"bag": str(Path(args.bag)), **evaluate_estimates(*read_target_arrays(args.bag))}
    print(format_table(result))
    if args.json:
        _write_json(args.json, result)
    return 0
