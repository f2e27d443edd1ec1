"""Fast checks of the live graph's ROS-free parts: pairing, the aggregation window, the link model (Eqs. 8-10),
timings (Eq. 14), topic names, the nodes' parameter tables, and the one launch description shared by
``disac launch`` and ``launch/disac.launch.py``."""
from __future__ import annotations

import ast
import json
import math
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import yaml

from disac_ros import topics
from disac_ros.launch_description import DEFAULT_PARAMS_FILE, NodeSpec, describe
from disac_ros.live.drops import DropLog, Dropped, classify_error
from disac_ros.live.pairing import Frame, FrameAssembler
from disac_ros.live.timing import StageTimes, execution_time, module_timer
from disac_ros.live.window import CollaboratorWindow
from disac_ros.models import link
from disac_ros.sim.labels import sensing_labels, state_to_world
from disac_ros.stamps import NS

ROOT = Path(__file__).resolve().parent.parent
N = 3
IMAGE = np.zeros((4, 4, 3), np.uint8)


def echo(value: float = 1.0) -> np.ndarray:
    return np.full((1, 2, 3), value, np.complex64)


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


# -- FrameAssembler -------------------------------------------------------------------------------------------
def test_pairs_image_and_all_echoes_of_one_stamp_in_any_order():
    fa = FrameAssembler(N)
    assert fa.add_echo(5 * NS, 2, echo(2)) is None
    assert fa.add_image(5 * NS, IMAGE) is None
    assert fa.add_echo(6 * NS, 0, echo(9)) is None  # another stamp interleaved
    assert fa.add_echo(5 * NS, 0, echo(0)) is None
    frame = fa.add_echo(5 * NS, 1, echo(1))
    assert frame is not None and frame.stamp == 5 * NS
    assert frame.echoes.shape == (N, 1, 2, 3) and frame.echoes.dtype == np.complex64
    assert [float(frame.echoes[n].real.mean()) for n in range(N)] == [0.0, 1.0, 2.0]
    assert fa.pending == 1  # stamp 6 still waits


def test_out_of_order_duplicate_and_stale_stamps_are_dropped():
    fa = FrameAssembler(N, stale_after_s=2.0)
    fa.add_image(10 * NS, IMAGE)
    for n in range(N):
        fa.add_echo(10 * NS, n, echo())
    with pytest.raises(Dropped) as exc:
        fa.add_image(10 * NS, IMAGE)
    assert exc.value.reason == "duplicate"
    with pytest.raises(Dropped) as exc:
        fa.add_echo(9 * NS, 0, echo())
    assert exc.value.reason == "out_of_order"
    with pytest.raises(Dropped) as exc:  # 3 s behind the newest stamp seen
        fa.add_image(7 * NS, IMAGE)
    assert exc.value.reason == "stale"
    with pytest.raises(Dropped) as exc:  # the clock (sim time) is the reference too
        FrameAssembler(N, stale_after_s=2.0).add_image(1 * NS, IMAGE, now_ns=5 * NS)
    assert exc.value.reason == "stale"
    with pytest.raises(Dropped) as exc:
        fa.add_echo(11 * NS, 7, echo())
    assert exc.value.reason == "unknown_target"


def test_buffer_is_bounded_and_a_completed_frame_discards_older_ones():
    fa = FrameAssembler(N, max_pending=2)
    for s in (1, 2, 3):
        fa.add_image(s * NS, IMAGE)
    assert fa.pending == 2 and fa.discarded == 1
    for n in range(N):
        frame = fa.add_echo(3 * NS, n, echo())
    assert frame.stamp == 3 * NS and fa.pending == 0 and fa.discarded == 2
    with pytest.raises(Dropped):
        fa.add_image(2 * NS, IMAGE)  # can never be emitted after 3


# -- CollaboratorWindow ---------------------------------------------------------------------------------------
def frame_at(s: float) -> Frame:
    return Frame(int(s * NS), IMAGE, np.stack([echo()] * N))


def send(window, device: str, s: float, snr: float = 10.0, dist: float = 30.0):
    out = []
    for n in range(N):
        out += window.add_code(device, int(s * NS), n, np.full((4, 8), n, np.float32), snr, dist)
    return out


