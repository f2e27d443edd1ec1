"""The README's generated sections: every figure of its results comes from a committed JSON, by one command.

A generated section sits between two markers in ``README.md``::

    <!-- generated: graph (disac report --readme) -->
    ...text that render("graph", root) makes from the committed files...
    <!-- end generated: graph -->

``disac report --readme`` rewrites every section from the files under the repository root (:func:`update`);
``disac report --readme --check`` exits non-zero and names the sections that differ (:func:`stale`), as the
test suite does, so a README figure that no committed file backs, or that disagrees with its file, fails. Each
section names the files it reads. :data:`SECTIONS` maps a section's name to its renderer (``root -> Markdown``);
the learning benchmark's tables and findings come from :mod:`disac_ros.evaluation.report`, so ``report.md`` and
the README say the same thing.

The live graph's rows carry a description of the build that measured them (:data:`GRAPH_FILES`): the
measurements of earlier builds stay committed as they were measured, so the description, not a number, says
which build each row is of.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path

from disac_ros.files import write_text_atomic

COMMAND = "disac report --readme"
BENCH = Path("results/bench")
SOAK = Path("results/soak")

_BEGIN = re.compile(r"^<!-- generated: (?P<name>[\w-]+) \(.*\) -->$", re.M)

SECTIONS: dict[str, Callable[[Path], str]] = {}


def section(name: str):
    """Register ``fn(root) -> Markdown`` as the renderer of the README section ``name``."""
    def register(fn: Callable[[Path], str]) -> Callable[[Path], str]:
        SECTIONS[name] = fn
        return fn
    return register


def _load(root: Path, rel: Path | str) -> dict:
    path = root / rel
    if not path.is_file():
        raise FileNotFoundError(f"{rel} is missing: the README's generated sections read it (regenerate it with "
                                f"the command in its section, or remove the section)")
    return json.loads(path.read_text())


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(r) + " |" for r in rows)]


def _num(value, digits: int = 2, scale: float = 1.0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{scale * value:.{digits}f}"


def _ci(iv: dict, digits: int = 1, scale: float = 1.0) -> str:
    return f"{_num(iv['mean'], digits, scale)} [{_num(iv['low'], digits, scale)}, {_num(iv['high'], digits, scale)}]"


def _files(paths: list[str]) -> str:
    return ", ".join(f"`{p}`" for p in paths)


# --- the learning benchmark -------------------------------------------------------------------------------------

@section("benchmark")
def benchmark(root: Path) -> str:
    """The default benchmark's tables, findings and targets, as ``report.md`` renders them from ``summary.json``."""
    from disac_ros.evaluation.report import readme_lines

    out = Path("results/default")
    return "\n".join(readme_lines(_load(root, out / "results.json"), str(out)))


# --- the live graph ---------------------------------------------------------------------------------------------

#: The live graph's benchmark files, in the order of the tables, with the build each was measured on; the first
#: ones are of the current build (the README's table), the rest of earlier builds (the history in the docs).
GRAPH_FILES: tuple[tuple[str, str], ...] = (
    ("graph-bag-int8-cpus-5.json", "int8, `--cpus auto`, fine stride"),
    ("graph-bag-int8-cpus.json", "int8, `--cpus auto`, fine stride"),
    ("graph-live-int8-cpus.json", "int8, `--cpus auto`, fine stride"),
    ("graph-bag-int8-none-10-fractional.json", "int8, placed by the OS, fine stride"),
    ("graph-bag-int8-cpus-integer-stride.json", "int8, `--cpus auto`, integer stride"),
    ("graph-bag-int8-cpus-integer-stride-10-repeat1.json", "int8, `--cpus auto`, integer stride, a repeat"),
    ("graph-bag-int8-cpus-integer-stride-10-repeat2.json", "int8, `--cpus auto`, integer stride, a repeat"),
    ("graph-live-int8-cpus-integer-stride.json", "int8, `--cpus auto`, integer stride"),
    ("graph-bag-int8-none-10.json", "int8, placed by the OS, integer stride"),
    ("graph-bag-int8-pinned-by-script-10.json", "int8, pinned by a script after start-up (exploratory A/B)"),
    ("graph-bag-int8.json", "int8, with a since reverted congestion rule"),
    ("graph-live-int8.json", "int8, placed by the OS, integer stride"),
    ("graph-bag-int8-no-work-ahead.json", "int8, `work_ahead` off"),
    ("graph-bag-gru.json", "GRU decoders, placed by the OS, integer stride"),
    ("graph-bag-gru-overload.json", "GRU decoders, with a since reverted congestion rule"),
    ("graph-live-gru.json", "GRU decoders, placed by the OS, integer stride"),
    ("graph-bag-int8-composed.json", "int8, composed, single-threaded, with a since reverted congestion rule"),
    ("graph-bag-int8-composed-multi.json", "int8, composed, multi-threaded"),
    ("graph-live-int8-composed.json", "int8, composed, single-threaded"),
    ("graph-bag-dead.json", "float32, every collaborator killed"),
    ("graph-bag.json", "float32"),
    ("graph-live.json", "float32"),
)
#: How many of :data:`GRAPH_FILES` are of the current build.
GRAPH_CURRENT = 4


