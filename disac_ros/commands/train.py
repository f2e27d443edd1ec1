"""``disac train``: two-stage distributed training (Algorithm 5) on a generated dataset.

``run.json`` records the run's identity (what a resumed run must match) and its provenance (the language model's
SHA-256, package versions, commit, machine, each stage's wall time: ``disac info --run RUN``).
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from disac_ros.config import DECODER_KINDS, PRESETS, SCHEMES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="dataset directory written by `disac generate`")
    parser.add_argument("--out", required=True, help="run directory; an unfinished run is resumed")
    parser.add_argument("--stage", choices=("1", "2", "all"), default="all",
                        help="1: devices train RVFN+LSTN on their own data; 2: the center trains TRAM from "
                             "handed-over codes; all: both, every device in turn")
    parser.add_argument("--device", default=None, help="stage 1 for this device only (a separate job per device)")
    parser.add_argument("--center", nargs="+", default=None, metavar="DEVICE",
                        help="aggregation center(s) of stage 2 (default: the first device, into RUN/stage2; another "
                             "center trains into RUN/stage2-<device> from every other device's hand-over, exported "
                             "here when missing)")
    parser.add_argument("--preset", choices=PRESETS, default="smoke", help="model and training sizes")
    parser.add_argument("--scheme", choices=tuple(SCHEMES), default=None, help="Table III scheme (default: llm-disac)")
    parser.add_argument("--decoder", choices=DECODER_KINDS, default=None,
                        help="semantic decoder (default: llama, the shipped SmolLM2)")
    parser.add_argument("--decoder-path", default=None, help="local Hugging Face causal-LM directory to decode with")
    parser.add_argument("--epochs", type=int, default=None, help="epochs for each stage (overrides the preset)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from disac_ros.config import load_section
    from disac_ros.data.store import load_manifest
    from disac_ros.training import trainer

    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(name)s: %(message)s")
    model_over = {k: v for k, v in {"scheme": args.scheme, "decoder": args.decoder,
                                    "decoder_path": args.decoder_path}.items() if v is not None}
    train_over = {k: v for k, v in {"seed": args.seed, "epochs_stage1": args.epochs,
                                    "epochs_stage2": args.epochs}.items() if v is not None}
    model_cfg = load_section("model", args.preset, model_over)
    train_cfg = load_section("train", args.preset, train_over)
    data, out = Path(args.data), Path(args.out)
    devices = [d["id"] for d in load_manifest(data)["devices"]]
    for name, given in (("--device", [args.device] if args.device else []), ("--center", args.center or [])):
        if unknown := [d for d in given if d not in devices]:
            raise ValueError(f"unknown {name} {unknown}; the dataset has {devices}")
    trainer.train(data, out, model_cfg, train_cfg, args.stage, [args.device] if args.device else None,
                  args.center, progress=not args.no_progress)
    print(f"run {out}: done ({args.stage}); metrics in {out}/*/metrics.csv; what made it (language model, "
          f"packages, commit, machine, wall times): disac info --run {out}")
    return 0

