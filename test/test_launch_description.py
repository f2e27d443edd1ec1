"""disac_ros.launch_description: the one description of the live graph, its parameters file
(``config/disac.yaml``), and ``launch/disac.launch.py`` (with ``config/disac.rviz``) that reads it."""
from __future__ import annotations

import ast
import sys
import types
from pathlib import Path

import pytest
import yaml
from nodetools import _declared, _tables

from disac_ros.launch_description import (
    DEFAULT_PARAMS_FILE,
    ContainerSpec,
    NodeSpec,
    available_cpus,
    compose,
    cpus_for,
    describe,
    place,
)

ROOT = Path(__file__).resolve().parent.parent


def test_description_for_three_devices():
    specs = describe(preset="smoke", num_devices=3, run="/runs/x")
    assert [s.full_name for s in specs] == ["/genesis_bridge", "/device_1/device_encoder",
                                            "/device_2/device_encoder", "/channel", "/aggregator"]
    by = {s.full_name: s for s in specs}
    assert by["/genesis_bridge"].parameters["num_devices"] == 3
    assert by["/genesis_bridge"].parameters["preset"] == "smoke"
    assert Path(by["/genesis_bridge"].parameters["scene_config"]) == ROOT / "config" / "scene.yaml"
    assert by["/device_2/device_encoder"].parameters == {"device_id": "device_2", "run": "/runs/x"}
    for name in ("/channel", "/aggregator"):
        assert by[name].parameters["center"] == "device_0"
        assert by[name].parameters["devices"] == ["device_1", "device_2"]
    assert by["/aggregator"].parameters["run"] == "/runs/x"
    assert all(s.use_sim_time and s.params_file == str(DEFAULT_PARAMS_FILE) for s in specs)
    assert {s.executable for s in specs} == {"genesis_bridge", "device_encoder", "channel", "aggregator"}


def test_description_scales_with_n_and_applies_overrides():
    four = describe(preset="smoke", run="r")
    assert len([s for s in four if s.executable == "device_encoder"]) == 3
    one = describe(preset="smoke", num_devices=1, run="r")
    assert [s.executable for s in one] == ["genesis_bridge", "aggregator"]
    assert one[-1].parameters["devices"] == [""]  # explicitly none
    specs = describe(preset="smoke", num_devices=2, run="r", use_sim_time=False, params_file="",
                     overrides={"device_encoder": {"num_threads": 2}, "device_1/device_encoder": {"max_pending": 3},
                                "channel": {"snr_db": 5.0}})
    by = {s.full_name: s for s in specs}
    assert by["/device_1/device_encoder"].parameters["num_threads"] == 2
    assert by["/device_1/device_encoder"].parameters["max_pending"] == 3
    assert by["/channel"].parameters["snr_db"] == 5.0
    assert not any(s.use_sim_time or s.params_file for s in specs)
    with pytest.raises(ValueError, match="num_devices"):
        describe(preset="smoke", num_devices=5, run="r")
    with pytest.raises(ValueError, match="unknown nodes"):
        describe(preset="smoke", run="r", overrides={"chanel": {"snr_db": 1.0}})


def test_ros_arguments_carry_typed_parameters():
    spec = NodeSpec("channel", "channel", "", {"devices": ["device_1", "device_2"], "snr_db": 10.0, "preset": "",
                                               "lossless": False, "seed": 3}, True, "/p.yaml")
    args = spec.ros_arguments()
    assert args[:5] == ["--ros-args", "-r", "__node:=channel", "--params-file", "/p.yaml"]
    values = dict(a.split(":=", 1) for a in args[args.index("-p"):] if ":=" in a)
    assert {k: yaml.safe_load(v) for k, v in values.items()} == {**spec.parameters, "use_sim_time": True}
    ns = NodeSpec("device_encoder", "device_encoder", "device_1").ros_arguments()
    assert ["-r", "__ns:=/device_1"] == ns[3:5]


def test_params_file_matches_the_nodes():
    params = yaml.safe_load(DEFAULT_PARAMS_FILE.read_text())
    names = {key.split("/")[-1] for key in params}
    assert names == {"genesis_bridge", "device_encoder", "channel", "aggregator"}
    assert "/**/device_encoder" in params  # the encoders live in /<device_id>
    for key, section in params.items():
        executable = key.split("/")[-1]
        declared = _declared(executable)
        extra = set(section["ros__parameters"]) - declared
        assert not extra, f"{key}: parameters not declared by the node: {extra}"
    for spec in describe(preset="smoke", run="r"):  # and the description only sets declared parameters
        assert set(spec.parameters) <= _declared(spec.executable), spec.full_name