def _node_cpu(nodes: dict, suffix: str) -> str:
    values = [n["cpu_ms_per_target_msg"] for name, n in nodes.items()
              if name.endswith(suffix) and n.get("cpu_ms_per_target_msg") is not None]
    return _num(sum(values) / len(values), 0) if values else "n/a"


def _graph_rows(root: Path, files: tuple[tuple[str, str], ...]) -> str:
    listed = {name for name, _ in GRAPH_FILES}
    unlisted = sorted(p.name for p in (root / BENCH).glob("graph-*.json") if p.name not in listed)
    if unlisted:
        raise ValueError(f"{_files(unlisted)} not described in readme.GRAPH_FILES: say which build measured them")
    rows = []
    for name, what in files:
        d = _load(root, BENCH / name)
        for r in d["results"]:
            q = r.get("quality") or {}
            source = "bag" if r["mode"].startswith("bag") else "live"
            rows.append([f"`{name}`", what, source, _num(r["rate"], 0), _num(r["targets_per_s"]),
                         _num(r.get("p50_ms"), 0), _num(r.get("p95_ms"), 0), _num(q.get("accuracy"), 1, 100),
                         _num(q.get("mean_contributing_devices")),
                         _node_cpu(r["nodes"], "aggregator"), _node_cpu(r["nodes"], "device_encoder"),
                         _node_cpu(r["nodes"], "channel")])
    return "\n".join(_table(["file", "build", "source", "frames/s offered", "`/targets` per s", "p50 ms", "p95 ms",
                             "accuracy %", "devices", "CPU ms/frame: center", "each encoder", "channel"], rows))


@section("graph")
def graph(root: Path) -> str:
    """One row per measured rate of the current build's live-graph files (``benchmarks/bench_graph.py --json``)."""
    return _graph_rows(root, GRAPH_FILES[:GRAPH_CURRENT])


@section("graph-history")
def graph_history(root: Path) -> str:
    """The same for the earlier builds' files, as they were measured."""
    return _graph_rows(root, GRAPH_FILES[GRAPH_CURRENT:])


_METRIC_TITLES = {"accuracy": "accuracy %", "rmse_distance": "distance RMSE m", "rmse_azimuth": "azimuth RMSE rad",
                  "rmse_pitch": "pitch RMSE rad", "rmse_radial_velocity": "radial velocity RMSE m/s"}


@section("live-demo")
def live_demo(root: Path) -> str:
    """``make demo``'s live part beside the offline test split, one row per committed demo file."""
    files = sorted((root / BENCH).glob("demo-live-*.json"))
    rows = []
    for path in files:
        d = json.loads(path.read_text())
        vs = d["versus_offline"]
        acc = vs["accuracy"]
        inside = [m for m, row in vs.items() if m != "accuracy" and row["within"]]
        verdict = "inside" if acc["within"] else \
            f"{'below' if acc['value']['mean'] < acc['reference']['mean'] else 'above'} by {_num(acc['by'], 1, 100)}"
        rows.append([f"`{path.name}`", str(d["sequences"]), f"{d['ground_truth_arrays'] - d['frames_without_estimate']}"
                     f" of {d['ground_truth_arrays']}", _num(d["mean_contributing_devices"]),
                     _ci(acc["value"], 1, 100), _ci(acc["reference"], 1, 100), verdict,
                     f"{len(inside)} of {len(vs) - 1}"])
    return "\n".join(_table(["file", "live sequences", "frames estimated", "devices per estimate",
                             "live accuracy %", "offline accuracy %", "live accuracy vs the offline interval",
                             "RMSEs inside the offline interval"], rows))


@section("live-replay")
def live_replay(root: Path) -> str:
    """The dataset's own sequences through the live graph, paired with the offline estimates sample by sample."""
    name = "live-replay-default.json"
    d = _load(root, BENCH / name)
    acc = d["accuracy"]
    rmse = "; ".join(f"{p} {_num(v['live']['mean'], 4)} vs {_num(v['offline']['mean'], 4)}"
                     for p, v in d["rmse"].items())
    return (f"`{BENCH / name}`: on the same {d['samples']} test samples ({d['sequences']} sequences) live "
            f"{_num(acc['live']['mean'], 1, 100)} % and offline {_num(acc['offline']['mean'], 1, 100)} % accuracy, "
            f"paired difference {_ci(acc['live_minus_offline'], 1, 100)} points; "
            f"{_num(d['same_class_decision'], 1, 100)} % of the class decisions are the same (the channel noise is "
            f"drawn anew); RMSE live vs offline (SI): {rmse}; the truths agree to "
            f"{max(d['truth_max_abs_difference']):.1e}.")


