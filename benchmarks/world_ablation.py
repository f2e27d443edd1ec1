#!/usr/bin/env python3
"""How hard the outdoor world is, and which physical mechanism makes it so (issue 29, item 6).

The probes of `disac inspect` on the default world and on worlds with one mechanism switched back to the earlier
form.

Usage (after `source .venv/env.sh`):
    python benchmarks/world_ablation.py [--variants default clutter_off ...] [--json results/world/ablation.json]

Each variant is `disac generate --preset default --set ...` into `data/ablation-<variant>` (resumable, named by the
variant) and `disac inspect` on it (its probes are kept in the dataset's manifest); the classical baselines and the
camera probe of every variant are scored on the validation split and written to the JSON. The classical radar's
numbers do not depend on the camera (the estimator reads echoes only), so the radar variants use the earlier
128 x 128 camera without crops, which renders in a fraction of the time; the camera variant keeps the radar of the
default world.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EARLIER_CAMERA = ["camera.width=128", "camera.height=128", "camera.fov=55", "camera.crop=false"]
VARIANTS = {
    "default": ([], "the outdoor world: clutter, MTI + CFAR, surveyed poses, 1280 x 720 camera with crops"),
    "clutter_off": (["clutter.model=none", "radar.detector=fixed", *EARLIER_CAMERA],
                    "no clutter and the known-noise detector (surveyed poses kept)"),
    "survey_off": (["survey.position_sigma_m=0", "survey.heading_sigma_deg=0", *EARLIER_CAMERA],
                   "exact poses (clutter and MTI + CFAR kept)"),
    "earlier_radar": (["clutter.model=none", "radar.detector=fixed", "survey.position_sigma_m=0",
                       "survey.heading_sigma_deg=0", *EARLIER_CAMERA], "every radar switch off: the earlier world"),
    "earlier_camera_crops": (["camera.width=128", "camera.height=128", "camera.fov=55"],
                             "the earlier 128 x 128, 55 degree camera, with crops (the camera probe's resolution)"),
}


def run_variant(name: str, sets: list[str], refresh: bool = False) -> dict:
    data = ROOT / "data" / f"ablation-{name}"
    disac = [sys.executable, "-m", "disac_ros.cli"]
    t0 = time.monotonic()
    subprocess.run([*disac, "generate", "--preset", "default", "--out", str(data), "--no-progress",
                    *[a for s in sets for a in ("--set", s)]], check=True)
    generate_s = time.monotonic() - t0
    subprocess.run([*disac, "inspect", str(data), *(["--refresh-probes"] if refresh else [])], check=True,
                   stdout=subprocess.DEVNULL)
    manifest = json.loads((data / "manifest.json").read_text())
    probes = manifest["probes"]
    return {"sets": sets, "data": str(data.relative_to(ROOT)), "world": manifest["config_digest"],
            "generation_s": manifest["timing"]["generation_seconds"], "wall_s": round(generate_s, 1),
            "baselines": probes["baselines"], "detector": probes["detector"],
            "level_class_probe": probes["level_class_probe"], "camera_class_probe": probes.get("camera_class_probe"),
            "split": probes["split"], "sequences": probes["sequences"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--json", default=str(ROOT / "results" / "world" / "ablation.json"))
    parser.add_argument("--refresh", action="store_true", help="compute every variant's probes again")
    args = parser.parse_args()
    path = Path(args.json)
    results = json.loads(path.read_text())["variants"] if path.exists() else {}
    for name in args.variants:
        sets, what = VARIANTS[name]
        results[name] = {"what": what, **run_variant(name, sets, args.refresh)}
        sys.path.insert(0, str(ROOT))
        from disac_ros.files import write_json_atomic

        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, {"command": "python benchmarks/world_ablation.py " + " ".join(sys.argv[1:]),
                                 "variants": results}, strict=True)
        b = results[name]["baselines"]
        cam = results[name]["camera_class_probe"]
        print(f"{name:<22} single {100 * b['single']['all']['accuracy']:5.1f} %  fusion "
              f"{100 * b['fusion']['all']['accuracy']:5.1f} %  fusion azimuth RMSE "
              f"{b['fusion']['all']['azimuth'] * 57.29578:5.2f} deg  camera probe "
              + (f"{100 * cam['accuracy']:5.1f} %" if cam else "  -  ")
              + f"  ({results[name]['generation_s']:.0f} s to generate)", flush=True)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
