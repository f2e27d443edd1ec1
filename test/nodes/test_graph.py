"""disac_ros.nodes end to end: the live graph, started once for the module from `disac launch` (smoke preset, 3
devices, the smoke run).

In order: /targets carries the three targets with finite values stamped with the sim clock; malformed inputs are
logged and dropped while the nodes keep publishing; killing a collaborator's encoder leaves /targets running with
fewer contributors; Ctrl-C stops the rest without a traceback.
"""
from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field

import numpy as np
import pytest
from procs import DISAC, start, stop

# Load torch's compiler stack (torchvision -> torch._dynamo -> triton) before the session's Genesis scene starts its
# EGL/llvmpipe renderer in this process (smoke_data): importing it afterwards crashes (SIGSEGV in triton's loader),
# which the smoke_run fixture's training would do when this module runs alone.
import disac_ros.inference  # noqa: F401
from disac_ros.config import load_scene
from disac_ros.topics import (
    CLOCK,
    DIAGNOSTICS,
    ECHO,
    IMAGE,
    RX,
    SCENE_MARKERS,
    TARGET_MARKERS,
    TARGETS,
    TF_STATIC,
    TX,
    absolute,
    device_topic,
)

pytestmark = pytest.mark.slow

DEVICES = ["device_0", "device_1", "device_2"]
FPS = 8.0                     # smoke preset
FIRST_TARGETS_TIMEOUT = 300   # s: includes Genesis' kernel compilation when its cache is cold


@dataclass
class Graph:
    proc: subprocess.Popen
    node: object
    lines: list[str]
    targets: list = field(default_factory=list)     # (monotonic time, TargetStateArray)
    tx: list = field(default_factory=list)          # (monotonic time, SemanticCode) on /device_1/semantic/tx
    rx: list = field(default_factory=list)          # (monotonic time, SemanticCode) on /device_1/semantic/rx
    clock: list = field(default_factory=list)       # sim seconds
    markers: dict = field(default_factory=dict)     # topic -> last MarkerArray
    diagnostics: dict = field(default_factory=dict)  # node name -> last DiagnosticStatus
    tf_static: list = field(default_factory=list)   # TFMessage on /tf_static
    frames: dict = field(default_factory=dict)      # topic -> header.frame_id of an image / echo / estimate
    pubs: dict = field(default_factory=dict)
    started: float = 0.0
    first_targets_s: float | None = None

    def spin_until(self, condition, timeout: float, what: str) -> None:
        import rclpy

        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                tail = "\n".join(self.lines[-40:])
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; launch output:\n{tail}")
            if self.proc.poll() is not None:
                pytest.fail(f"disac launch exited with {self.proc.returncode}:\n" + "\n".join(self.lines[-40:]))
            rclpy.spin_once(self.node, timeout_sec=0.1)

    def output(self, label: str) -> str:
        return "\n".join(line for line in self.lines if line.startswith(f"[{label}]"))

    def pid(self, label: str) -> int:
        for line in self.lines:
            m = re.match(rf"\[launch\] started {re.escape(label)} \(pid (\d+)\)", line)
            if m:
                return int(m.group(1))
        raise AssertionError(f"no pid for {label}")


def _device_1(name: str) -> str:
    return absolute(device_topic("device_1", name))


