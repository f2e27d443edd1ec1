"""Serving a Rerun recording to a browser on the loopback address, and screenshotting it with headless Chromium.

:class:`WebViewer` runs the Rerun CLI's gRPC server and web viewer (``rerun --serve-web --bind 127.0.0.1``) on a
saved recording, or for an SDK stream that connects to :attr:`WebViewer.grpc_url` and logs into it; a browser opens
:attr:`WebViewer.url`.
:func:`screenshot` opens a page in headless Chromium through the DevTools protocol (``--remote-debugging-port``,
``websockets``) and saves a PNG once the page has drawn and settled. The viewer draws with WebGL; in a VM without a
GPU Chromium's software rasterizer does (``--use-angle=swiftshader --enable-unsafe-swiftshader``).
"""
from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

from disac_ros.ros.supervisor import child_preexec

HOST = "127.0.0.1"
CHROMIUM_FLAGS = ("--headless=new", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-first-run",
                  "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars", "--mute-audio")
#: A drawn viewer has many colours; its loading and error pages have a handful.
MIN_COLOURS = 64
#: The fraction of pixels that may still change in a settled page.
SETTLED = 0.005


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 10 s, to the process group of ``proc`` (started with ``start_new_session``)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(10)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_port(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before port {port} opened")
        with socket.socket() as s:
            if s.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {HOST}:{port} after {timeout:.0f} s")


class WebViewer:
    """The Rerun web viewer and its gRPC server on the loopback address, as a context manager.

    ``files``: recordings (.rrd) it serves; without them it forwards what SDK streams log into :attr:`grpc_url`.
    """

    def __init__(self, grpc_port: int | None = None, web_port: int | None = None, files: tuple = (),
                 memory_limit: str = "25%"):
        self.grpc_port, self.web_port = grpc_port or free_port(), web_port or free_port()
        self.grpc_url = f"rerun+http://{HOST}:{self.grpc_port}/proxy"
        self.url = f"http://{HOST}:{self.web_port}/?url={urllib.parse.quote(self.grpc_url, safe='')}"
        self.files, self.memory_limit = [str(f) for f in files], memory_limit
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> WebViewer:
        import rerun_cli  # the binary itself: `python -m rerun_cli` would leave it running when stopped

        binary = os.environ.get("RERUN_CLI_PATH") or str(Path(rerun_cli.__file__).parent / "rerun")
        self.proc = subprocess.Popen(
            [binary, "--serve-web", "--bind", HOST, "--port", str(self.grpc_port), "--web-viewer-port",
             str(self.web_port), "--server-memory-limit", self.memory_limit, *self.files],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=child_preexec())  # a killed `disac view` leaves no server
        try:
            for port in (self.grpc_port, self.web_port):
                _wait_port(port, self.proc, 30.0)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            _stop(self.proc)


def chromium() -> str | None:
    """The Chromium executable (``$CHROMIUM`` or chromium / chromium-browser / google-chrome on PATH), or None."""
    names = [os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"]
    return next((shutil.which(n) for n in names if n and shutil.which(n)), None)


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def colour_count(rgb: np.ndarray) -> int:
    """Distinct colours of an RGB image [H, W, 3] uint8, each channel quantised to 4 bits."""
    return len(np.unique((rgb >> 4).reshape(-1, 3).astype(np.int64) @ np.array([256, 16, 1])))


class _DevTools:
    """The DevTools protocol over one page's websocket: ``call(method, **params)`` -> result."""

    def __init__(self, port: int):
        from websockets.sync.client import connect

        pages = json.load(urllib.request.urlopen(f"http://{HOST}:{port}/json/list", timeout=10))
        self.ws = connect(next(p for p in pages if p["type"] == "page")["webSocketDebuggerUrl"], max_size=2**28,
                          open_timeout=10)
        self.n = 0

    def call(self, method: str, timeout: float = 120.0, **params) -> dict:
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:  # events (none enabled) and replies to nothing else may come first
            reply = json.loads(self.ws.recv(timeout))
            if reply.get("id") == self.n:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]


def screenshot(url: str, out: str | Path, size: tuple[int, int] = (1600, 1000), timeout: float = 180.0,
               settle: float = 3.0) -> bool:
    """Open ``url`` in headless Chromium and save a PNG at ``out`` once the page is drawn and settled.

    Drawn: at least :data:`MIN_COLOURS` colours; settled: at most :data:`SETTLED` of the pixels changed in ``settle``
    seconds (the viewer's latency counter keeps ticking). Returns False if that did not happen within ``timeout``
    seconds (the last picture is saved anyway). RuntimeError when no Chromium is installed.
    """
    exe = chromium()
    if exe is None:
        raise RuntimeError("no chromium found: apt-get install chromium (scripts/install-view.sh does it as root)")
    width, height = size
    with tempfile.TemporaryDirectory(prefix="disac-view-chromium-") as profile:
        sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium's sandbox refuses to run as root
        proc = subprocess.Popen([exe, *CHROMIUM_FLAGS, *sandbox, f"--user-data-dir={profile}",
                                 "--remote-debugging-port=0", f"--window-size={width},{height}", "about:blank"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=child_preexec())
        try:
            active = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 30
            while not (active.exists() and active.read_text().strip()):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{exe} did not start its DevTools server (exit status {proc.poll()})")
                time.sleep(0.1)
            tools = _DevTools(int(active.read_text().split()[0]))
            tools.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                       mobile=False)
            tools.call("Page.navigate", url=url)
            deadline, png, last, done = time.monotonic() + timeout, b"", None, False
            while not done and time.monotonic() < deadline:
                time.sleep(settle)
                png = base64.b64decode(tools.call("Page.captureScreenshot", format="png")["data"])
                rgb = _pixels(png)
                done = (last is not None and last.shape == rgb.shape and colour_count(rgb) >= MIN_COLOURS
                        and np.mean(np.any(rgb != last, axis=-1)) <= SETTLED)
                last = rgb
            Path(out).write_bytes(png)
            return done
        finally:
            _stop(proc)