@section("decoder-precision")
def decoder_precision(root: Path) -> str:
    """int8 against float32 decoders at the center (``benchmarks/bench_decoder_precision.py``)."""
    name = "decoder-precision-default.json"
    d = _load(root, BENCH / name)
    rows = [[p, _num(r["decoder_call_ms"], 1), _num(r["accuracy"], 1, 100),
             *(_num(r[f"nmse_db_{k}"]) for k in ("distance", "azimuth", "pitch", "radial_velocity"))]
            for p, r in d["results"].items()]
    return "\n".join([f"`{BENCH / name}` (run `{d['run']}`, test split at {d['snr_db']:g} dB):", "",
                      *_table(["decoders", "ms per decoder call", "accuracy %", "NMSE dB distance", "azimuth",
                               "pitch", "radial velocity"], rows)])


@section("memory")
def memory(root: Path) -> str:
    """Each node's start-up time and memory (``benchmarks/bench_node_memory.py``)."""
    rows = []
    for path in sorted((root / BENCH).glob("node_memory-*.json")):
        d = json.loads(path.read_text())
        rows += [[f"`{path.name}`", f"`{proc}`", _num(p["ready_s"], 1), _num(p["uss_mib"], 0), _num(p["rss_mib"], 0)]
                 for proc, p in d["processes"].items()]
    return "\n".join(_table(["file", "process", "ready s", "own memory (USS) MiB", "RSS MiB"], rows))


@section("soak")
def soak(root: Path) -> str:
    """The long run of the default graph (``benchmarks/soak_graph.py``)."""
    name = "soak-default-4dev.json"
    d = _load(root, SOAK / name)
    rates = [r["targets_per_s"] for r in d["aggregator_rates"] if r["t_s"] >= d["warmup_s"]]
    growth = max(n["growth_after_warmup"] for n in d["nodes"].values())
    died = ", ".join(d["died"]) or "none"
    return (f"`{SOAK / name}`: {d['minutes']:g} minutes of the default graph with {len(d['nodes'])} nodes; nodes that "
            f"died: {died}; `/targets` per s after the {d['warmup_s']:g} s warm-up between {min(rates):.2f} and "
            f"{max(rates):.2f}; the largest memory growth of a node after the warm-up {100 * growth:.2f} %.")


# --- the README -------------------------------------------------------------------------------------------------

def _spans(text: str) -> list[tuple[str, int, int]]:
    """(name, start of the section's body, end of its body) of every generated section in ``text``."""
    spans = []
    for m in _BEGIN.finditer(text):
        name = m.group("name")
        end_marker = f"<!-- end generated: {name} -->"
        end = text.find(end_marker, m.end())
        if end < 0:
            raise ValueError(f"README section {name!r} has no end marker {end_marker!r}")
        spans.append((name, m.end() + 1, end))
    return spans


def marker(name: str) -> str:
    """The line that opens section ``name`` in the README."""
    return f"<!-- generated: {name} ({COMMAND}) -->"


def render(name: str, root: str | Path = ".") -> str:
    if name not in SECTIONS:
        raise ValueError(f"unknown README section {name!r}; known: {', '.join(SECTIONS)}")
    return SECTIONS[name](Path(root)).rstrip("\n") + "\n"


def rendered(readme: str | Path, root: str | Path = ".") -> str:
    """The README's text with every generated section rendered anew from the files under ``root``."""
    text = Path(readme).read_text()
    out, last = [], 0
    for name, start, end in _spans(text):
        out += [text[last:start], render(name, root)]
        last = end
    return "".join(out) + text[last:]


def stale(readme: str | Path, root: str | Path = ".") -> list[str]:
    """The generated sections whose text differs from what the committed files give."""
    text, new = Path(readme).read_text(), rendered(readme, root)
    old_parts = {name: text[s:e] for name, s, e in _spans(text)}
    new_parts = {name: new[s:e] for name, s, e in _spans(new)}
    return [name for name in old_parts if old_parts[name] != new_parts[name]]


def update(readme: str | Path, root: str | Path = ".") -> list[str]:
    """Rewrite the README's generated sections in place; the names of those that changed."""
    changed = stale(readme, root)
    if changed:
        write_text_atomic(readme, rendered(readme, root))
    return changed