@pytest.fixture(scope="module")
def graph(smoke_run, rclpy_context):
    import rclpy
    from disac_ros.msg import RadarEcho, SemanticCode, TargetStateArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image
    from visualization_msgs.msg import MarkerArray

    started = time.monotonic()
    proc, lines = start([*DISAC, "launch", "--preset", "smoke", "--num-devices", "3", "--run", str(smoke_run),
                         "--grace", "15", "--set", "aggregator.summary_period_s=5.0",
                         "--set", "genesis_bridge.rate_hz=4.0"])
    node = rclpy.create_node("graph_test")
    g = Graph(proc, node, lines, started=started)
    node.create_subscription(TargetStateArray, absolute(TARGETS), lambda m: g.targets.append((time.monotonic(), m)),
                             50)
    node.create_subscription(SemanticCode, _device_1(TX), lambda m: g.tx.append((time.monotonic(), m)), 50)
    node.create_subscription(SemanticCode, _device_1(RX), lambda m: g.rx.append((time.monotonic(), m)), 50)
    for topic in (absolute(SCENE_MARKERS), absolute(TARGET_MARKERS)):
        node.create_subscription(MarkerArray, topic, lambda m, topic=topic: g.markers.__setitem__(topic, m), 10)
    from diagnostic_msgs.msg import DiagnosticArray

    node.create_subscription(DiagnosticArray, DIAGNOSTICS,
                             lambda m: g.diagnostics.update({st.name: st for st in m.status}), 50)
    node.create_subscription(Clock, CLOCK, lambda m: g.clock.append(m.clock.sec + m.clock.nanosec * 1e-9),
                             QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
    from tf2_msgs.msg import TFMessage

    from disac_ros.ros.qos import TF_STATIC_QOS

    node.create_subscription(TFMessage, TF_STATIC, g.tf_static.append, TF_STATIC_QOS)
    for msgtype, topic in ((Image, absolute(device_topic("device_0", IMAGE))),
                           (RadarEcho, absolute(device_topic("device_0", ECHO)))):
        node.create_subscription(msgtype, topic, lambda m, topic=topic: g.frames.__setitem__(topic, m.header.frame_id),
                                 qos_profile_sensor_data)
    g.pubs = {"image": node.create_publisher(Image, _device_1(IMAGE), qos_profile_sensor_data),
              "echo": node.create_publisher(RadarEcho, _device_1(ECHO), qos_profile_sensor_data),
              "rx": node.create_publisher(SemanticCode, _device_1(RX), 10)}
    try:
        yield g
    finally:
        stop(proc)
        node.destroy_node()
        print("\n".join(lines[-30:]))


def _stamp(msg) -> float:
    return msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9


def test_targets_follow_the_sim_clock(graph):
    graph.spin_until(lambda: len(graph.targets) >= 1, FIRST_TARGETS_TIMEOUT, "the first /targets")
    graph.first_targets_s = time.monotonic() - graph.started
    graph.spin_until(lambda: len(graph.targets) >= 8, 60, "8 /targets messages")
    t_first, t_last = graph.targets[0][0], graph.targets[-1][0]
    rate = (len(graph.targets) - 1) / (t_last - t_first)
    print(f"\nfirst /targets {graph.first_targets_s:.1f} s after `disac launch`; {rate:.2f} /targets per s")
    stamps = [_stamp(m) for _, m in graph.targets]
    assert stamps == sorted(set(stamps)), "estimates must be stamped in increasing sim time"
    assert all(abs(s * FPS - round(s * FPS)) < 1e-6 for s in stamps), "stamps are frame times k / fps"
    assert graph.clock, "no /clock received"
    assert stamps[-1] <= max(graph.clock) + 1e-9 and max(graph.clock) - stamps[-1] < 2.0, \
        f"last estimate at {stamps[-1]} s, sim clock at {max(graph.clock)} s"
    for _, msg in graph.targets:
        assert msg.reference_device_id == "device_0" and len(msg.targets) == 3
        assert [t.target_id for t in msg.targets] == [0, 1, 2]
        for t in msg.targets:
            values = [t.distance, t.azimuth, t.pitch, t.radial_velocity, *t.class_probabilities]
            assert all(math.isfinite(v) for v in values), t
            assert t.label in ("car", "dog", "drone") and abs(sum(t.class_probabilities) - 1) < 1e-4
    assert list(graph.targets[-1][1].targets[0].contributing_devices) == DEVICES
    # RViz: the scene (3 devices, obstacles, 3 targets) and the estimates next to the ground truth, in `world`
    graph.spin_until(lambda: len(graph.markers) == 2, 30, "/scene/markers and /targets/markers")
    scene = load_scene(preset="smoke")
    obstacles = sum(1 if ob.type == "building" else 2 for ob in scene.obstacles)  # a tree: trunk and canopy
    for topic, expected in (("/scene/markers", {"devices": 3, "targets": 3, "obstacles": obstacles}),
                            ("/targets/markers", {"estimates": 3, "truth": 3, "errors": 3})):
        markers = graph.markers[topic].markers
        assert {m.header.frame_id for m in markers} == {"world"}
        counts = {ns: sum(m.ns == ns for m in markers) for ns in expected}
        assert counts == expected, (topic, counts)


def test_every_node_reports_on_diagnostics(graph):
    from diagnostic_msgs.msg import DiagnosticStatus

    nodes = {"/genesis_bridge", "/device_1/device_encoder", "/device_2/device_encoder", "/channel", "/aggregator"}
    graph.spin_until(lambda: nodes <= set(graph.diagnostics), 30, "a /diagnostics status from every node")
    for name in nodes:
        status = graph.diagnostics[name]
        assert status.level in (DiagnosticStatus.OK, DiagnosticStatus.WARN), (name, status.message)
        assert status.values, name
    values = {kv.key: kv.value for kv in graph.diagnostics["/aggregator"].values}
    assert float(values["targets_published_per_s"]) > 0 and values["collaborators"] == "device_1,device_2"
    assert float({kv.key: kv.value for kv in graph.diagnostics["/channel"].values}["snr_db.device_1"]) > -50


def test_tf_static_places_every_device_frame(graph):
    """/tf_static (latched) holds each device's frame and its camera's and radar's, the frames the sensors are
    stamped in; the camera's optical axis and the radar's boresight point at the device's ``lookat``."""
    from scipy.spatial.transform import Rotation

    graph.spin_until(lambda: graph.tf_static and len(graph.frames) == 2, 30, "/tf_static and device_0's sensors")
    tf = {t.child_frame_id: t for t in graph.tf_static[-1].transforms}
    assert set(tf) == {f"{d}{suffix}" for d in DEVICES for suffix in ("", "_camera", "_radar")}
    assert set(graph.frames.values()) == {"device_0_camera", "device_0_radar"}
    assert graph.targets[-1][1].header.frame_id == "device_0" and tf["device_0"].header.frame_id == "world"
    scene = load_scene(preset="smoke")
    for dev in scene.devices[:3]:
        def pose(child):
            t = tf[child].transform
            return (np.array([t.translation.x, t.translation.y, t.translation.z]),
                    Rotation.from_quat([t.rotation.x, t.rotation.y, t.rotation.z, t.rotation.w]).as_matrix())
        origin, _ = pose(dev.id)
        assert np.allclose(origin, dev.position) and tf[f"{dev.id}_camera"].header.frame_id == dev.id
        to_lookat = np.asarray(dev.lookat) - np.asarray(dev.position)
        for child, axis in ((f"{dev.id}_camera", 2), (f"{dev.id}_radar", 0)):  # optical z, array x
            offset, rotation = pose(child)
            local = rotation.T @ (to_lookat - offset)
            assert local[axis] > 0 and np.allclose(np.delete(local, axis), 0, atol=1e-3 * np.linalg.norm(local)), \
                (child, local)


def test_rviz_config_matches_the_graph(graph):
    """Every display of the RViz config for the graph's devices finds its topic, message type and a QoS it can
    receive; the fixed frame is the markers' frame. The shipped config/disac.rviz is the same for four devices."""
    from rclpy.qos import DurabilityPolicy, ReliabilityPolicy

    from disac_ros.ros import rviz

    config = rviz.rviz_config(DEVICES)
    shown = rviz.displays(config)
    assert {d.topic for d in shown if d.cls.endswith("/Image")} == {absolute(device_topic(d, IMAGE)) for d in DEVICES}
    for display in shown:
        graph.spin_until(lambda topic=display.topic: graph.node.get_publishers_info_by_topic(topic), 30,
                         f"a publisher of {display.topic} ({display.name})")
        for info in graph.node.get_publishers_info_by_topic(display.topic):
            assert info.topic_type == display.msgtype, (display, info.topic_type)
            qos = info.qos_profile
            if display.reliable:
                assert qos.reliability == ReliabilityPolicy.RELIABLE, (display.name, qos)
            if display.transient_local:
                assert qos.durability == DurabilityPolicy.TRANSIENT_LOCAL, (display.name, qos)
    graph.spin_until(lambda: len(graph.markers) == 2, 30, "/scene/markers and /targets/markers")
    frames = {m.header.frame_id for array in graph.markers.values() for m in array.markers}
    assert frames == {rviz.fixed_frame(config)}


def test_malformed_inputs_are_logged_and_dropped(graph):
    import rclpy
    from disac_ros.msg import SemanticCode
    from sensor_msgs.msg import Image

    from disac_ros.ros.convert import echo_to_msg, to_time

    graph.spin_until(lambda: graph.clock and graph.clock[-1] > 3.0, 60, "sim time > 3 s")
    now = graph.clock[-1]
    from disac_ros.config import load_scene

    radar = load_scene(preset="smoke").radar
    shape = (radar.num_chirps, radar.num_antennas, radar.num_samples)

    def image(encoding: str, size: int | tuple[int, int], stamp: float, channels: int = 3) -> Image:
        width, height = (size, size) if isinstance(size, int) else size
        msg = Image(height=height, width=width, encoding=encoding, step=channels * width)
        msg.header.stamp = to_time(stamp)
        msg.data = bytes(channels * width * height)
        return msg

    camera = load_scene(preset="smoke").camera

    nan_echo = echo_to_msg(np.full(shape, np.nan, np.complex64), radar, "device_1", 0, to_time(now + 0.5), "r")
    alien_echo = echo_to_msg(np.zeros(shape, np.complex64), radar, "device_9", 0, to_time(now + 0.5), "r")
    alien_code = SemanticCode(device_id="device_7", target_id=0, length=4, dim=8, symbols=[0.0] * 32, snr_db=10.0,
                              distance_m=30.0, payload_bytes=128)
    alien_code.header.stamp = to_time(now)
    encoder = "device_1/device_encoder"
    inputs = [("image", image("mono8", 64, now + 0.5, channels=1), encoder, "dropped (encoding)"),
              ("image", image("rgb8", 32, now + 0.5), encoder, "dropped (size)"),
              ("echo", nan_echo, encoder, "dropped (nan)"), ("echo", alien_echo, encoder, "dropped (unknown_device)"),
              ("image", image("rgb8", (camera.width, camera.height), 0.0), encoder, "dropped (stale)"),
              ("rx", alien_code, "aggregator", "dropped (unknown_device)")]
    tx_before = len(graph.tx)
    targets_before = len(graph.targets)
    for topic, msg, label, text in inputs:
        # The nodes keep the newest frame only (keep last 1 image, N echoes): a bridge frame arriving while the
        # encoder is busy replaces a test message before it is read, so send each until its warning shows.
        deadline = time.monotonic() + 30
        while text not in graph.output(label):
            assert time.monotonic() < deadline, f"no {text!r} from {label} within 30 s"
            graph.pubs[topic].publish(msg)
            for _ in range(4):
                rclpy.spin_once(graph.node, timeout_sec=0.05)
    encoder_log = graph.output(encoder)
    assert "WARN" in encoder_log and "image encoding 'mono8' not supported" in encoder_log
    # ... and every node keeps working
    graph.spin_until(lambda: len(graph.tx) >= tx_before + 6 and len(graph.targets) >= targets_before + 3, 60,
                     "codes and estimates after the malformed inputs")
    assert graph.proc.poll() is None
    assert "exited unexpectedly" not in "\n".join(graph.lines)
    assert list(graph.targets[-1][1].targets[0].contributing_devices) == DEVICES


def test_channel_fills_the_link_and_its_snr_can_change_at_run_time(graph):
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters

    graph.spin_until(lambda: len(graph.rx) >= 3, 60, "codes on /device_1/semantic/rx")
    msg = graph.rx[-1][1]
    from disac_ros.models.link import link_distances

    distance = link_distances(load_scene(preset="smoke"), "device_0", ["device_1"])["device_1"]  # config/scene.yaml
    assert msg.snr_db == pytest.approx(20.0) and msg.distance_m == pytest.approx(distance, abs=0.1)
    assert msg.payload_bytes == 4 * 8 * 4 and msg.length == 4 and msg.dim == 8
    client = graph.node.create_client(SetParameters, "/channel/set_parameters")
    graph.spin_until(lambda: client.service_is_ready(), 30, "the channel's parameter service")
    future = client.call_async(SetParameters.Request(parameters=[Parameter(
        name="snr_db", value=ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=5.0))]))
    graph.spin_until(future.done, 30, "set_parameters")
    assert future.result().results[0].successful
    changed = time.monotonic()
    graph.spin_until(lambda: any(t > changed + 0.5 and m.snr_db == pytest.approx(5.0) for t, m in graph.rx), 30,
                     "codes at the new SNR")
    graph.node.destroy_client(client)