def test_frame_is_released_when_every_collaborator_arrived():
    clock = FakeClock()
    w = CollaboratorWindow(["device_1", "device_2"], N, window_s=0.5, clock=clock)
    assert send(w, "device_1", 1.0) == []  # codes before the center frame are buffered
    assert w.add_frame(frame_at(1.0)) == []
    ready = send(w, "device_2", 1.0)
    assert len(ready) == 1 and not ready[0].timed_out
    assert sorted(ready[0].received) == ["device_1", "device_2"]
    rx = ready[0].received["device_1"]
    assert rx.codes.shape == (N, 4, 8) and rx.snr_db == 10.0 and rx.distance_m == 30.0
    assert [float(rx.codes[n].mean()) for n in range(N)] == [0.0, 1.0, 2.0]
    with pytest.raises(Dropped) as exc:
        send(w, "device_2", 1.0)
    assert exc.value.reason == "late"


def test_window_bounds_the_wait_and_a_dead_collaborator_is_not_waited_for():
    clock = FakeClock()
    w = CollaboratorWindow(["device_1", "device_2"], N, window_s=0.5, dead_after_s=3.0, clock=clock)
    for s in (1.0, 2.0):
        w.add_frame(frame_at(s))
        send(w, "device_1", s)
        assert len(send(w, "device_2", s)) == 1
    # device_2 dies: frame 3 waits at most the window, with device_1 only
    w.add_frame(frame_at(3.0))
    assert send(w, "device_1", 3.0) == []
    clock.t += 0.3
    assert w.poll() == []
    clock.t += 0.3
    (ready,) = w.poll()
    assert ready.timed_out and list(ready.received) == ["device_1"]
    # once device_2 has been silent for dead_after_s, frames no longer wait for it
    clock.t += 3.0
    assert send(w, "device_1", 4.0) == []  # device_1's codes come first this time
    assert w.live() == ["device_1"]
    (ready,) = w.add_frame(frame_at(4.0))
    assert not ready.timed_out and list(ready.received) == ["device_1"]
    # it is waited for again as soon as it is back
    send(w, "device_2", 5.0)
    assert w.live() == ["device_1", "device_2"]


def test_window_rejects_unknown_devices_and_codes_without_a_link():
    w = CollaboratorWindow(["device_1"], N, clock=FakeClock())
    with pytest.raises(Dropped) as exc:
        w.add_code("device_9", NS, 0, np.zeros((4, 8), np.float32), 10.0, 30.0)
    assert exc.value.reason == "unknown_device"
    with pytest.raises(Dropped) as exc:
        w.add_code("device_1", NS, 0, np.zeros((4, 8), np.float32), math.nan, 30.0)
    assert exc.value.reason == "invalid"
    w.add_frame(frame_at(10.0))
    with pytest.raises(Dropped) as exc:
        w.add_code("device_1", 5 * NS, 0, np.zeros((4, 8), np.float32), 10.0, 30.0)
    assert exc.value.reason == "stale"


def test_window_without_collaborators_releases_at_once_and_in_order():
    w = CollaboratorWindow([], N, clock=FakeClock())
    assert [r.frame.stamp for r in w.add_frame(frame_at(1.0))] == [NS]
    with pytest.raises(Dropped):
        w.add_frame(frame_at(0.5))


# -- link model -----------------------------------------------------------------------------------------------
def test_snr_schedule():
    assert link.snr_at(3.0, 12.0) == 12.0
    assert link.snr_at(2.5, 12.0, "sine", 5.0, 10.0) == pytest.approx(17.0)
    assert link.snr_at(7.5, 12.0, "sine", 5.0, 10.0) == pytest.approx(7.0)
    with pytest.raises(ValueError):
        link.snr_at(0.0, 12.0, "square")
    with pytest.raises(ValueError):
        link.snr_at(0.0, 12.0, "sine", 5.0, 0.0)


