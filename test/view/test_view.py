"""disac_ros.view and ``disac view``: the conversion on hand-made messages, and the web viewer in a real browser.

The browser test records a short bag from the real Genesis bridge (in-process, smoke preset, the session's scene;
the model's half, /targets, link stats and timings, made up from the truth), runs ``disac view --bag BAG
--screenshot`` (the Rerun web viewer on 127.0.0.1, headless Chromium with its software rasterizer) and checks the
screenshot's pixels. It is skipped, saying why, only when rerun-sdk or Chromium is not installed
(``scripts/install-view.sh`` installs both).
"""
from __future__ import annotations

import math
import subprocess
import sys
import time

import numpy as np
import pytest

from disac_ros.config import RadarConfig
from disac_ros.stamps import NS
from disac_ros.view import maps

DEVICES = ["device_0", "device_1", "device_2", "device_3"]
FRAMES = 4
SIZE = (1280, 800)  # screenshot [px]


def _stamp(seconds: float):
    from disac_ros.ros.convert import to_time

    return to_time(seconds)


# ---------------------------------------------------------------------------------------------------- unit tests


def _echo_msg(radar: RadarConfig, seconds: float = 1.0, **target):
    from disac_ros.ros.convert import echo_to_msg
    from disac_ros.sim.radar import synthesize_echo

    echo = synthesize_echo(radar, rcs=10.0, noise=False, **target)
    return echo_to_msg(echo, radar, "device_0", 0, _stamp(seconds), "device_0_radar")


def test_a_synthetic_echo_peaks_in_its_range_doppler_and_angle_bins():
    """Range bin 2 R F_s / c, Doppler row C/2 + mu T_c C, and the beam of its angles, oriented as the camera sees."""
    from disac_ros.config import C

    radar = RadarConfig(num_chirps=8, chirp_interval=500e-6)
    wavelength = C / radar.carrier_frequency
    v = wavelength / (2 * radar.chirp_interval * radar.num_chirps)   # one Doppler bin: mu T_c C = 1
    theta = math.asin(0.5)                                             # s sin(theta) = 1/4: one beam down
    phi = math.asin(0.5 / math.cos(theta))                            # s sin(phi) cos(theta) = 1/4: one beam right
    rd, angle = maps.radar_maps(maps.radar_power(_echo_msg(radar, slant_range=30.0, azimuth=phi, pitch=theta,
                                                          radial_velocity=v)))
    assert rd.shape == (8, radar.num_samples) and angle.shape == (4, 4)
    assert np.unravel_index(np.argmax(rd), rd.shape) == (4 + 1, round(2 * 30.0 * radar.sampling_frequency / C))
    assert np.unravel_index(np.argmax(angle), angle.shape) == (2, 2)   # boresight is (1, 1): below and right
    _, boresight = maps.radar_maps(maps.radar_power(_echo_msg(radar, slant_range=30.0, azimuth=0.0, pitch=0.0,
                                                              radial_velocity=0.0)))
    assert np.unravel_index(np.argmax(boresight), boresight.shape) == (1, 1)
    assert angle.max() - np.median(angle) > 10  # a peak, not a flat map


def test_a_known_point_projects_onto_the_expected_pixel():
    K = np.array([[100.0, 0, 32], [0, 100.0, 32], [0, 0, 1]])
    pose = maps.optical_pose([0.0, 0.0, 1.0], [1.0, 0.0, 0.0])   # at 1 m height, looking along +x
    points = [[10.0, -1.0, 1.0],   # 1 m to the right at 10 m: 10 px right of the centre
              [10.0, 0.0, 0.0],    # 1 m below: 10 px down
              [-5.0, 0.0, 1.0],    # behind the camera
              [10.0, 5.0, 1.0]]    # far left: outside the 64 px image
    pixels, inside = maps.to_pixels(points, K, pose, 64, 64)
    assert inside.tolist() == [True, True, False, False]
    assert np.allclose(pixels[:2], [[42.0, 32.0], [32.0, 42.0]])