#: Seconds a burst of malformed input lasts (before the fix, one of 30 s left the stride at 4-5 and /targets at
#: 1.2 per s ten seconds after it), the recovery time promised after it (``disac_ros.live.stride``: at most ten
#: seconds at the default rate) and the windows the rate is measured over before and after.
BURST_S, RECOVERY_S, RATE_WINDOW_S = 30.0, 10.0, 10.0


def _targets_rate(graph, seconds: float) -> float:
    t0 = time.monotonic()
    graph.spin_until(lambda: time.monotonic() - t0 >= seconds, seconds + 30, f"{seconds:g} s of /targets")
    return sum(1 for t, _ in graph.targets if t >= t0) / seconds


def test_the_service_recovers_after_a_burst_of_malformed_input(graph):
    """A burst of bad images, echoes and codes for one device: dropped, never congestion; the rate comes back."""
    import rclpy
    from disac_ros.msg import SemanticCode
    from sensor_msgs.msg import Image

    from disac_ros.ros.convert import echo_to_msg, to_time

    graph.spin_until(lambda: len(graph.targets) >= 1, FIRST_TARGETS_TIMEOUT, "/targets")
    before = _targets_rate(graph, RATE_WINDOW_S)
    radar = load_scene(preset="smoke").radar
    shape = (radar.num_chirps, radar.num_antennas, radar.num_samples)
    t_end = time.monotonic() + BURST_S
    sent = 0
    while time.monotonic() < t_end:
        now = graph.clock[-1] if graph.clock else 0.0
        stamp = to_time(now)
        bad_image = Image(height=64, width=64, encoding="mono8", step=64, data=bytes(64 * 64))
        bad_image.header.stamp = stamp
        bad_code = SemanticCode(device_id="device_1", target_id=0, length=4, dim=8, symbols=[float("nan")] * 32,
                                snr_db=10.0, distance_m=30.0, payload_bytes=128)
        bad_code.header.stamp = stamp
        short_code = SemanticCode(device_id="device_1", target_id=1, length=4, dim=8, symbols=[0.0] * 7,
                                  snr_db=10.0, distance_m=30.0, payload_bytes=128)
        short_code.header.stamp = stamp
        graph.pubs["image"].publish(bad_image)
        graph.pubs["echo"].publish(echo_to_msg(np.full(shape, np.nan, np.complex64), radar, "device_1", 0, stamp,
                                               "r"))
        graph.pubs["rx"].publish(bad_code)
        graph.pubs["rx"].publish(short_code)
        sent += 4
        rclpy.spin_once(graph.node, timeout_sec=0.05)
    graph.spin_until(lambda: time.monotonic() - t_end >= RECOVERY_S, RECOVERY_S + 30, "the recovery time")
    after = _targets_rate(graph, RATE_WINDOW_S)
    strides = [line for line in graph.lines if "frame stride" in line]
    print(f"\n/targets per s: {before:.2f} before a {BURST_S:g} s burst of {sent} malformed messages, {after:.2f} "
          f"{RECOVERY_S:g} s after it; stride changes: {strides[-5:]}")
    assert after >= 0.9 * before, f"/targets {before:.2f} -> {after:.2f} per s after the burst; {strides[-5:]}"
    assert graph.proc.poll() is None and "exited unexpectedly" not in "\n".join(graph.lines)


