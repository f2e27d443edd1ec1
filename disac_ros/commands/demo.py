"""``disac demo``: the main job on the embedded default, run by ``make demo``.

Generates (or re-uses) the default-preset dataset with Genesis and the radar model, trains (or resumes, or
re-uses) the two-stage LLM-DiSAC model on it, and evaluates it on the test split: estimated vs true target
states, accuracy and NMSE with and without the collaborators; then on sequences of the same world freshly drawn
with another seed, beside the test split's accuracy. Then it runs the live ROS 2 graph (Genesis bridge,
three device encoders, channel, aggregator: ``disac launch``) with 4 devices on new target trajectories while
``disac record`` writes every topic to a rosbag2 bag, and evaluates the bag's /targets against its ground truth:
accuracy and SI RMSE with 95 % intervals bootstrapped over the live sequences, beside the offline test split's.
"""
from __future__ import annotations

import argparse
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

from disac_ros.config import PRESETS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", choices=PRESETS, default="default", help="dataset and model size")
    parser.add_argument("--data", default=None, help="dataset directory (default: data/<preset>-<config digest>, "
                        "so an edited config gets a new dataset); a complete one is re-used, an unfinished one resumed")
    parser.add_argument("--run", default=None, help="training run directory (default: runs/<preset>-<digest>)")
    parser.add_argument("--snr", type=float, default=20.0, help="link SNR [dB] for the evaluation and the live graph")
    parser.add_argument("--seed", type=int, default=0, help="seed of the evaluation's channel noise")
    parser.add_argument("--live-sequences", type=int, default=60,
                        help="live sequences (new trajectories, the dataset's sequence length) the live ROS 2 graph "
                        "runs for, at the bridge's rate (config/disac.yaml: 2 frames per wall second; 0: skip it); "
                        "the default gives 300 frames or more on the "
                        "default preset")
    parser.add_argument("--out", default="results/demo", help="where the live run's bag and plots go")


#: Devices the demo's live graph is launched with.
LIVE_DEVICES = 4
#: Wall seconds the live graph gets to start (the Genesis scene, the models) before its sequences are counted.
START_ALLOWANCE_S = 80.0


