"""``disac view``: a browser view of a bag (``--bag``) or of the live graph (``--live``), with Rerun.

Converts the messages into a Rerun recording on the ``sim_time`` timeline (header stamps;
:mod:`disac_ros.view.recording` lists what is drawn): the 3-D scene with the true and estimated targets, each
device's camera image with the targets projected into it, its radar's range-Doppler and angle maps (the RVFN front
end), the link SNR and payload, and the encoder timings of Eq. (14). Then either saves it (``--save out.rrd``, for
``rerun out.rrd`` or https://app.rerun.io) or serves the Rerun web viewer on 127.0.0.1 and prints its URL;
``--screenshot out.png`` serves, opens the page in headless Chromium, saves a screenshot and exits.

The viewer is an optional extra (``requirements-view.txt``: rerun-sdk, ~170 MB): on first use this command runs
``scripts/install-view.sh``, which installs it into ``.venv`` (and Debian's chromium, as root).
"""
from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INSTALL_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-view.sh"
EXAMPLES = """\
what is drawn (timeline sim_time, the messages' header stamps):
  world         the scene (/scene/markers), estimates beside the truth (/targets/markers), /targets labelled with
                class and contributing devices, each camera's pose (/tf_static, else the scene markers)
  <dev> camera  /<dev>/camera/image_raw with the true and estimated targets projected (camera_info)
  radar         range-Doppler and angle maps of /<dev>/radar/echo (the RVFN's radar front end)
  series        /<dev>/link/stats (SNR, payload) and /<dev>/semantic/timing (t_ft, t_se of Eq. 14)

examples:
  disac view --bag bags/run1                       serve on 127.0.0.1 and print the URL (Ctrl-C to stop)
  disac view --bag bags/run1 --save run1.rrd       a file for `rerun run1.rrd` or app.rerun.io
  disac view --bag bags/run1 --screenshot run1.png headless Chromium, then exit
  disac view --live                                the running graph (disac launch), like RViz
"""


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    def _get_help_string(self, action):  # no "(default: None)"
        return action.help if action.default in (None, False) else super()._get_help_string(action)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class, parser.epilog = _Formatter, EXAMPLES
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--bag", metavar="BAG", help="a rosbag2 bag (disac record, or the bag of disac demo)")
    source.add_argument("--live", action="store_true", help="subscribe to the running graph, as RViz would")
    parser.add_argument("--save", metavar="OUT.rrd", help="save the recording instead of serving it")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="serve, screenshot the page in headless Chromium and exit")
    parser.add_argument("--size", default="1600x1000", metavar="WxH", help="screenshot size in pixels")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="--live: stop after S seconds (default: at Ctrl-C; 10 s with --screenshot)")
    parser.add_argument("--config", metavar="SCENE_YAML",
                        help="scene config: the ground plane, and --live's devices (default: config/scene.yaml)")
    parser.add_argument("--num-devices", type=int, default=0, metavar="N", help="--live: the first N devices (0: all)")
    parser.add_argument("--port", type=int, default=0, help="web viewer port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--grpc-port", type=int, default=0, help="the viewer's gRPC data port (0: a free one)")


def import_rerun():
    """``rerun``, installed first with scripts/install-view.sh when missing (None if it cannot be)."""
    try:
        return importlib.import_module("rerun")
    except ImportError:
        pass
    venv = (INSTALL_SCRIPT.parents[1] / ".venv").resolve()
    if not (INSTALL_SCRIPT.is_file() and Path(sys.prefix).resolve() == venv):  # the script installs into .venv
        print(f"disac view needs the Rerun SDK: {sys.executable} -m pip install -r requirements-view.txt "
              f"(or rerun-sdk==0.41.0)", file=sys.stderr)
        return None
    print(f"the viewer is not installed yet: running {INSTALL_SCRIPT}", file=sys.stderr)
    if subprocess.run(["bash", str(INSTALL_SCRIPT)]).returncode != 0:
        print(f"disac view: {INSTALL_SCRIPT} failed; run it by hand to see why", file=sys.stderr)
        return None
    importlib.invalidate_caches()
    return importlib.import_module("rerun")


