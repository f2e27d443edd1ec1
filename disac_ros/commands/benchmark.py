"""``disac benchmark``: the paper's evaluation (Sec. V) in one command - train, evaluate, report.

For every Table III scheme and every decoder variant of LLM-DiSAC it trains a run (or resumes / re-uses one under
``OUT/runs/``), evaluates it on the test split at each SNR and aggregation position, and writes ``OUT/report.md``
(Table III beside the paper's numbers, targets, orderings, communication cost, T_exe), the plots of Figs. 5-10 and
``OUT/results.json``. See :mod:`disac_ros.evaluation.suite` for the plan and the epoch budget.

    disac benchmark --preset default --out results/default           # at most 150 min on 2 CPU cores
    disac benchmark --preset default --dry-run                         # the plan and its time estimate only
    disac benchmark --report-only --out results/default                # the report again from the committed JSON
    disac benchmark --preset smoke --schemes sm-sd-rf llm-disac --decoders llama lstm --snr 0 20 --out /tmp/b
"""
from __future__ import annotations

import argparse
import logging
import shlex
from pathlib import Path

from disac_ros.config import DECODER_KINDS, PRESETS, SCHEMES
from disac_ros.evaluation.paper import EVAL_SNRS_DB


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", choices=PRESETS, default="default", help="dataset, model and training sizes")
    parser.add_argument("--data", default=None, help="dataset directory (default: data/<preset>-<config digest>, "
                        "as `disac demo`; generated or resumed when incomplete)")
    parser.add_argument("--out", default=None, help="output directory (default: results/<preset>); runs go to "
                        "OUT/runs/ and are re-used or resumed by a later call")
    parser.add_argument("--schemes", nargs="+", choices=tuple(SCHEMES), default=list(SCHEMES),
                        help="Table III schemes to run")
    parser.add_argument("--decoders", nargs="+", choices=DECODER_KINDS, default=list(DECODER_KINDS),
                        help="semantic decoders for llm-disac (Figs. 5-7)")
    parser.add_argument("--positions", nargs="+", type=int, default=[1],
                        help="aggregation-center positions 1..D for llm-disac and mm-sd (Figs. 8-10); each extra "
                             "center trains its own model and makes every device a linked collaborator too")
    parser.add_argument("--seeds", type=int, default=3,
                        help="seeds of the headline schemes (sm-sd-rf, mm-sd, llm-disac); others run at one")
    parser.add_argument("--decoder-seeds", type=int, default=1, help="seeds of llm-disac's other decoders")
    parser.add_argument("--variants", nargs="*", default=["mm-sd-gated"],
                        help="labelled variants beside the schemes (mm-sd-gated: MMSense's modality gating)")
    parser.add_argument("--snr", nargs="+", type=float, default=list(EVAL_SNRS_DB), help="link SNRs [dB]")
    parser.add_argument("--table-snr", type=float, default=20.0,
                        help="SNR [dB] of the Table III comparison (the paper does not state its own)")
    parser.add_argument("--epochs", nargs="+", default=None, metavar="N|NAME=N",
                        help="epochs per stage: N for every run and/or NAME=N for a scheme or run (e.g. "
                             "llm-disac-gpt2=3); default: 5 on the default preset, the preset's own otherwise")
    parser.add_argument("--seed", type=int, default=0, help="training and evaluation seed")
    parser.add_argument("--timing-repeats", type=int, default=20, help="timed calls per Eq. (14) term")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and the time estimate, train nothing")
    parser.add_argument("--report-only", action="store_true",
                        help="re-render OUT/report.md (and summary.json) from the committed files alone: "
                             "OUT/results.json and, where present, OUT/per_sequence.json (every interval recomputed "
                             "from it); no runs, no dataset")
    parser.add_argument("--plots", action="store_true", help="with --report-only: draw the figures again too")
    parser.add_argument("--no-progress", action="store_true", help="log lines only, no progress bars")