def test_link_statistics_follow_eqs_9_and_10():
    stats = link.link_budget(128, 20.0, 1.0, bandwidth_hz=1000.0, power_w=1.0)
    rate = 1000.0 * math.log2(1 + 100.0)                       # Eq. 9 with P H / N0 = 10^(20/10)
    assert stats["rate_bps"] == pytest.approx(rate)
    assert stats["delay_s"] == pytest.approx(128 * 8 / rate)   # Eq. 10
    assert stats["payload_bits"] == 1024 and stats["snr_db"] == 20.0
    gain = link.path_gain(40.0, reference_distance_m=20.0, exponent=2.0)
    assert gain == pytest.approx(0.25)
    far = link.link_budget(128, 20.0, gain)
    assert far["snr_db"] == pytest.approx(20.0 + 10 * math.log10(0.25))
    assert far["rate_bps"] == pytest.approx(1000.0 * math.log2(1 + 25.0))
    assert link.path_gain(40.0) == 1.0  # exponent 0: the paper's pure AWGN link


def test_channel_noise_matches_the_snr_and_equalisation_removes_the_gain():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((2000, 4, 8)).astype(np.float32)
    codes /= np.sqrt((codes ** 2).mean(axis=(1, 2), keepdims=True))      # what the encoder emits
    for gain in (1.0, 0.01):
        out = link.transmit_codes(codes, 10.0, gain, generator=torch.Generator().manual_seed(1))
        noise = ((out - codes) ** 2).mean()
        assert noise == pytest.approx(0.1, rel=0.05)                        # P_signal / 10^(10/10)
    again = link.transmit_codes(codes[:5], 10.0, generator=torch.Generator().manual_seed(3))
    assert np.array_equal(again, link.transmit_codes(codes[:5], 10.0, generator=torch.Generator().manual_seed(3)))
    assert np.allclose(link.transmit_codes(codes[:5], 0.0, lossless=True), codes[:5], atol=1e-6)
    with pytest.raises(ValueError):
        link.transmit_codes(np.full((1, 4, 8), np.nan, np.float32), 10.0)


# -- timings, drops, geometry ---------------------------------------------------------------------------------
def test_execution_time_is_the_slowest_device_eq_14():
    t, who = execution_time({
        "device_0": {"feature_extraction": 0.02, "aggregation": 0.001},
        "device_1": {"feature_extraction": 0.02, "encoding": 0.001, "transmission": 0.3, "decoding": 0.01,
                     "aggregation": 0.001},
        "device_2": {"feature_extraction": 0.02, "encoding": 0.001, "transmission": math.nan, "decoding": 0.01},
    })
    assert who == "device_1" and t == pytest.approx(0.332)
    times = StageTimes()
    for v in (0.01, 0.02, 0.03):
        times.add("decoding", v)
    assert times.last("decoding") == 0.03 and times.percentile("decoding", 50) == pytest.approx(0.02)
    assert "decoding 20.0/" in times.summary()


def test_module_timer_measures_forward_calls():
    torch = pytest.importorskip("torch")
    times = StageTimes()
    layer = torch.nn.Linear(3, 3)
    module_timer(layer, times, "encoding")
    layer(torch.zeros(1, 3))
    layer(torch.zeros(1, 3))
    assert times.count("encoding") == 2 and times.last("encoding") > 0


def test_drop_log_throttles_per_reason():
    clock = FakeClock()
    drops = DropLog(period_s=5.0, clock=clock)
    assert drops.drop("nan") and not drops.drop("nan") and drops.drop("stale")
    clock.t += 5.0
    assert drops.drop("nan") and drops.counts["nan"] == 3
    assert drops.summary() == "nan 3, stale 1"


@pytest.mark.parametrize("message, reason", [
    ("image encoding 'mono8' not supported; expected one of ('rgb8', 'bgr8')", "encoding"),
    ("image is 32x32, expected 64x64", "size"),
    ("echo of device_1/0 contains NaN or inf samples", "nan"),
    ("image must be uint8 [64, 64, 3], got uint8 [32, 32, 3]", "size"),
])
def test_conversion_errors_map_to_drop_reasons(message, reason):
    assert classify_error(message) == reason


