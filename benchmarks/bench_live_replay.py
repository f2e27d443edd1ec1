#!/usr/bin/env python3
"""Does the live graph score like the offline evaluation? The same test samples through both, paired (issue 15).

Usage (after `source .venv/env.sh`, with the run and dataset `make demo` made):
    python benchmarks/bench_live_replay.py [--preset default] [--run RUN] [--sequences 60] [--snr 20]
                                           [--json results/bench/live-replay-default.json]

The Genesis bridge replays the dataset's own sequences 0, 1, 2, ... (``sequence_offset`` 0: the same
trajectories, radar and camera noise as the generator drew, frame for frame) through the whole live graph (four
devices, links at ``--snr``) while ``disac record`` keeps ``/targets`` and the ground truth. Each estimate of a
test-split sample is paired with the offline evaluation's estimate of the same (sequence, frame, target) at the
same SNR (the records ``disac demo`` / ``disac evaluate`` keep in ``RUN/eval``): accuracy of both and their paired
difference with a 95 % interval over sequences, RMSE per parameter, how often the two decide the same class (the
channel noise is drawn independently), and the largest difference of the two truths (0 if the replay is exact).
What is left between the live and the offline accuracy on new sequences is then the sampling of sequences.
"""
from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from disac_ros.commands.demo import START_ALLOWANCE_S


def replay(run: Path, preset: str, sequences: int, snr: float, rate_hz: float, out: Path) -> None:
    """Run the graph on dataset sequences 0.. at ``rate_hz`` frames per wall second, recording into ``out``."""
    from disac_ros.runs import Run

    scene = Run(run).scene.dataset
    seconds = START_ALLOWANCE_S + sequences * scene.duration * scene.fps / rate_hz
    disac = [sys.executable, "-m", "disac_ros.cli"]
    print(f"replaying {sequences} dataset sequences through the live graph: {seconds:.0f} s", flush=True)
    recorder = subprocess.Popen([*disac, "record", "--topics", "/targets", "/ground_truth/targets", "--out",
                                 str(out)], stdout=subprocess.DEVNULL)
    try:
        subprocess.run([*disac, "launch", "--preset", preset, "--num-devices", "4", "--run", str(run), "--duration",
                        f"{seconds:.0f}", "--set", f"channel.snr_db={snr}", "--set", "genesis_bridge.sequence_offset=0",
                        "--set", f"genesis_bridge.rate_hz={rate_hz}"], check=False, stdout=subprocess.DEVNULL)
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=120)


def pair(bag: Path, records: Path, fps: float, chunk_frames: int, sequence_s: float, seed: int = 0) -> dict:
    """The live estimates of ``bag`` beside the offline ``records`` (a Scored .npz) on the samples both have."""
    from disac_ros.evaluation.estimates import evaluate_estimates, scored_rows
    from disac_ros.evaluation.samples import Scored
    from disac_ros.evaluation.statistics import accuracy_interval, paired_difference, rmse_interval
    from disac_ros.ros.bags import read_target_arrays

    live = scored_rows(evaluate_estimates(*read_target_arrays(bag))["rows"], sequence_s)
    offline = Scored.load(records)
    frame = np.rint(live.keys[:, 2] / 1e3 * fps).astype(int)         # ms into the sequence -> frame index
    index = {(s, f // chunk_frames, f % chunk_frames, t): i
             for i, (s, f, t) in enumerate(zip(live.keys[:, 0], frame, live.keys[:, 3], strict=True))}
    pairs = [(index[k], j) for j, k in enumerate(map(tuple, offline.keys.tolist())) if k in index]
    if not pairs:
        raise SystemExit(f"no test sample of {records} in {bag}: did the replay reach a test sequence?")
    li, oj = (np.array(p) for p in zip(*pairs, strict=True))
    a, b = live.subset(li), offline.subset(oj)
    groups = b.sequence
    ea, eb = a.errors(), b.errors()

    def interval(iv) -> dict:
        return {"mean": iv.mean, "low": iv.low, "high": iv.high}

    return {"samples": len(li), "sequences": int(len(np.unique(groups))),
            "truth_max_abs_difference": np.abs(a.true - b.true).max(axis=0).tolist(),
            "same_class_decision": float(np.mean(a.pred_class == b.pred_class)),
            "accuracy": {"live": interval(accuracy_interval(a.correct(), groups, seed=seed)),
                         "offline": interval(accuracy_interval(b.correct(), groups, seed=seed)),
                         "live_minus_offline": interval(paired_difference("accuracy", a.correct(), b.correct(),
                                                                          groups, seed=seed))},
            "rmse": {name: {"live": interval(rmse_interval(ea[:, k], groups, seed=seed)),
                            "offline": interval(rmse_interval(eb[:, k], groups, seed=seed))}
                     for k, name in enumerate(("distance", "azimuth", "pitch", "radial_velocity"))}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--run", default=None, help="trained run (default: runs/<preset>-<digest>, make demo's)")
    parser.add_argument("--sequences", type=int, default=60, help="dataset sequences replayed (about half are test)")
    parser.add_argument("--snr", type=float, default=20.0, help="link SNR [dB], as the offline records")
    parser.add_argument("--rate", type=float, default=2.0, help="frames per wall second of the bridge")
    parser.add_argument("--bag", default=None, help="score this replay bag instead of recording a new one")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    from disac_ros.evaluation.offline import evaluate_offline, records_path
    from disac_ros.runs import Run, default_data, default_run

    run = Run(Path(args.run) if args.run else default_run(args.preset))
    records = records_path(run, "test", run.center, "full", args.snr)
    if not records.is_file():
        print(f"offline records {records} missing: evaluating the test split at {args.snr:g} dB", flush=True)
        evaluate_offline(default_data(args.preset), run.path, [args.snr], centers=[run.center], records=True)
    bag = Path(args.bag) if args.bag else Path(tempfile.mkdtemp(prefix="replay-")) / "bag"
    t0 = time.monotonic()
    if not args.bag:
        replay(run.path, args.preset, args.sequences, args.snr, args.rate, bag)
    ds = run.scene.dataset
    result = {"command": " ".join(sys.argv), "run": str(run.path), "bag": str(bag), "snr_db": args.snr,
              **pair(bag, records, ds.fps, ds.chunk_frames, ds.duration), "wall_s": time.monotonic() - t0}
    acc = result["accuracy"]
    print(f"\n{result['samples']} test samples of {result['sequences']} sequences, live and offline paired; "
          f"truths differ by at most {max(result['truth_max_abs_difference']):.2g}")
    for part in ("live", "offline", "live_minus_offline"):
        v = acc[part]
        print(f"  accuracy {part:<19} {100 * v['mean']:6.2f} % [{100 * v['low']:.2f}, {100 * v['high']:.2f}]")
    print(f"  same class decided in {100 * result['same_class_decision']:.1f} % of the samples")
    for name, r in result["rmse"].items():
        print(f"  RMSE {name:<16} live {r['live']['mean']:.4g} [{r['live']['low']:.4g}, {r['live']['high']:.4g}]  "
              f"offline {r['offline']['mean']:.4g} [{r['offline']['low']:.4g}, {r['offline']['high']:.4g}]")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1))
        print(f"figures: {args.json}")


if __name__ == "__main__":
    main()
