"""``disac export``: each side's artifact of a trained run (:mod:`disac_ros.deploy`).

Writes one folder per collaborating device (RVFN + semantic encoder) and one for the aggregation center (its own
RVFN + head, the hand-over decoders, TRAM) under ``--out`` (default ``RUN/export``), safetensors with what they
are in the metadata. A device's ``device_encoder`` then loads only its folder, the ``aggregator`` only the center's
(``-p run:=OUT/device_1`` / ``-p run:=OUT``). Refuses a run whose hand-over or center model is missing or stale,
naming the training command that makes it.
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, metavar="RUN", help="trained run directory (disac train --out)")
    parser.add_argument("--out", metavar="DIR", help="where to write the artifacts (default: RUN/export)")
    parser.add_argument("--center", metavar="DEVICE", help="aggregation center (default: the run's first device)")


def run(args: argparse.Namespace) -> int:
    from disac_ros.deploy import ARTIFACT_FILE, export

    written = export(args.run, args.out, args.center)
    for side, folder in written.items():
        size = (folder / ARTIFACT_FILE).stat().st_size
        print(f"{side:<18} {folder / ARTIFACT_FILE}  ({size / 2**20:.1f} MiB)")
    return 0