def test_state_to_world_inverts_eqs_55_to_57():
    center = np.array([-13.0, -12.0, 9.0])
    target = np.array([3.0, -2.0, 0.75])
    lab = sensing_labels(center, target, np.zeros(3))
    back = state_to_world(center, lab["distance"], lab["azimuth"], lab["pitch"])
    assert np.allclose(back, target)


# -- the shared launch description ----------------------------------------------------------------------------
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


def _tables() -> dict[str, tuple]:
    """Each executable's parameter table (``PARAMETERS`` of its node module)."""
    from disac_ros.nodes import aggregator, channel, device_encoder, genesis_bridge

    return {m.__name__.rsplit(".", 1)[-1]: m.PARAMETERS for m in (genesis_bridge, device_encoder, channel, aggregator)}


def _declared(executable: str) -> set[str]:
    return {p.name for p in _tables()[executable]}


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


def test_parameter_tables_are_well_formed():
    from disac_ros.live.params import NoDefault, Param

    for executable, table in _tables().items():
        names = [p.name for p in table]
        assert len(names) == len(set(names)), executable
        for p in table:
            assert p.description and isinstance(p, Param)
            numeric = isinstance(p.default, int | float) and not isinstance(p.default, bool | NoDefault)
            assert (p.range is not None) == numeric, f"{executable}.{p.name}: a number needs a range"
    with pytest.raises(ValueError, match="outside its range"):
        Param("x", 5.0, "d", (0.0, 1.0))
    with pytest.raises(ValueError, match="numeric default"):
        Param("x", "a", "d", (0.0, 1.0))


# -- topic names ----------------------------------------------------------------------------------------------
def test_topic_names_are_relative_and_resolve_to_the_graph_topics():
    assert topics.device_topic("device_1", topics.IMAGE) == "device_1/camera/image_raw"
    assert topics.device_topic("", topics.TX) == "semantic/tx"  # in the node's own namespace
    assert topics.absolute(topics.device_topic("device_1", topics.RX)) == "/device_1/semantic/rx"
    assert topics.absolute(topics.TARGETS) == "/targets" and topics.absolute(topics.CLOCK) == "/clock"
    names = [v for k, v in vars(topics).items() if k.isupper() and isinstance(v, str)]
    assert all(not n.startswith("/") for n in names if n != topics.CLOCK)
    with pytest.raises(ValueError):
        topics.absolute(" ")


# -- the nodes in-process: parameters as their tables, relative topics ----------------------------------------
_INT64 = (-(2**63), 2**63 - 1)


def _assert_declared_as_table(node, table) -> None:
    """The node declared exactly its table: names, descriptions, read-only flags and ranges."""
    declared = set(node.list_parameters([], 0).names) - {"use_sim_time", "start_type_description_service"}
    assert declared == {p.name for p in table}
    for p, d in zip(table, node.describe_parameters([p.name for p in table]), strict=True):
        assert (d.name, d.description, d.read_only) == (p.name, p.description, p.read_only)
        if p.range is None:
            assert not d.floating_point_range and not d.integer_range, p.name
        elif isinstance(p.default, int):
            (r,) = d.integer_range
            expected = tuple(_INT64[i] if math.isinf(v) else v for i, v in enumerate(p.range))
            assert (r.from_value, r.to_value) == expected and not d.floating_point_range, p.name
        else:
            (r,) = d.floating_point_range
            assert (r.from_value, r.to_value) == p.range and not d.integer_range, p.name


class _FakeRun:
    """What the encoder and the aggregator use of a loaded run (LLMDiSAC), without a model."""

    device_ids = ["device_0", "device_1", "device_2"]
    center = "device_0"
    target_classes = [0, 1, 2]
    image_shape, echo_shape, code_shape = (4, 4, 3), (1, 2, 3), (4, 8)
    model_cfg = types.SimpleNamespace(scheme="llm_disac")
    run = types.SimpleNamespace(check_scene=lambda scene, num_devices=None: None)  # any scene is the run's scene

    def device_model(self, device_id):
        import torch

        return types.SimpleNamespace(uses_link=True, rvfn=torch.nn.Identity(), encoder=torch.nn.Identity(),
                                     decoder=torch.nn.Identity())

    def center_model(self):
        import torch

        return torch.nn.Identity()


