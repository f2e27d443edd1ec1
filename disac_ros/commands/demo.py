"""``disac demo``: the main job on the embedded default, run by ``make demo``.

Generates (or re-uses) the default-preset dataset with Genesis and the radar model, trains (or resumes, or
re-uses) the two-stage LLM-DiSAC model on it, and evaluates it on the test split: estimated vs true target
states, accuracy and NMSE with and without the collaborators. Then it runs the live ROS 2 graph (Genesis bridge,
three device encoders, channel, aggregator: ``disac launch``) with 4 devices on new target trajectories while
``disac record`` writes every topic to a rosbag2 bag, and evaluates the bag's /targets against its ground truth.
"""
from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

from disac_ros.config import PRESETS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", choices=PRESETS, default="default", help="dataset and model size")
    parser.add_argument("--data", default=None, help="dataset directory (default: data/<preset>-<config digest>, "
                        "so an edited config gets a new dataset); a complete one is re-used, an unfinished one resumed")
    parser.add_argument("--run", default=None, help="training run directory (default: runs/<preset>-<digest>)")
    parser.add_argument("--snr", type=float, default=20.0, help="link SNR [dB] for the evaluation and the live graph")
    parser.add_argument("--live-seconds", type=float, default=60.0,
                        help="how long the live ROS 2 graph runs (wall seconds after start-up; 0: skip it)")
    parser.add_argument("--out", default="results/demo", help="where the live run's bag and plots go")


def plot_training(run: Path) -> Path:
    """Training curves of every stage-1 device and of stage 2 (validation loss proxy: accuracy and NMSE)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for path in sorted(run.glob("stage*/**/metrics.csv")):
        rows = list(csv.DictReader(path.read_text().splitlines()))
        name = str(path.parent.relative_to(run))
        epochs = [int(r["epoch"]) for r in rows]
        axes[0].plot(epochs, [float(r["train_loss"]) for r in rows], marker="o", label=name)
        if rows and "val_accuracy" in rows[0]:
            axes[1].plot(epochs, [100 * float(r["val_accuracy"]) for r in rows], marker="o", label=name)
            axes[2].plot(epochs, [float(r["val_nmse_db_distance"]) for r in rows], marker="o", label=name)
    for ax, title in zip(axes, ("training loss (Eq. 47 / 54)", "validation accuracy [%]",
                                "validation NMSE of distance [dB]"), strict=True):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    out = run / "training_curves.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_live(rows: list[dict], out: Path) -> Path:
    """Estimated (dots) vs true (lines) distance, azimuth, pitch and radial velocity of every target over sim time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    scale = (1.0, math.degrees(1), math.degrees(1), 1.0)
    titles = ("distance [m]", "azimuth [deg]", "pitch [deg]", "radial velocity [m/s]")
    for tid in sorted({r["target_id"] for r in rows}):
        mine = sorted((r for r in rows if r["target_id"] == tid), key=lambda r: r["stamp_s"])
        t = [r["stamp_s"] for r in mine]
        for j, ax in enumerate(axes):
            line, = ax.plot(t, [r["true"][j] * scale[j] for r in mine], label=f"{mine[0]['true_label']} (true)")
            ax.plot(t, [r["pred"][j] * scale[j] for r in mine], ".", color=line.get_color(), label="estimate")
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title)
        ax.set_xlabel("sim time [s]")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("live graph: /targets (dots) vs /ground_truth/targets (lines), relative to the aggregation center")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def run_live(args: argparse.Namespace, run_dir: Path) -> None:
    """Run the live graph with 4 devices for ``--live-seconds`` while recording every topic; evaluate the bag."""
    import json
    import signal
    import subprocess
    import sys
    import time

    from disac_ros.ros.bags import evaluate_bag

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bag = out / f"live-{time.strftime('%Y%m%d-%H%M%S')}"
    disac = [sys.executable, "-m", "disac_ros.cli"]
    recorder = subprocess.Popen([*disac, "record", "--all", "--out", str(bag)])
    try:
        graph = subprocess.run([*disac, "launch", "--preset", args.preset, "--num-devices", "4", "--run",
                                str(run_dir), "--duration", str(args.live_seconds), "--set",
                                f"channel.snr_db={float(args.snr)}"], check=False)
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=120)
    if graph.returncode != 0:
        print(f"warning: the live graph exited with status {graph.returncode} (see its log above)")
    result = evaluate_bag(bag)
    print(f"\n{'sim t [s]':>9} {'target':<16} {'distance m':>16} {'azimuth deg':>16} {'pitch deg':>14} "
          f"{'velocity m/s':>15} devices")
    last = sorted({r["stamp_s"] for r in result["rows"]})[-3:]
    for r in (r for r in result["rows"] if r["stamp_s"] in last):
        p, t = r["pred"], r["true"]
        print(f"{r['stamp_s']:9.1f} {r['pred_label'] + ' (' + r['true_label'] + ')':<16} {p[0]:6.1f} ({t[0]:6.1f}) "
              f"{math.degrees(p[1]):6.1f} ({math.degrees(t[1]):6.1f}) {math.degrees(p[2]):5.1f} "
              f"({math.degrees(t[2]):5.1f}) {p[3]:6.2f} ({t[3]:6.2f}) {len(r['contributing_devices'])}")
    print(f"\nlive graph: {result['matched']} estimates of {result['ground_truth_arrays']} ground-truth frames "
          f"({result['frames_without_estimate']} frames without an estimate), mean contributing devices "
          f"{result['mean_contributing_devices']:.2f}\n  accuracy {100 * result['accuracy']:.1f} %, RMSE: distance "
          f"{result['rmse_distance']:.2f} m, azimuth {math.degrees(result['rmse_azimuth']):.2f} deg, pitch "
          f"{math.degrees(result['rmse_pitch']):.2f} deg, velocity {result['rmse_radial_velocity']:.2f} m/s (SI)")
    (out / f"{bag.name}.json").write_text(json.dumps(result, indent=1, default=str))
    print(f"bag: {bag} (replay: disac play {bag}; metrics: disac evaluate --bag {bag})\n"
          f"live plot: {plot_live(result['rows'], out / f'{bag.name}.png')}")


