"""``disac inspect``: summarise a dataset, probe how hard it is, and draw every device's view of one frame.

The summary includes each device's blocked and visible shares per class and the camera conditions; the probes
(:mod:`disac_ros.data.probes`: the classical radar's RMSE on line-of-sight and blocked samples, the detector's
detection and false-detection rates per class and radial speed, class probes on echo level and on speed; and the
classical single-device and fusion baselines at the center, :mod:`disac_ros.evaluation.classical`; fitted on the
train split, scored on the validation split, never on test) are printed and written into the manifest
(``probes``), so every report can quote them; probes kept from an older version are computed again.
The contact sheet is like the paper's Fig. 4.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="dataset directory written by `disac generate`")
    parser.add_argument("--sequence", type=int, default=0)
    parser.add_argument("--frame", type=int, default=None, help="frame within the sequence (default: the frame "
                        "where the most targets are visible)")
    parser.add_argument("--png", default=None, help="contact sheet path (default: DATA/contact_sheet.png)")
    parser.add_argument("--no-probes", action="store_true", help="skip the probes (classical estimators, class "
                        "probes; about a minute on the default preset, then kept in the manifest)")
    parser.add_argument("--refresh-probes", action="store_true", help="compute the probes again")


def summary(manifest: dict) -> str:
    c = manifest["counts"]
    lines = [f"{c['sequences']} sequences, {c['frames']} frames, {c['devices']} devices, {c['targets']} targets "
             f"-> {c['device_target_samples']} device-target samples",
             "splits (sequences): " + ", ".join(f"{k} {len(v)}" for k, v in manifest["splits"].items()),
             "class balance: " + ", ".join(f"{k} {v}" for k, v in manifest["class_balance"].items()),
             "visible fraction per device:"]
    for dev, vis in manifest["visibility"].items():
        lines.append(f"  {dev}: " + ", ".join(f"{t} {v:.0%}" for t, v in vis.items()))
    r = manifest["radar"]
    lines.append(f"radar: f_c {r['carrier_frequency'] / 1e9:g} GHz, F_s {r['sampling_frequency'] / 1e6:g} MHz, "
                 f"PRI {r['pulse_repetition_interval'] * 1e6:g} us, K_t {r['chirp_slope']:.3g} Hz/s, "
                 f"{r['array_rows']}x{r['array_cols']} antennas, {r['num_chirps']} chirp(s), "
                 f"{r['num_samples']} samples")
    blockage = manifest.get("blockage")
    if blockage:
        lines.append("line of sight blocked (building or target) per device, overall and per class; all devices at "
                     f"once: {blockage['all_devices']:.1%}")
        for dev, b in blockage["per_device"].items():
            lines.append(f"  {dev}: {b['blocked']:.1%} (building {b['building']:.1%}, target {b['target']:.1%}); "
                         + ", ".join(f"{t} {v:.0%}" for t, v in b["blocked_by_class"].items()))
    clutter = manifest.get("clutter")
    if clutter and clutter["model"] != "none":
        lines.append(f"clutter ({clutter['source']}): clutter-to-noise ratio per device, per sample and of the "
                     "strongest range-angle cell after the matched filter")
        for dev, c in clutter["per_device"].items():
            lines.append(f"  {dev}: {c['per_sample_cnr_db']:.1f} dB per sample, {c['peak_cnr_db']:.1f} dB at "
                         f"{c['peak_range_m']:.1f} m; scatterers " + ", ".join(f"{k} {v}" for k, v in
                                                                                c["scatterers"].items()))
    elif clutter:
        lines.append("clutter: none (clutter.model: none)")
    survey = manifest.get("survey")
    if survey:
        lines.append(f"surveyed poses ({survey['source']}): sigma {survey['position_sigma_m']:g} m per axis, "
                     f"{survey['heading_sigma_deg']:g} deg heading; drawn errors")
        for dev, e in survey["per_device"].items():
            lines.append(f"  {dev}: position " + ", ".join(f"{v:+.2f}" for v in e["position_error_m"])
                         + f" m, heading {e['heading_error_deg']:+.2f} deg")
    if manifest.get("conditions"):
        lines.append("camera conditions (share of sequences): "
                     + ", ".join(f"{k} {v:.0%}" for k, v in manifest["conditions"].items()))
    lines.append("normalisation x_n = (x - offset) / scale: " + ", ".join(
        f"{k} ({v['offset']:.4g}, {v['scale']:.4g})" for k, v in manifest["normalization"].items()))
    t = manifest["timing"]
    lines.append(f"generation: {t['frames_generated']} frames in {t['generation_seconds']:.1f} s")
    return "\n".join(lines)


def contact_sheet(root: Path, manifest: dict, sequence: int, frame: int | None, png: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from disac_ros.data.store import ChunkReader

    reader = ChunkReader(root)
    chunks = [c for c in manifest["chunks"] if c["sequence"] == sequence]
    if not chunks:
        raise ValueError(f"sequence {sequence} not in the dataset (0..{manifest['counts']['sequences'] - 1})")
    if frame is None:  # the frame where the most targets are seen
        best = max(((c["chunk"], i, int(reader.file(sequence, c["chunk"])["visible"][i].sum()))
                    for c in chunks for i in range(c["frames"])), key=lambda x: x[2])
        chunk, i = best[:2]
    else:
        offset = 0
        for c in chunks:
            if frame < offset + c["frames"]:
                chunk, i = c["chunk"], frame - offset
                break
            offset += c["frames"]
        else:
            raise ValueError(f"frame {frame} beyond sequence {sequence}")
    f = reader.file(sequence, chunk)
    devices, targets = manifest["devices"], manifest["targets"]
    cols = min(2, len(devices))
    rows = math.ceil(len(devices) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 5 * rows), squeeze=False)
    colors = plt.cm.tab10(np.arange(len(targets)))
    for k, (ax, dev) in enumerate(zip(axes.flat, devices, strict=False)):
        crop = "crop" in f  # camera.crop: the stored thumbnail at the native pixel coordinates, and each crop
        width, height = manifest["config"]["camera"]["width"], manifest["config"]["camera"]["height"]
        ax.imshow(f["thumbnail"][i, k] if crop else f["image"][i, k], extent=(0, width, height, 0))
        for n in range(len(targets)) if crop else ():
            inset = ax.inset_axes([0.01 + 0.2 * n, 0.01, 0.18, 0.18 * width / height])
            inset.imshow(f["crop"][i, k, n])
            inset.set_xticks([])
            inset.set_yticks([])
            for spine in inset.spines.values():
                spine.set_color(colors[n])
        role = "aggregation center" if dev["aggregation_center"] else "collaborator"
        ax.set_title(f"({chr(97 + k)}) position {k + 1}: {dev['id']} ({role})", fontsize=9)
        ax.axis("off")
        for n, tgt in enumerate(targets):
            d, az, pitch, v = f["labels"][i, k, n]
            if not f["visible"][i, k, n]:
                ax.text(2, 10 + 12 * n, f"{tgt['type']}: hidden", color=colors[n], fontsize=7,
                        bbox={"facecolor": "white", "alpha": 0.6, "pad": 1})
                continue
            x0, y0, x1, y1 = f["bbox"][i, k, n]
            ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color=colors[n], lw=1.5))
            ax.text(x0, max(y0 - 2, 0), f"{tgt['type']} d={d:.1f}m az={math.degrees(az):.0f}° "
                    f"pitch={math.degrees(pitch):.0f}° v={v:.1f}m/s", color="white", fontsize=6,
                    bbox={"facecolor": colors[n], "alpha": 0.7, "pad": 1})
    for ax in list(axes.flat)[len(devices):]:
        ax.axis("off")
    t = f["time"][i]
    fig.suptitle(f"{root.name}: sequence {sequence}, frame {int(f['frame_index'][i])} (t = {t:.2f} s)")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return png


def baseline_probes(root: Path, manifest: dict) -> dict:
    """Probe (b): the classical single-device and multi-device fusion baselines at the center, on the probe split."""
    from disac_ros.data.probes import PROBE_SPLIT
    from disac_ros.evaluation.classical import classical_baselines

    center = manifest["devices"][0]["id"]
    return {"center": center, "split": PROBE_SPLIT,
            **{m: p.metrics() for m, p in classical_baselines(root, PROBE_SPLIT, center).items()}}


def format_baselines(baselines: dict) -> str:
    """Probe (b) as ``disac inspect`` prints it: accuracy and RMSE of each baseline, all / line of sight / blocked."""
    lines = [f"classical baselines at {baselines['center']} on the {baselines['split']} split: accuracy %, RMSE "
             "distance m / azimuth deg / pitch deg / velocity m/s"]
    for method in ("single", "fusion"):
        cells = []
        for subset in ("all", "line_of_sight", "blocked"):
            m = {k: math.nan if v is None else v for k, v in baselines[method][subset].items()}
            cells.append(f"{subset} ({m['samples']}) {100 * m['accuracy']:.1f} %, {m['distance']:.2f} / "
                         f"{math.degrees(m['azimuth']):.2f} / {math.degrees(m['pitch']):.2f} / "
                         f"{m['radial_velocity']:.2f}")
        lines.append(f"  {method}: " + "; ".join(cells))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from disac_ros.data.store import load_manifest

    root = Path(args.data)
    manifest = load_manifest(root)
    print(summary(manifest))
    if not args.no_probes:
        from disac_ros.data.probes import format_probes, probes_current, run_probes
        from disac_ros.files import write_json_atomic

        if args.refresh_probes or not probes_current(manifest.get("probes")):
            manifest["probes"] = run_probes(root, manifest)
            manifest["probes"]["baselines"] = baseline_probes(root, manifest)
            write_json_atomic(root / "manifest.json", manifest, strict=True)
        print(format_probes(manifest["probes"]))
        print(format_baselines(manifest["probes"]["baselines"]))
    png = contact_sheet(root, manifest, args.sequence, args.frame, Path(args.png or root / "contact_sheet.png"))
    print(f"contact sheet: {png}")
    return 0
