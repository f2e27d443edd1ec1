"""The one description of the live graph, read by ``launch/disac.launch.py`` and by ``disac launch``.

:func:`describe` turns (scene config, preset, number of devices, run, params file, overrides) into the list of
nodes to start: executable, node name, namespace, the per-launch parameters and ``use_sim_time``. Values that
do not depend on the launch are the nodes' defaults (each node's ``PARAMETERS`` table), overridden by the params
file ``config/disac.yaml``; the parameters here are applied after it, so they win (``--set`` items become
``overrides`` with :func:`parse_overrides`). For N devices (the first N of the scene; the first is the
aggregation center) the graph is::

    genesis_bridge                       the scene, sensors of all N devices, ground truth, /clock
    /<dev>/device_encoder                one per collaborator (devices 2..N)
    channel                              the N-1 links to the center
    aggregator                           the center: its own sensors + every link

An encoder runs in its device's namespace and uses relative topic names (:mod:`disac_ros.topics`), so
``camera/image_raw`` is ``/<dev>/camera/image_raw`` there; the other nodes name ``<dev>/...`` topics. Each node
is a process by default, as on separate devices; :func:`compose` puts the stack's nodes in one process (same names,
parameters and topics) for a machine that hosts them all. :func:`place` gives the nodes CPUs on such a machine
(``auto``: the aggregation center alone on one, every other node on the rest), as separate devices would have.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from disac_ros.config import CONFIG_DIR, load_scene
from disac_ros.runs import default_run

PACKAGE = "disac_ros"
EXECUTABLES = ("genesis_bridge", "device_encoder", "channel", "aggregator")
DEFAULT_PARAMS_FILE = CONFIG_DIR / "disac.yaml"
DEFAULT_SCENE = CONFIG_DIR / "scene.yaml"


@dataclass(frozen=True)
class NodeSpec:
    """One node to start: ``ros2 run disac_ros <executable>`` or ``python -m disac_ros.nodes.<executable>``."""

    executable: str
    name: str
    namespace: str = ""
    parameters: dict = field(default_factory=dict)
    use_sim_time: bool = True
    params_file: str | None = None
    cpus: tuple[int, ...] = ()
    """The CPUs the node's process may run on (:func:`place`); empty: wherever the OS schedules it."""

    @property
    def module(self) -> str:
        return f"{PACKAGE}.nodes.{self.executable}"

    @property
    def full_name(self) -> str:
        """``/namespace/name`` (``/name`` without a namespace)."""
        return f"/{self.namespace}/{self.name}" if self.namespace else f"/{self.name}"

    def all_parameters(self) -> dict:
        """The parameters given on top of the params file, ``use_sim_time`` included."""
        return {**self.parameters, "use_sim_time": self.use_sim_time}

    def ros_arguments(self) -> list[str]:
        """``--ros-args`` for a process running this node (what launch_ros passes, as command-line arguments)."""
        args = ["--ros-args", "-r", f"__node:={self.name}"]
        if self.namespace:
            args += ["-r", f"__ns:=/{self.namespace}"]
        if self.params_file:
            args += ["--params-file", str(self.params_file)]
        for key, value in self.all_parameters().items():
            args += ["-p", f"{key}:={json.dumps(value)}"]  # JSON is YAML: strings stay strings, lists stay lists
        return args

    def prefix(self) -> str | None:
        """The command prefix that pins the process to :attr:`cpus` (launch_ros ``Node(prefix=...)``), or None."""
        return f"taskset -c {','.join(map(str, self.cpus))}" if self.cpus else None


def describe(scene_config: str | Path | None = None, preset: str | None = None, num_devices: int | None = None,
             run: str | Path | None = None, params_file: str | Path | None = None,
             overrides: dict[str, dict] | None = None, use_sim_time: bool = True,
             bridge: bool = True) -> list[NodeSpec]:
    """The nodes of the live graph for the first ``num_devices`` devices of the scene (all when None or 0).

    ``overrides`` maps a node (``channel``, ``device_1/device_encoder``) or an executable (``device_encoder``:
    every encoder) to parameters applied last. ``run`` defaults to :func:`disac_ros.runs.default_run`;
    ``params_file`` to ``config/disac.yaml`` (``""`` for none). ``bridge=False`` leaves out ``genesis_bridge``:
    the sensors and ``/clock`` then come from ``disac play BAG``. Raises ``ValueError`` for an invalid scene or
    device count.
    """
    scene_path = Path(scene_config) if scene_config else DEFAULT_SCENE
    cfg = load_scene(scene_path, preset or None)
    ids = [d.id for d in cfg.devices]
    n = int(num_devices or len(ids))
    if not 1 <= n <= len(ids):
        raise ValueError(f"num_devices must be 1..{len(ids)} for {scene_path}, got {num_devices}")
    devices, center, collaborators = ids[:n], ids[0], ids[1:n]
    run = str(run) if run else str(default_run(preset))
    params = None if params_file == "" else str(params_file or DEFAULT_PARAMS_FILE)
    scene = {"scene_config": str(scene_path.resolve()), "preset": preset or ""}
    # An explicit empty list cannot cross `-p`; [""] means "no collaborators" to the nodes.
    links = collaborators or [""]
    specs = [NodeSpec("genesis_bridge", "genesis_bridge", parameters={**scene, "num_devices": n})] if bridge else []
    specs += [NodeSpec("device_encoder", "device_encoder", namespace=k, parameters={"device_id": k, "run": run})
              for k in collaborators]
    if collaborators:
        specs.append(NodeSpec("channel", "channel", parameters={**scene, "center": center, "devices": links}))
    specs.append(NodeSpec("aggregator", "aggregator",
                          parameters={**scene, "run": run, "center": center, "devices": links}))
    overrides = overrides or {}
    known = {s.full_name.lstrip("/") for s in specs} | set(EXECUTABLES)
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"overrides for unknown nodes {unknown}; nodes are {sorted(known)}")
    out = []
    for s in specs:
        extra = {**overrides.get(s.executable, {}), **overrides.get(s.full_name.lstrip("/"), {})}
        out.append(replace(s, parameters={**s.parameters, **extra}, use_sim_time=use_sim_time, params_file=params))
    assert len({s.full_name for s in out}) == len(out), "node names must be unique"
    assert devices[0] == center
    return out