class FakeStream:
    """Records what a ViewRecording logs: (sim time [ns] or None for static, entity path, archetype)."""

    def __init__(self):
        self.time, self.logged = None, []

    def set_time(self, timeline, duration):
        assert timeline == "sim_time"
        self.time = int(duration / np.timedelta64(1, "ns"))

    def log(self, path, archetype, static=False):
        self.logged.append((None if static else self.time, path, archetype))

    def paths(self) -> set[str]:
        return {p for _, p, _ in self.logged}

    def last(self, path):
        return next(a for _, p, a in reversed(self.logged) if p == path)


def _column(archetype, field: str) -> np.ndarray:
    return np.asarray(getattr(archetype, field).as_arrow_array().to_pylist())


def test_the_recording_draws_every_topic_at_its_stamp_and_prefers_tf_static(smoke_cfg):
    """Markers, /targets, camera info and image with the projections, echo maps, link stats and timings, on the
    sim-time timeline; the camera pose from the scene markers until /tf_static has one; wrong types are skipped."""
    pytest.importorskip("rerun", reason="rerun-sdk is not installed: scripts/install-view.sh")
    from types import SimpleNamespace

    from disac_ros.ros.convert import camera_info, image_to_msg, states_to_msg, stats_to_msg, timing_to_msg
    from disac_ros.ros.markers import scene_markers
    from disac_ros.sim.labels import sensing_labels
    from disac_ros.view.recording import ViewRecording

    cfg, t = smoke_cfg, _stamp(0.5)
    stream = FakeStream()
    view = ViewRecording(stream, cfg)
    positions = np.array([[2.0, 1.0, 0.5], [-3.0, 2.0, 0.3], [0.0, -4.0, 5.0]])
    dev = cfg.devices[0]
    seen = sensing_labels(np.asarray(dev.position), positions, np.zeros_like(positions))  # estimates = the truth
    states = [SimpleNamespace(target_id=n, label=tg.type, class_id=0, class_probabilities=[1.0],
                              distance=seen["distance"][n], azimuth=seen["azimuth"][n], pitch=seen["pitch"][n],
                              radial_velocity=0.0, contributing_devices=["device_0", "device_1"])
              for n, tg in enumerate(cfg.targets)]
    budget = dict(payload_bytes=128, payload_bits=1024, snr_db=7.5, gain=1.0, noise_power_w=0.1, rate_bps=3e3,
                  delay_s=0.3)
    K = np.array([[60.0, 0, 32], [0, 60.0, 32], [0, 0, 1]])
    msgs = [("/device_0/camera/camera_info", "sensor_msgs/msg/CameraInfo", camera_info(K, 64, 64, t, "d0_camera")),
            ("/device_0/camera/image_raw", "sensor_msgs/msg/Image",
             image_to_msg(np.full((64, 64, 3), 90, np.uint8), t, "device_0_camera")),
            ("/scene/markers", "visualization_msgs/msg/MarkerArray", scene_markers(cfg, positions, np.zeros(3), t)),
            ("/device_0/radar/echo", "disac_ros/msg/RadarEcho",
             _echo_msg(cfg.radar, 0.5, slant_range=20.0, azimuth=0.0, pitch=0.0, radial_velocity=0.0)),
            ("/device_1/link/stats", "disac_ros/msg/LinkStats", stats_to_msg("device_1", t, "d1", 0, 30.0, budget)),
            ("/device_1/semantic/timing", "disac_ros/msg/EncoderTiming",
             timing_to_msg("device_1", t, "device_1_radar", 0.012, math.nan)),
            ("/device_1/link/stats", "std_msgs/msg/Float64MultiArray", SimpleNamespace()),
            ("/targets", "disac_ros/msg/TargetStateArray", states_to_msg(states, t, dev.id))]
    results = [view.log(*m) for m in msgs]
    assert results == [True] * (len(msgs) - 2) + [False, True] and len(view.skipped) == 1
    assert {"world/ground", "world/scene/devices/boxes", "world/scene/device_view/arrows",
            "world/scene/obstacles/boxes", "world/scene/targets/boxes", "world/device_0/camera",
            "world/device_0/camera/image", "world/device_0/camera/truth", "world/device_0/camera/estimates",
            "world/targets", "world/targets/devices", "radar/device_0/angle", "radar/device_0/range_doppler",
            "link/snr_db/device_1", "link/payload_bytes/device_1", "timing/t_ft_ms/device_1"} <= stream.paths()
    assert "timing/t_se_ms/device_1" not in stream.paths()                 # NaN: not measured
    assert {ts for ts, p, _ in stream.logged if p.startswith(("world/device_0/camera/", "radar/", "link/"))} \
        - {None} == {NS // 2}
    # the estimates (= the truth here, relative to device_0) land on the true targets, in the world and in the image
    assert np.allclose(_column(stream.last("world/targets"), "positions"), positions, atol=1e-4)
    assert np.allclose(_column(stream.last("world/device_0/camera/truth"), "positions"),
                       _column(stream.last("world/device_0/camera/estimates"), "positions"), atol=1e-3)
    # the camera pose: the scene markers' view of device_0 until /tf_static says otherwise
    from scipy.spatial.transform import Rotation

    from disac_ros.ros.frames import tf_static

    assert np.allclose(view.pose("device_0_camera")[0], maps.optical_pose(dev.position,
                                                                          np.subtract(dev.lookat, dev.position))[0])
    turned = Rotation.from_euler("z", 30, degrees=True).as_matrix()
    extrinsics = {d.id: np.eye(4) for d in cfg.devices}
    extrinsics["device_0"][:3, :3] = turned.T
    extrinsics["device_0"][:3, 3] = -turned.T @ np.asarray(dev.position)
    assert view.log("/tf_static", "tf2_msgs/msg/TFMessage", tf_static(cfg, extrinsics, _stamp(0.0)))
    rotation, translation = view.pose("device_0_camera")
    assert np.allclose(rotation, turned) and np.allclose(translation, dev.position)
    assert np.allclose(view.pose("device_0")[1], dev.position)
    assert np.allclose(_column(stream.last("world/device_0/camera"), "mat3x3").reshape(3, 3).T, turned, atol=1e-6)


def test_the_live_view_subscribes_like_rviz(rclpy_context, smoke_cfg):
    """``view_live`` hears the latched /tf_static sent before it started, sensor-QoS images and reliable markers."""
    pytest.importorskip("rerun", reason="rerun-sdk is not installed: scripts/install-view.sh")
    import threading

    import rclpy
    from sensor_msgs.msg import Image
    from tf2_msgs.msg import TFMessage
    from visualization_msgs.msg import MarkerArray

    from disac_ros.ros.convert import image_to_msg
    from disac_ros.ros.frames import tf_static
    from disac_ros.ros.markers import scene_markers
    from disac_ros.ros.qos import RELIABLE_QOS, SENSOR_QOS, TF_STATIC_QOS
    from disac_ros.view.live import view_live
    from disac_ros.view.recording import ViewRecording

    cfg = smoke_cfg
    node = rclpy.create_node("view_test_publisher")
    tf_pub = node.create_publisher(TFMessage, "/tf_static", TF_STATIC_QOS)
    image_pub = node.create_publisher(Image, "/device_1/camera/image_raw", SENSOR_QOS)
    marker_pub = node.create_publisher(MarkerArray, "/scene/markers", RELIABLE_QOS)
    extrinsics = {d.id: np.eye(4) for d in cfg.devices}
    tf_pub.publish(tf_static(cfg, extrinsics, _stamp(0.0)))
    stop = threading.Event()

    def publish() -> None:
        k = 0
        while not stop.is_set():
            t = _stamp(0.125 * k)
            image_pub.publish(image_to_msg(np.zeros((8, 8, 3), np.uint8), t, "device_1_camera"))
            marker_pub.publish(scene_markers(cfg, np.zeros((3, 3)), np.zeros(3), t))
            k += 1
            time.sleep(0.1)

    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    stream = FakeStream()
    view = ViewRecording(stream, None)
    try:
        count = view_live(view, ["device_0", "device_1"], len(cfg.targets), duration=4.0)
    finally:
        stop.set()
        publisher.join()
        node.destroy_node()
    assert count > 3 and not view.skipped
    assert {"world/device_1/camera/image", "world/scene/targets/boxes"} <= stream.paths()
    assert np.allclose(view.pose("device_1_camera")[0], np.eye(3))  # from /tf_static, not the markers


def test_the_install_script_is_a_fast_no_op_once_installed():
    from pathlib import Path

    pytest.importorskip("rerun", reason="rerun-sdk is not installed: scripts/install-view.sh")
    from disac_ros.view.serve import chromium

    if chromium() is None:
        pytest.skip("chromium is not installed: scripts/install-view.sh installs it as root")
    script = Path(__file__).resolve().parents[2] / "scripts" / "install-view.sh"
    started = time.monotonic()
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr
    assert time.monotonic() - started < 5.0


# ---------------------------------------------------------------------------------------------------- the browser


def _msgtype(msg) -> str:
    return f"{type(msg).__module__.split('.')[0]}/msg/{type(msg).__name__}"


@pytest.fixture(scope="session")
def smoke_bag(rclpy_context, smoke_cfg, smoke_scene, tmp_path_factory):
    """A bag of the real Genesis bridge (in-process, smoke preset, 4 devices, :data:`FRAMES` frames) with
    made-up estimates, link stats and timings; and the images it holds."""
    from types import SimpleNamespace

    from rclpy.parameter import Parameter
    from rclpy.serialization import serialize_message

    import disac_ros.sim.scene
    from disac_ros.nodes.genesis_bridge import GenesisBridge
    from disac_ros.ros.bags import BagWriter
    from disac_ros.ros.convert import msg_to_image, states_to_msg, stats_to_msg, timing_to_msg
    from disac_ros.ros.frames import tf_static
    from disac_ros.ros.markers import estimate_markers

    published: list = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(disac_ros.sim.scene, "GenesisScene", lambda cfg, backend="auto": smoke_scene)
        node = GenesisBridge(parameter_overrides=[Parameter("preset", value="smoke")])
    try:
        node.timer.cancel()
        for pub in node.publishers:
            pub.publish = lambda msg, topic=pub.topic_name: published.append((topic, msg))
        published.append(("/tf_static", tf_static(smoke_cfg, {d: smoke_scene.extrinsics(d) for d in DEVICES},
                                                  _stamp(0.0))))
        for _ in range(FRAMES):
            node.step()
            truth = next(m for t, m in reversed(published) if t == "/ground_truth/targets")
            stamp = truth.header.stamp
            states = [SimpleNamespace(target_id=s.target_id, class_id=s.class_id, label=s.label,
                                      class_probabilities=s.class_probabilities, distance=s.distance + 1.0,
                                      azimuth=s.azimuth + 0.05, pitch=s.pitch, radial_velocity=s.radial_velocity,
                                      contributing_devices=DEVICES[:3]) for s in truth.targets]
            published.append(("/targets", states_to_msg(states, stamp, "device_0")))
            published.append(("/targets/markers", estimate_markers(states, truth, np.asarray(
                smoke_cfg.devices[0].position), stamp)))
            for k, dev in enumerate(DEVICES[1:3]):
                published.append((f"/{dev}/semantic/timing", timing_to_msg(dev, stamp, f"{dev}_radar", 0.02, 0.004)))
                budget = dict(payload_bytes=128, payload_bits=1024.0, snr_db=5.0 + k + stamp.nanosec / 1e9, gain=1.0,
                              noise_power_w=0.3, rate_bps=2e3, delay_s=0.5)
                published.append((f"/{dev}/link/stats", stats_to_msg(dev, stamp, dev, 0, 30.0, budget)))
    finally:
        node.scene = None  # the session's scene stays open for the other tests
        node.destroy_node()
    bag = tmp_path_factory.mktemp("view") / "smoke"
    with BagWriter(bag) as writer:
        for i, (topic, msg) in enumerate(published):
            if topic not in writer.topics:
                writer.add_topic(topic, _msgtype(msg))
            writer.write(topic, 1_800_000_000 * NS + i * 1000, serialize_message(msg))
    images = {t: msg_to_image(m) for t, m in published if t.endswith("/camera/image_raw")}
    return SimpleNamespace(path=bag, topics=writer.topics, images=images)


@pytest.mark.slow
def test_the_camera_pose_from_the_scene_markers_is_genesis_own(smoke_cfg, smoke_scene):
    """The fallback pose (position and viewing direction) is the renderer's camera (its extrinsics, OpenCV axes)."""
    for dev in smoke_cfg.devices:
        rotation, translation = maps.optical_pose(dev.position, np.subtract(dev.lookat, dev.position))
        extrinsics = smoke_scene.extrinsics(dev.id)
        assert np.allclose(rotation.T, extrinsics[:3, :3], atol=1e-5)
        assert np.allclose(-rotation.T @ translation, extrinsics[:3, 3], atol=1e-4)


def _close(rgb: np.ndarray, colour, tolerance: int) -> np.ndarray:
    return np.all(np.abs(rgb.astype(np.int16) - np.asarray(colour, np.int16)) <= tolerance, axis=-1)


@pytest.mark.slow
def test_disac_view_renders_a_bag_in_headless_chromium(smoke_bag, tmp_path):
    """The served viewer shows the recording: (a) at least 150 colours, 4-bit quantised (the viewer's loading page
    has 40, a blank or failed page 2, a drawn recording about 600), (b) the camera images: their most common colour
    (the sky) within 12 per channel covers at least 0.5 % of the screenshot, (c) the radar maps: at least 30 pixels
    within 30 per channel of viridis' top colour (a map's peak)."""
    pytest.importorskip("rerun", reason="rerun-sdk is not installed: scripts/install-view.sh")
    from PIL import Image

    from disac_ros.view.serve import chromium, colour_count

    if chromium() is None:
        pytest.skip("chromium is not installed: scripts/install-view.sh (apt-get install chromium)")
    assert {f"/{d}/{name}" for d in DEVICES for name in ("camera/image_raw", "camera/camera_info", "radar/echo")} \
        | {"/tf_static", "/scene/markers", "/targets", "/targets/markers"} <= set(smoke_bag.topics)
    out = tmp_path / "view.png"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "disac_ros.cli", "view", "--bag", str(smoke_bag.path), "--screenshot",
                           str(out), "--size", f"{SIZE[0]}x{SIZE[1]}"], capture_output=True, text=True, timeout=400)
    took = time.monotonic() - started
    print(proc.stdout, proc.stderr[-2000:], f"disac view --screenshot took {took:.0f} s", sep="\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Rerun web viewer: http://127.0.0.1:" in proc.stdout and "skipped" not in proc.stdout
    rgb = np.asarray(Image.open(out).convert("RGB"))
    assert rgb.shape == (SIZE[1], SIZE[0], 3)
    assert colour_count(rgb) >= 150, colour_count(rgb)
    camera = smoke_bag.images["/device_0/camera/image_raw"]
    values, counts = np.unique(camera.reshape(-1, 3), axis=0, return_counts=True)
    sky = values[np.argmax(counts)]
    assert np.mean(_close(rgb, sky, 12)) >= 0.005, (sky, np.mean(_close(rgb, sky, 12)))
    assert np.sum(_close(rgb, (253, 231, 37), 30)) >= 30