def run(args: argparse.Namespace) -> int:
    from disac_ros.commands import generate, info, inspect, parse, train
    from disac_ros.config import load_scene
    from disac_ros.data.generate import config_digest
    from disac_ros.training.trainer import evaluate_run

    print("== environment ==")
    info.run(parse(info, []))
    digest = config_digest(load_scene(preset=args.preset))[:8]
    data = Path(args.data or f"data/{args.preset}-{digest}")
    run_dir = Path(args.run or f"runs/{args.preset}-{digest}")
    print(f"\n== dataset ({args.preset} preset) -> {data} ==")
    generate.run(parse(generate, ["--preset", args.preset, "--out", str(data)]))
    inspect.run(parse(inspect, [str(data)]))
    print(f"\n== two-stage training -> {run_dir} ==")
    train.run(parse(train, ["--data", str(data), "--out", str(run_dir), "--preset", args.preset]))
    print(f"\n== evaluation on the test split, links at {args.snr:g} dB ==")
    result = evaluate_run(data, run_dir, "test", args.snr)
    print(f"{'seq/chunk/i/tgt':<17} {'class (true)':<16} {'distance m':>16} {'azimuth deg':>16} "
          f"{'pitch deg':>14} {'velocity m/s':>15}")
    for row in result["rows"][:9]:
        p, t = row["pred"], row["true"]
        print(f"{'/'.join(map(str, row['key'])):<17} {row['pred_class'] + ' (' + row['true_class'] + ')':<16} "
              f"{p[0]:6.1f} ({t[0]:6.1f}) {math.degrees(p[1]):6.1f} ({math.degrees(t[1]):6.1f}) "
              f"{math.degrees(p[2]):5.1f} ({math.degrees(t[2]):5.1f}) {p[3]:6.2f} ({t[3]:6.2f})")
    print(f"\n{result['samples']} test samples (normalised-value NMSE, Eq. 59):")
    for name in ("aggregated", "center_only"):
        m = result[name]
        label = "all 4 devices (LLM-DiSAC)" if name == "aggregated" else "center alone (collaborators masked)"
        print(f"  {label:<37} accuracy {100 * m['accuracy']:5.1f} %  NMSE dB: distance "
              f"{m['nmse_db_distance']:6.2f}, azimuth {m['nmse_db_azimuth']:6.2f}, pitch {m['nmse_db_pitch']:6.2f}, "
              f"velocity {m['nmse_db_radial_velocity']:6.2f}")
    print(f"\ncontact sheet: {data / 'contact_sheet.png'}\ntraining curves: {plot_training(run_dir)}\n"
          f"metrics: {run_dir}/stage1/*/metrics.csv, {run_dir}/stage2/metrics.csv")
    if args.live_seconds > 0:
        print(f"\n== live ROS 2 graph: 4 devices for {args.live_seconds:g} s, recording every topic ==")
        run_live(args, run_dir)
    return 0