#: The nodes ``compose`` puts in one process by default: the stack (the bridge, the world, stays on its own).
STACK = ("device_encoder", "channel", "aggregator")


@dataclass(frozen=True)
class ContainerSpec:
    """Several nodes in one process: ``python -m disac_ros.nodes.container NODES_JSON`` (see that module)."""

    nodes: tuple[NodeSpec, ...]
    executor: str = "single"
    name: str = "container"
    executable = "container"
    namespace = ""
    cpus = ()  # not placed (place): one process, one GIL
    prefix = NodeSpec.prefix

    @property
    def module(self) -> str:
        return f"{PACKAGE}.nodes.{self.executable}"

    @property
    def full_name(self) -> str:
        return f"/{self.name}"

    def nodes_json(self) -> str:
        """The container's one argument: each node's executable and its own ``--ros-args``."""
        return json.dumps([{"executable": s.executable, "arguments": s.ros_arguments()} for s in self.nodes])

    def arguments(self) -> list[str]:
        """The container's own arguments: the nodes and the executor."""
        return [self.nodes_json(), "--executor", self.executor]

    def ros_arguments(self) -> list[str]:
        """The container's command line after the module (its process-wide ``--ros-args`` follow)."""
        return [*self.arguments(), "--ros-args"]


def compose(specs: list[NodeSpec], executables: tuple[str, ...] = STACK,
            executor: str = "single") -> list[NodeSpec | ContainerSpec]:
    """``specs`` with the nodes of ``executables`` moved into one :class:`ContainerSpec` after the others.

    ``executor``: "single" or "multi" (:func:`disac_ros.nodes.spin.spin_nodes`).
    """
    inside = tuple(s for s in specs if s.executable in executables)
    rest: list[NodeSpec | ContainerSpec] = [s for s in specs if s.executable not in executables]
    return [*rest, ContainerSpec(inside, executor)] if inside else rest


#: How :func:`place` lays the nodes out on the CPUs: "none" (the OS decides) or "auto".
CPU_LAYOUTS = ("none", "auto")
#: The executable that gets a CPU to itself in the "auto" layout: the center, where every frame's work meets.
ISOLATED = "aggregator"


def available_cpus() -> tuple[int, ...]:
    """The CPUs this process may run on, in order (all of them where the OS cannot say)."""
    try:
        return tuple(sorted(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return tuple(range(os.cpu_count() or 1))


def cpus_for(executable: str, layout: str = "none", cpus: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """The CPUs a process of ``executable`` gets in ``layout`` over ``cpus`` (default: :func:`available_cpus`).

    "none": () (wherever the OS schedules it). "auto", for a machine that hosts the whole graph: the aggregator
    alone on the first CPU, every other node on the rest; () with one CPU. The processes then stop evicting each
    other's caches, the center's above all: measured on 2 cores with SmolLM2 int8 decoders, from a bag at 10
    frames/s, the center's CPU per frame 88-97 instead of 114 ms, each encoder's 25-27 instead of 37, and (with the
    fine stride of :mod:`disac_ros.live.stride`) 9.5 instead of 7.2 ``/targets`` per s (README, "The live graph").
    """
    if layout not in CPU_LAYOUTS:
        raise ValueError(f"CPU layout must be one of {', '.join(CPU_LAYOUTS)}, got {layout!r}")
    cpus = tuple(cpus) if cpus is not None else available_cpus()
    if layout == "none" or len(cpus) < 2:
        return ()
    return cpus[:1] if executable == ISOLATED else cpus[1:]


def place(specs: list, layout: str = "none", cpus: tuple[int, ...] | None = None) -> list:
    """``specs`` with :attr:`NodeSpec.cpus` set by :func:`cpus_for`; a :class:`ContainerSpec` stays unplaced."""
    return [replace(s, cpus=cpus_for(s.executable, layout, cpus)) if isinstance(s, NodeSpec) else s for s in specs]


def parse_overrides(items: list[str]) -> dict[str, dict]:
    """``--set`` items as :func:`describe`'s overrides: ``["channel.snr_db=10"]`` -> ``{"channel": {"snr_db": 10}}``.

    Values are parsed as YAML; ``NODE`` is a node (``device_1/device_encoder``) or an executable.
    """
    import yaml

    out: dict[str, dict] = {}
    for item in items:
        key, sep, value = item.partition("=")
        node, dot, param = key.partition(".")
        if not (sep and dot and node and param):
            raise ValueError(f"--set expects NODE.PARAM=VALUE, got {item!r}")
        out.setdefault(node, {})[param] = yaml.safe_load(value)
    return out