@pytest.fixture
def fake_run(monkeypatch):
    import disac_ros.inference

    monkeypatch.setattr(disac_ros.inference.LLMDiSAC, "load", lambda run: _FakeRun())


def _topics(node) -> tuple[set[str], set[str]]:
    """(subscribed, published) resolved topic names of an in-process node."""
    return {s.topic_name for s in node.subscriptions}, {p.topic_name for p in node.publishers}


def test_device_encoder_follows_its_namespace_and_remaps(rclpy_context, fake_run):
    from rclpy.parameter import Parameter

    from disac_ros.nodes.device_encoder import PARAMETERS, DeviceEncoder

    overrides = [Parameter("device_id", value="device_1"), Parameter("run", value="fake")]
    node = DeviceEncoder(namespace="/robot_7", parameter_overrides=overrides,
                         cli_args=["--ros-args", "-r", "camera/image_raw:=/elsewhere/image"])
    try:
        subscribed, published = _topics(node)
        assert subscribed == {"/elsewhere/image", "/robot_7/radar/echo"}
        assert {"/robot_7/semantic/tx", "/robot_7/semantic/timing"} <= published
        _assert_declared_as_table(node, PARAMETERS)
    finally:
        node.destroy_node()
    node = DeviceEncoder(namespace="/device_2", parameter_overrides=overrides)  # as the launchers start it
    try:
        assert _topics(node)[0] == {"/device_2/camera/image_raw", "/device_2/radar/echo"}
    finally:
        node.destroy_node()


def test_channel_declares_its_table_and_checks_runtime_changes(rclpy_context):
    from rclpy.parameter import Parameter

    from disac_ros.nodes.channel import PARAMETERS, RUNTIME, Channel

    node = Channel(parameter_overrides=[Parameter("preset", value="smoke"), Parameter("center", value="device_0"),
                                        Parameter("devices", value=["device_1", "device_2"])])
    try:
        _assert_declared_as_table(node, PARAMETERS)
        assert set(RUNTIME) == {"snr_db", "snr_profile", "snr_amplitude_db", "snr_period_s", "bandwidth_hz",
                                "power_w", "lossless"}
        subscribed, published = _topics(node)
        assert subscribed == {"/device_1/semantic/tx", "/device_2/semantic/tx"}
        assert {"/device_1/semantic/rx", "/device_2/link/stats"} <= published
        assert node.set_parameters([Parameter("snr_db", value=5.0)])[0].successful and node.link["snr_db"] == 5.0
        (bad,) = node.set_parameters([Parameter("bandwidth_hz", value=0.0)])  # in the range, refused by check_link
        assert not bad.successful and "bandwidth_hz" in bad.reason and node.link["bandwidth_hz"] == 1000.0
        sine = node.set_parameters_atomically([Parameter("snr_profile", value="sine"),
                                               Parameter("snr_period_s", value=0.0)])
        assert not sine.successful and node.link["snr_profile"] == "constant"
        assert not node.set_parameters([Parameter("seed", value=3)])[0].successful  # read-only
    finally:
        node.destroy_node()
    from disac_ros.nodes.spin import ConfigError

    with pytest.raises(ConfigError, match="out of range"):  # the range of the table, at start
        Channel(parameter_overrides=[Parameter("snr_db", value=150.0)])


def test_aggregator_declares_its_table_and_names_device_topics(rclpy_context, fake_run):
    from rclpy.parameter import Parameter

    from disac_ros.nodes.aggregator import PARAMETERS, Aggregator

    node = Aggregator(parameter_overrides=[Parameter("run", value="fake"), Parameter("preset", value="smoke")])
    try:
        _assert_declared_as_table(node, PARAMETERS)
        subscribed, published = _topics(node)
        assert subscribed == {"/device_0/camera/image_raw", "/device_0/radar/echo", "/ground_truth/targets",
                              *(f"/device_{k}/{t}" for k in (1, 2) for t in ("semantic/rx", "semantic/timing",
                                                                            "link/stats"))}
        assert {"/targets", "/targets/markers"} <= published
    finally:
        node.destroy_node()