def run(args: argparse.Namespace) -> int:
    if args.live and args.save and args.screenshot:
        raise ValueError("--live either saves (--save) or serves (--screenshot), not both")
    try:
        size = tuple(int(v) for v in args.size.split("x"))
    except ValueError:
        size = ()
    if len(size) != 2 or min(size) < 64:
        raise ValueError(f"--size must be WIDTHxHEIGHT in pixels (at least 64), got {args.size!r}")
    rr = import_rerun()
    if rr is None:
        return 2
    from disac_ros.view.serve import WebViewer, chromium, screenshot

    if args.screenshot and chromium() is None:
        print(f"disac view --screenshot needs Chromium: apt-get install chromium (or, as root, {INSTALL_SCRIPT})",
              file=sys.stderr)
        return 2
    import torch

    from disac_ros.config import load_scene
    from disac_ros.view.recording import ViewRecording, bag_devices, blueprint, log_bag

    torch.set_num_threads(1)  # the radar maps' tiny FFTs: more threads only contend (23 -> 0.9 ms an echo here)
    scene = load_scene(args.config)
    if args.bag:
        from disac_ros.ros.bags import bag_topics

        devices = bag_devices(bag_topics(args.bag))  # FileNotFoundError / ValueError for a missing or partial bag
    else:
        devices = [d.id for d in scene.devices[:args.num_devices or None]]
    # A bag is converted as fast as it reads: a chunk per 2 MiB, not per 200 ms, or the file holds hundreds of small
    # chunks that the web viewer ingests three times slower (measured on the demo bag: 56 s instead of 142 s).
    stream = rr.RecordingStream("disac_ros", batcher_config=rr.ChunkBatcherConfig(flush_tick=3600.0) if args.bag
                                else None)
    recording = ViewRecording(stream, scene)
    layout = blueprint(devices, scene.world.size)

    def fill() -> None:
        started, not_drawn = time.monotonic(), []
        if args.bag:
            count, not_drawn = log_bag(args.bag, recording)
        else:
            from disac_ros.view.live import view_live

            count = view_live(recording, devices, len(scene.targets),
                              args.duration or (10.0 if args.screenshot else None))
        stream.flush()
        print(f"logged {count} messages of {len(devices)} devices ({', '.join(devices)}) in "
              f"{time.monotonic() - started:.1f} s")
        for reason, n in recording.skipped.most_common(8):
            print(f"  skipped {n:>5}: {reason}")
        if not_drawn:
            print(f"  not drawn: {', '.join(not_drawn)}")

    with tempfile.TemporaryDirectory(prefix="disac-view-") as tmp:
        rrd = Path(args.save or Path(tmp) / "view.rrd")
        if args.bag or args.save:  # a bag is converted first, then served from the file
            stream.save(rrd, default_blueprint=layout)
            fill()
            stream.disconnect()
            print(f"saved {rrd} ({rrd.stat().st_size / 2**20:.1f} MiB)" + (f": rerun {rrd}" if args.save else ""))
            if args.save and not args.screenshot:
                return 0
        with WebViewer(args.grpc_port, args.port, files=[rrd] if args.bag else []) as viewer:
            print(f"Rerun web viewer: {viewer.url}", flush=True)
            if args.live:
                stream.connect_grpc(viewer.grpc_url, default_blueprint=layout)
                fill()
            if args.screenshot:
                started = time.monotonic()
                drawn = screenshot(viewer.url, args.screenshot, size)
                print(f"{'saved' if drawn else 'the page did not settle; saved what it showed in'} {args.screenshot} "
                      f"after {time.monotonic() - started:.0f} s")
                return 0 if drawn else 1
            if args.bag:
                print("serving; Ctrl-C to stop", flush=True)
                try:
                    while viewer.proc.poll() is None:
                        time.sleep(0.5)
                except KeyboardInterrupt:
                    pass
    return 0