def run_live(args: argparse.Namespace, run_dir: Path, offline) -> int:
    """Run the live graph with 4 devices for ``--live-sequences`` while recording every topic; score the bag.

    ``offline``: the test split's per-sample outcomes (:class:`~disac_ros.evaluation.samples.Scored`) the live
    metrics are set beside. Returns 1, after saying why, when a node died or never became ready, when no estimate
    was published or when not every launched device contributed: the live score is then labelled as not the
    result. Else 0.
    """
    import json
    import signal
    import subprocess
    import sys
    import time

    from disac_ros.evaluation.analysis import compare_to_reference
    from disac_ros.evaluation.estimates import evaluate_estimates, scored_rows
    from disac_ros.evaluation.plots import plot_live
    from disac_ros.files import json_safe, write_text_atomic
    from disac_ros.ros.bags import read_target_arrays
    from disac_ros.runs import Run

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bag = out / f"live-{time.strftime('%Y%m%d-%H%M%S')}"
    disac = [sys.executable, "-m", "disac_ros.cli"]
    sequence_s = Run(run_dir).scene.dataset.duration  # the bridge's default: a new sequence every duration
    # A sequence takes sequence_s of wall time at the scene's fps; at the bridge's slower 2 Hz the start-up
    # allowance the nodes do not use (they start in ~30 s) covers the difference.
    seconds = START_ALLOWANCE_S + args.live_sequences * sequence_s
    print(f"live graph for {seconds:.0f} s: {args.live_sequences} sequences of {sequence_s:g} s after "
          f"{START_ALLOWANCE_S:g} s of start-up")
    recorder = subprocess.Popen([*disac, "record", "--all", "--out", str(bag)])
    try:
        graph = subprocess.run([*disac, "launch", "--preset", args.preset, "--num-devices", str(LIVE_DEVICES),
                                "--run", str(run_dir), "--duration", str(seconds), "--set",
                                f"channel.snr_db={float(args.snr)}"], check=False)
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=120)
    failures = []
    if graph.returncode != 0:
        failures.append(f"the live graph exited with status {graph.returncode}: a node died or never became ready "
                        "(its `[launch] FAILED` line above names it)")
    result = {"bag": str(bag), **evaluate_estimates(*read_target_arrays(bag))}
    if not result["rows"]:
        failures.append("the live graph published no estimate")
        print("\n" + "\n".join(f"FAILED: {f}" for f in failures))
        return 1
    print(f"\n{'sim t [s]':>9} {'target':<16} {'distance m':>16} {'azimuth deg':>16} {'pitch deg':>14} "
          f"{'velocity m/s':>15} devices")
    last = sorted({r["stamp_s"] for r in result["rows"]})[-3:]
    for r in (r for r in result["rows"] if r["stamp_s"] in last):
        p, t = r["pred"], r["true"]
        print(f"{r['stamp_s']:9.1f} {r['pred_label'] + ' (' + r['true_label'] + ')':<16} {p[0]:6.1f} ({t[0]:6.1f}) "
              f"{math.degrees(p[1]):6.1f} ({math.degrees(t[1]):6.1f}) {math.degrees(p[2]):5.1f} "
              f"({math.degrees(t[2]):5.1f}) {p[3]:6.2f} ({t[3]:6.2f}) {len(r['contributing_devices'])}")
    contributed = sorted(set().union(*(r["contributing_devices"] for r in result["rows"])))
    result["launched_devices"], result["contributed_devices"] = LIVE_DEVICES, contributed
    print(f"\nlive graph: {len(contributed)} of the {LIVE_DEVICES} launched devices contributed "
          f"({', '.join(contributed)}), {result['mean_contributing_devices']:.2f} per estimate on average")
    if len(contributed) < LIVE_DEVICES:
        failures.append(f"only {len(contributed)} of the {LIVE_DEVICES} launched devices contributed")
    label = f"live score with {len(contributed)} of {LIVE_DEVICES} devices: NOT the result" if failures else \
        "live score"
    print(f"{label}: {result['matched']} estimates of {result['ground_truth_arrays']} ground-truth frames "
          f"({result['frames_without_estimate']} frames without an estimate), mean contributing devices "
          f"{result['mean_contributing_devices']:.2f}\n  accuracy {100 * result['accuracy']:.1f} %, RMSE: distance "
          f"{result['rmse_distance']:.2f} m, azimuth {math.degrees(result['rmse_azimuth']):.2f} deg, pitch "
          f"{math.degrees(result['rmse_pitch']):.2f} deg, velocity {result['rmse_radial_velocity']:.2f} m/s (SI)")
    live = scored_rows(result["rows"], sequence_s)
    frames = len(np.unique(live.keys[:, [0, 2]], axis=0))
    result["sequences"], result["frames"] = int(len(np.unique(live.sequence))), frames
    result["versus_offline"] = compare_to_reference(live, offline, args.seed)
    print(f"\n{label} vs offline test split (95 % intervals over sequences; live {result['sequences']} sequences, "
          f"{frames} frames, {len(live)} samples; offline {len(np.unique(offline.sequence))} sequences, "
          f"{len(offline)} samples):")
    for metric, row in result["versus_offline"].items():
        scale = 100.0 if metric == "accuracy" else 1.0
        v, r = row["value"], row["reference"]
        verdict = "within" if row["within"] else f"outside by {scale * row['by']:.3g}"
        print(f"  {metric:<22} live {scale * v['mean']:8.3f} [{scale * v['low']:.3f}, {scale * v['high']:.3f}]"
              f"   offline {scale * r['mean']:8.3f} [{scale * r['low']:.3f}, {scale * r['high']:.3f}]   {verdict}")
    if result["sequences"] < 30 or frames < 300:
        print(f"warning: fewer than 30 sequences or 300 frames were estimated ({result['sequences']}, {frames}): "
              "the graph could not keep up or started late (see its log)")
    result["failures"] = failures
    write_text_atomic(out / f"{bag.name}.json", json.dumps(json_safe(result), indent=1, default=str))
    print(f"bag: {bag} (replay: disac play {bag}; metrics: disac evaluate --bag {bag})\n"
          f"live plot: {plot_live(result['rows'], out / f'{bag.name}.png')}")
    if failures:
        print("\n" + "\n".join(f"FAILED: {f}" for f in failures))
    return 1 if failures else 0