def test_genesis_bridge_declares_its_table(rclpy_context, monkeypatch):
    from rclpy.parameter import Parameter

    import disac_ros.sim.scene
    from disac_ros.nodes.genesis_bridge import PARAMETERS, GenesisBridge

    class FakeScene:
        def __init__(self, cfg, backend):
            self.cfg = cfg

        def intrinsics(self, device_id):
            return np.eye(3)

        def close(self):
            pass

    monkeypatch.setattr(disac_ros.sim.scene, "GenesisScene", FakeScene)
    node = GenesisBridge(parameter_overrides=[Parameter("preset", value="smoke"), Parameter("num_devices", value=2)])
    try:
        _assert_declared_as_table(node, PARAMETERS)
        assert {"/clock", "/device_1/camera/image_raw", "/device_1/camera/camera_info", "/device_1/radar/echo",
                "/ground_truth/targets", "/scene/markers"} <= _topics(node)[1]
    finally:
        node.close()
        node.destroy_node()


# -- launch file, disac launch, RViz --------------------------------------------------------------------------
class _Recorder:
    """Stands in for a launch / launch_ros class and records how it was built."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class _LaunchConfiguration(_Recorder):
    def perform(self, context):
        return context[self.args[0]]


def _fake_launch_modules(monkeypatch, share: Path) -> None:
    fakes = {
        "launch": {"LaunchDescription": _Recorder},
        "launch.actions": {"DeclareLaunchArgument": _Recorder, "OpaqueFunction": _Recorder},
        "launch.conditions": {"IfCondition": _Recorder},
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


def test_launch_file_calls_the_shared_description():
    tree = ast.parse((ROOT / "launch" / "disac.launch.py").read_text())
    imports = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert ("disac_ros.launch_description", "describe") in imports
    assert ("launch_ros.actions", "Node") in imports
    calls = [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert "describe" in calls


def test_disac_launch_dry_run_prints_the_described_commands(capsys):
    from disac_ros.cli import main

    assert main(["launch", "--preset", "smoke", "--num-devices", "3", "--run", "/runs/x", "--dry-run",
                 "--set", "channel.snr_db=7.5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    specs = describe(preset="smoke", num_devices=3, run="/runs/x", overrides={"channel": {"snr_db": 7.5}})
    assert len(lines) == len(specs)
    for line, spec in zip(lines, specs, strict=True):
        assert f"-m {spec.module} " in line and " ".join(spec.ros_arguments()) in line
    assert '-p snr_db:=7.5' in lines[3] and '-p devices:=' + json.dumps(["device_1", "device_2"]) in lines[3]


def test_launch_overrides_parse():
    from disac_ros.launch_description import parse_overrides

    assert parse_overrides(["channel.snr_db=10", "device_1/device_encoder.run=/r", "aggregator.devices=[a, b]"]) == {
        "channel": {"snr_db": 10}, "device_1/device_encoder": {"run": "/r"}, "aggregator": {"devices": ["a", "b"]}}
    with pytest.raises(ValueError):
        parse_overrides(["snr_db=10"])


def test_rviz_config_shows_cameras_and_markers_in_world():
    rviz = yaml.safe_load((ROOT / "config" / "disac.rviz").read_text())
    manager = rviz["Visualization Manager"]
    assert manager["Global Options"]["Fixed Frame"] == "world"
    displays = manager["Displays"]
    classes = [d["Class"] for d in displays]
    assert classes.count("rviz_default_plugins/Grid") == 1
    images = {d["Topic"]["Value"] for d in displays if d["Class"] == "rviz_default_plugins/Image"}
    assert images == {f"/device_{k}/camera/image_raw" for k in range(4)}
    markers = {d["Topic"]["Value"] for d in displays if d["Class"] == "rviz_default_plugins/MarkerArray"}
    assert markers == {"/scene/markers", "/targets/markers"}
    assert all(c.startswith(("rviz_default_plugins/", "rviz_common/"))
               for c in classes + [p["Class"] for p in rviz["Panels"]])