def test_dead_collaborator_does_not_stop_targets(graph):
    graph.spin_until(lambda: len(graph.targets) >= 1, FIRST_TARGETS_TIMEOUT, "/targets")
    os.kill(graph.pid("device_2/device_encoder"), signal.SIGKILL)
    killed = time.monotonic()

    def fewer() -> list:
        return [m for t, m in graph.targets if t > killed and
                list(m.targets[0].contributing_devices) == ["device_0", "device_1"]]

    graph.spin_until(lambda: len(fewer()) >= 4, 60, "/targets without device_2")
    after = [t for t, _ in graph.targets if t > killed]
    gaps = np.diff(after)
    assert gaps.max() < 5.0, f"/targets stalled for {gaps.max():.1f} s after the collaborator died"
    assert "device_2/device_encoder exited unexpectedly" in graph.output("launch")
    assert "no codes from ['device_2']" in graph.output("aggregator")
    assert all(len(m.targets) == 3 for m in fewer())


def test_ctrl_c_stops_the_graph_cleanly(graph):
    graph.proc.send_signal(signal.SIGINT)
    status = graph.proc.wait(timeout=90)
    time.sleep(0.5)
    text = "\n".join(graph.lines)
    assert status == 1, "a node died on its own during the run, so disac launch reports failure"
    assert "Traceback" not in text, text[-3000:]
    assert "still running: SIGTERM" not in text, "a node ignored SIGINT for the whole grace period"
    for label in ("genesis_bridge", "device_1/device_encoder", "channel", "aggregator"):
        assert re.search(rf"\[launch\] {re.escape(label)} stopped \d+\.\d+ s after SIGINT\n", text + "\n"), \
            f"{label} did not stop cleanly"
    print("\n".join(line for line in graph.lines if "after SIGINT" in line))