def evaluate_test_split(data: Path, run_dir: Path, snr: float, seed: int):
    """Evaluate the run on the test split at one link SNR, as ``disac evaluate`` does, and print the demo's table.

    The table: example estimates, then the metrics with and without the collaborators. Returns the per-sample
    outcomes (:class:`~disac_ros.evaluation.samples.Scored`).
    """
    from disac_ros.evaluation.offline import evaluate_offline, records_path
    from disac_ros.evaluation.samples import Scored
    from disac_ros.runs import Run

    run = Run(run_dir)
    center = run.center
    result = evaluate_offline(data, run_dir, [snr], centers=[center], split="test", seed=seed, examples=9,
                              records=True)
    row = result["centers"][center]["by_snr"][f"{float(snr):g}"]
    print(f"{'seq/chunk/i/tgt':<17} {'class (true)':<16} {'distance m':>16} {'azimuth deg':>16} "
          f"{'pitch deg':>14} {'velocity m/s':>15}")
    for ex in row.get("examples", []):
        p, t = ex["pred"], ex["true"]
        print(f"{'/'.join(map(str, ex['key'])):<17} {ex['pred_class'] + ' (' + ex['true_class'] + ')':<16} "
              f"{p[0]:6.1f} ({t[0]:6.1f}) {math.degrees(p[1]):6.1f} ({math.degrees(t[1]):6.1f}) "
              f"{math.degrees(p[2]):5.1f} ({math.degrees(t[2]):5.1f}) {p[3]:6.2f} ({t[3]:6.2f})")
    print(f"\n{result['samples'][center]} test samples, evaluation seed {result['seed']} (normalised-value NMSE, "
          "Eq. 59; the same numbers as `disac evaluate --run` with that seed):")
    for part, label in (("metrics", "all devices (LLM-DiSAC)"), ("center_only", "center alone (collaborators masked)")):
        m = row[part]["normalised"]
        print(f"  {label:<37} accuracy {100 * m['accuracy']:5.1f} %  NMSE dB: distance "
              f"{m['nmse_db_distance']:6.2f}, azimuth {m['nmse_db_azimuth']:6.2f}, pitch {m['nmse_db_pitch']:6.2f}, "
              f"velocity {m['nmse_db_radial_velocity']:6.2f}")
    return Scored.load(records_path(run, "test", center, "full", snr if run.model_cfg.multi_device else None))


def run(args: argparse.Namespace) -> int:
    from disac_ros.commands import info, inspect, parse, train
    from disac_ros.evaluation.offline import FRESH_SEED, FRESH_SEQUENCES, evaluate_fresh_world
    from disac_ros.evaluation.plots import plot_training
    from disac_ros.runs import default_data, default_run

    print("== environment ==")
    info.run(parse(info, []))
    data = Path(args.data) if args.data else default_data(args.preset)
    run_dir = Path(args.run) if args.run else default_run(args.preset)
    print(f"\n== dataset ({args.preset} preset) -> {data} ==", flush=True)
    # In a child process: Genesis's renderer and threads left in this one made the training after it segfault.
    subprocess.run([sys.executable, "-m", "disac_ros.cli", "generate", "--preset", args.preset, "--out", str(data)],
                   check=True)
    inspect.run(parse(inspect, [str(data)]))
    print(f"\n== two-stage training -> {run_dir} ==")
    train.run(parse(train, ["--data", str(data), "--out", str(run_dir), "--preset", args.preset]))
    print(f"\n== evaluation on the test split, links at {args.snr:g} dB ==")
    offline = evaluate_test_split(data, run_dir, args.snr, args.seed)
    print(f"\n== {FRESH_SEQUENCES} freshly drawn sequences of the same world (dataset seed {FRESH_SEED}), links at "
          f"{args.snr:g} dB ==", flush=True)
    evaluate_fresh_world(run_dir, args.preset, args.snr, args.seed, reference=offline)
    print(f"\ncontact sheet: {data / 'contact_sheet.png'}\ntraining curves: {plot_training(run_dir)}\n"
          f"metrics: {run_dir}/center/*/metrics.csv, {run_dir}/stage1/*/metrics.csv, {run_dir}/stage2/metrics.csv")
    if args.live_sequences > 0:
        print(f"\n== live ROS 2 graph: {LIVE_DEVICES} devices, {args.live_sequences} new sequences, recording every "
              "topic ==")
        return run_live(args, run_dir, offline)
    return 0