def _pseudo_manifest(preset: str) -> dict:
    """Counts and splits of a dataset that is not generated yet (for --dry-run)."""
    from disac_ros.config import load_scene
    from disac_ros.data.generate import split_sequences

    scene = load_scene(preset=preset)
    d = scene.dataset
    return {"counts": {"sequences": d.sequences, "frames": d.sequences * d.frames_per_sequence},
            "splits": split_sequences(d.sequences, d.split, scene.seed),
            "targets": [t.type for t in scene.targets], "devices": [{"id": x.id} for x in scene.devices]}


def command_line(args: argparse.Namespace, data: Path, out: Path) -> str:
    """The canonical ``disac benchmark`` call that reproduces this one."""
    parts = ["disac", "benchmark", "--preset", args.preset, "--data", str(data), "--out", str(out),
             "--schemes", *args.schemes, "--decoders", *args.decoders]
    parts += ["--positions", *map(str, args.positions), "--seeds", str(args.seeds), "--decoder-seeds",
              str(args.decoder_seeds), "--variants", *args.variants]
    parts += ["--snr", *(f"{s:g}" for s in args.snr), "--table-snr", f"{args.table_snr:g}"]
    if args.epochs:
        parts += ["--epochs", *args.epochs]
    parts += ["--seed", str(args.seed)]
    if args.timing_repeats != 20:
        parts += ["--timing-repeats", str(args.timing_repeats)]
    return shlex.join(parts)


def run(args: argparse.Namespace) -> int:
    from disac_ros.data.store import load_manifest
    from disac_ros.evaluation import report, suite
    from disac_ros.runs import default_data

    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(name)s: %(message)s")
    out = Path(args.out or f"results/{args.preset}")
    if args.report_only:
        written = report.rerender(out, plots=args.plots)
        print(f"report: {written['report']}")
        return 0
    data = Path(args.data) if args.data else default_data(args.preset)
    if args.table_snr not in args.snr:
        raise ValueError(f"--table-snr {args.table_snr:g} must be one of --snr {args.snr}")
    have_data = (data / "manifest.json").exists()
    manifest = load_manifest(data) if have_data else _pseudo_manifest(args.preset)
    devices = [d["id"] for d in manifest["devices"]]
    plan = suite.make_plan(devices, args.schemes, args.decoders, args.positions,
                           suite.parse_epochs(args.epochs, args.preset), args.seeds, args.decoder_seeds,
                           tuple(args.variants))
    estimate = suite.estimate_seconds(plan, manifest, args.preset, len(args.snr))
    print(f"plan: {len(plan)} runs on the {args.preset} preset -> {out}")
    for spec in plan:
        print(f"  {spec.name:<22} scheme {spec.scheme:<19} decoder {spec.decoder:<6} epochs/stage "
              f"{spec.epochs or 'preset':<6} centers {','.join(spec.centers):<40} "
              f"~{estimate['runs'][spec.name] / 60:5.1f} min")
    print(f"estimated total: {estimate['total_s'] / 60:.0f} min ({estimate['basis']})")
    if args.dry_run:
        return 0
    commands = [shlex.join(["disac", "generate", "--preset", args.preset, "--out", str(data)]),
                command_line(args, data, out)]
    if not have_data:
        from disac_ros.commands import generate, parse

        generate.run(parse(generate, ["--preset", args.preset, "--out", str(data)]
                           + (["--no-progress"] if args.no_progress else [])))
    results = suite.run_benchmark(data, out, args.preset, plan, [float(s) for s in args.snr], args.seed,
                                  args.table_snr, commands, progress=not args.no_progress,
                                  timing_repeats=args.timing_repeats)
    print(f"\nreport: {out / 'report.md'}\nresults: {out / 'results.json'}\nwall time: "
          f"{results['wall_seconds'] / 60:.1f} min (estimated {estimate['total_s'] / 60:.0f} min)")
    for line in report.verdict_lines(results):
        print(line.replace("**", ""))
    return 0