def test_params_file_only_overrides_defaults():
    params = yaml.safe_load(DEFAULT_PARAMS_FILE.read_text())
    for key, section in params.items():
        defaults = {p.name: p.default for p in _tables()[key.split("/")[-1]]}
        for name, value in section["ros__parameters"].items():
            assert value != defaults[name], f"{key}.{name}: {value!r} is the default; leave it to the table"
            assert type(value) is type(defaults[name]), f"{key}.{name}: {value!r} has another type than the default"


class _Recorder:
    """Stands in for a launch / launch_ros class and records how it was built."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class _LaunchConfiguration(_Recorder):
    def perform(self, context):
        return context[self.args[0]]


def test_compose_puts_the_stack_in_one_container_with_each_nodes_own_arguments():
    import json

    specs = describe(preset="smoke", num_devices=3, run="/runs/x")
    composed = compose(specs)
    assert [s.full_name for s in composed] == ["/genesis_bridge", "/container"]
    container = composed[-1]
    assert isinstance(container, ContainerSpec) and container.module == "disac_ros.nodes.container"
    assert container.nodes == tuple(specs[1:])
    nodes_json, *rest = container.ros_arguments()
    assert rest == ["--executor", "single", "--ros-args"]
    assert compose(specs, executor="multi")[-1].arguments()[1:] == ["--executor", "multi"]
    assert json.loads(nodes_json) == [{"executable": s.executable, "arguments": s.ros_arguments()} for s in specs[1:]]
    assert compose(specs, ("aggregator",))[-1].nodes == (specs[-1],)
    assert compose(specs, ()) == specs


def _fake_launch_modules(monkeypatch, share: Path) -> None:
    fakes = {
        "launch": {"LaunchDescription": _Recorder},
        "launch.actions": {"DeclareLaunchArgument": _Recorder, "OpaqueFunction": _Recorder},
        "launch.substitutions": {"LaunchConfiguration": _LaunchConfiguration},
        "launch_ros": {},
        "launch_ros.actions": {"Node": _Recorder},
        "ament_index_python": {},
        "ament_index_python.packages": {"get_package_share_directory": lambda package: str(share)},
    }
    for name, attrs in fakes.items():
        monkeypatch.setitem(sys.modules, name, types.SimpleNamespace(**attrs))


def test_launch_file_starts_the_described_nodes(monkeypatch):
    """Run launch/disac.launch.py against stand-ins of launch/launch_ros (not installable here)."""
    _fake_launch_modules(monkeypatch, share=ROOT)
    namespace: dict = {}
    path = ROOT / "launch" / "disac.launch.py"
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    description = namespace["generate_launch_description"]()
    actions = description.args[0]
    declared = {a.args[0]: a.kwargs["default_value"] for a in actions if "default_value" in a.kwargs}
    assert {"num_devices", "preset", "run", "params_file", "use_sim_time"} <= set(declared)
    assert declared["num_devices"] == "4" and declared["use_sim_time"] == "true"
    (opaque,) = [a for a in actions if "function" in a.kwargs]
    context = {**declared, "num_devices": "3", "preset": "smoke", "run": "/runs/x"}
    nodes = opaque.kwargs["function"](context)
    expected = describe(scene_config=ROOT / "config" / "scene.yaml", preset="smoke", num_devices=3, run="/runs/x",
                        params_file=ROOT / "config" / "disac.yaml")
    assert len(nodes) == len(expected)
    for node, spec in zip(nodes, expected, strict=True):
        assert node.kwargs["package"] == "disac_ros" and node.kwargs["executable"] == spec.executable
        assert node.kwargs["name"] == spec.name and (node.kwargs["namespace"] or "") == spec.namespace
        assert node.kwargs["parameters"] == [spec.params_file, spec.all_parameters()]
    # rviz:=true adds RViz with a config showing the launched devices' cameras
    with_rviz = opaque.kwargs["function"]({**context, "rviz": "true"})
    assert len(with_rviz) == len(nodes) + 1
    rviz_node = with_rviz[-1]
    assert rviz_node.kwargs["executable"] == "rviz2"
    config = yaml.safe_load(Path(rviz_node.kwargs["arguments"][1]).read_text())
    images = {d["Topic"]["Value"] for d in config["Visualization Manager"]["Displays"]
              if d["Class"] == "rviz_default_plugins/Image"}
    assert images == {f"/device_{k}/camera/image_raw" for k in range(3)}
    Path(rviz_node.kwargs["arguments"][1]).unlink()
    # compose:=true: the bridge, then one container (no node name: it would rename every node inside)
    composed = opaque.kwargs["function"]({**context, "compose": "true"})
    assert [n.kwargs["executable"] for n in composed] == ["genesis_bridge", "container"]
    assert "name" not in composed[1].kwargs
    assert composed[1].kwargs["arguments"] == compose(expected)[-1].arguments()
    multi = opaque.kwargs["function"]({**context, "compose": "multi"})
    assert multi[1].kwargs["arguments"][1:] == ["--executor", "multi"]
    # cpus:=auto: each node's process started under taskset with the CPUs place() gives it
    assert all(n.kwargs["prefix"] is None for n in nodes)
    placed = opaque.kwargs["function"]({**context, "cpus": "auto"})
    want = place(expected, "auto")
    assert [n.kwargs["prefix"] for n in placed] == [s.prefix() for s in want]
    if len(available_cpus()) > 1:
        assert placed[-1].kwargs["prefix"] == f"taskset -c {available_cpus()[0]}"


def test_auto_placement_gives_the_center_a_cpu_of_its_own():
    specs = describe(preset="smoke", num_devices=3, run="/runs/x")
    assert place(specs) == specs and place(specs, "none", (0, 1)) == specs
    placed = {s.executable: s.cpus for s in place(specs, "auto", (2, 3, 5))}
    assert placed == {"genesis_bridge": (3, 5), "device_encoder": (3, 5), "channel": (3, 5), "aggregator": (2,)}
    assert [s.prefix() for s in place(specs, "auto", (0, 1))][-2:] == ["taskset -c 1", "taskset -c 0"]
    assert place(specs, "auto", (4,)) == specs            # one CPU: nothing to separate
    assert cpus_for("disac_play", "auto", (0, 1)) == (1,)  # any process but the center: the rest
    composed = compose(place(specs, "auto", (0, 1)))
    assert place(composed, "auto", (0, 1)) == composed and composed[0].cpus == (1,)
    with pytest.raises(ValueError, match="CPU layout"):
        place(specs, "fast")


def test_launch_file_calls_the_shared_description():
    tree = ast.parse((ROOT / "launch" / "disac.launch.py").read_text())
    imports = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert ("disac_ros.launch_description", "describe") in imports
    assert ("launch_ros.actions", "Node") in imports
    calls = [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert "describe" in calls


def test_launch_overrides_parse():
    from disac_ros.launch_description import parse_overrides

    assert parse_overrides(["channel.snr_db=10", "device_1/device_encoder.run=/r", "aggregator.devices=[a, b]"]) == {
        "channel": {"snr_db": 10}, "device_1/device_encoder": {"run": "/r"}, "aggregator": {"devices": ["a", "b"]}}
    with pytest.raises(ValueError):
        parse_overrides(["snr_db=10"])


def test_rviz_config_shows_cameras_and_markers_in_world():
    from disac_ros.config import load_scene
    from disac_ros.ros import rviz as rviz_config

    text = (ROOT / "config" / "disac.rviz").read_text()
    assert text == rviz_config.dump(rviz_config.rviz_config([d.id for d in load_scene().devices])), \
        "config/disac.rviz is stale: python -m disac_ros.ros.rviz config/disac.rviz"
    rviz = yaml.safe_load(text)
    manager = rviz["Visualization Manager"]
    assert manager["Global Options"]["Fixed Frame"] == "world"
    displays = manager["Displays"]
    classes = [d["Class"] for d in displays]
    assert classes.count("rviz_default_plugins/Grid") == 1
    images = {d["Topic"]["Value"] for d in displays if d["Class"] == "rviz_default_plugins/Image"}
    assert images == {f"/device_{k}/camera/image_raw" for k in range(4)}
    markers = {d["Topic"]["Value"] for d in displays if d["Class"] == "rviz_default_plugins/MarkerArray"}
    assert markers == {"/scene/markers", "/targets/markers"}
    assert classes.count("rviz_default_plugins/TF") == 1
    assert all(c.startswith(("rviz_default_plugins/", "rviz_common/"))
               for c in classes + [p["Class"] for p in rviz["Panels"]])


def test_the_default_run_is_where_disac_demo_trains():
    from disac_ros.launch_description import describe
    from disac_ros.runs import default_run

    specs = describe(preset="smoke", num_devices=2)
    runs = {s.parameters["run"] for s in specs if "run" in s.parameters}
    assert runs == {str(default_run("smoke"))}
