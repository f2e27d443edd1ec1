"""``genesis_bridge``: runs the Genesis scene of ``disac generate`` live and publishes what the devices sense.

Publishes, per frame k (sim time t = k / fps, the dataset's frame rate, whatever the wall-clock ``rate_hz``):

* ``/clock`` (rosgraph_msgs/Clock, best effort): t. The bridge is the graph's time source; its own timer runs
  on the steady clock, so it works with or without ``use_sim_time``;
* per device ``/<dev>/camera/image_raw`` (sensor_msgs/Image, rgb8) and ``/<dev>/camera/camera_info``,
  ``/<dev>/radar/echo`` (disac_ros/RadarEcho, one per target, all stamped t), sensor-data QoS;
* ``/ground_truth/targets`` (disac_ros/TargetStateArray): Eqs. (55)-(58) relative to the aggregation center
  (the first device), SI units;
* ``/scene/markers`` (visualization_msgs/MarkerArray, frame ``world``): devices (pose and viewing direction),
  obstacles and targets.

Targets follow :func:`disac_ros.sim.motion.sample_trajectories` (uniform linear motion, reflected at the region
boundary, so a trajectory never ends); a new set is drawn every ``resample_every_s`` of sim time (0: never),
from ``rng([seed, 10**6 + i])`` so the live sequences are never the dataset's (which use ``rng([seed, i])``).
"""
from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
from rclpy.clock import Clock, ClockType
from rclpy.node import Node

from disac_ros.nodes.common import (
    CLASS_RGB,
    CLOCK_QOS,
    RELIABLE_QOS,
    SENSOR_QOS,
    ConfigError,
    camera_info_topic,
    declare,
    echo_topic,
    image_topic,
    marker,
    spin,
)

LIVE_SEED_OFFSET = 10**6


def scene_markers(cfg, positions: np.ndarray, yaws: np.ndarray, stamp):
    """MarkerArray of the static scene (devices with viewing direction, obstacles) and the targets' boxes."""
    from geometry_msgs.msg import Point
    from visualization_msgs.msg import Marker, MarkerArray

    from disac_ros.sim.motion import target_size

    out = MarkerArray()
    for i, dev in enumerate(cfg.devices):
        p, look = np.asarray(dev.position), np.asarray(dev.lookat)
        rgba = (0.9, 0.1, 0.9, 1.0) if i == 0 else (0.1, 0.8, 0.9, 1.0)
        out.markers.append(marker("devices", i, Marker.CUBE, p, (0.6, 0.6, 0.6), rgba, stamp))
        arrow = marker("device_view", i, Marker.ARROW, (0, 0, 0), (0.15, 0.3, 0.3), rgba, stamp)
        tip = p + 3.0 * (look - p) / max(np.linalg.norm(look - p), 1e-9)
        arrow.points = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])),
                        Point(x=float(tip[0]), y=float(tip[1]), z=float(tip[2]))]
        out.markers.append(arrow)
        label = f"{dev.id} (center)" if i == 0 else dev.id
        out.markers.append(marker("device_labels", i, Marker.TEXT_VIEW_FACING, p + (0, 0, 1.0), (0, 0, 0.8),
                                  (1, 1, 1, 1), stamp, text=label))
    for i, ob in enumerate(cfg.obstacles):
        x, y = ob.position
        if ob.type == "building":
            sx, sy, sz = ob.size
            out.markers.append(marker("obstacles", 2 * i, Marker.CUBE, (x, y, sz / 2), (sx, sy, sz),
                                      (0.7, 0.66, 0.6, 0.8), stamp))
        else:
            radius, _, total = ob.size
            trunk = total - radius
            out.markers.append(marker("obstacles", 2 * i, Marker.CYLINDER, (x, y, trunk / 2),
                                      (0.3 * radius, 0.3 * radius, trunk), (0.4, 0.28, 0.18, 1.0), stamp))
            out.markers.append(marker("obstacles", 2 * i + 1, Marker.SPHERE, (x, y, total - radius),
                                      (2 * radius, 2 * radius, 2 * radius), (0.2, 0.45, 0.18, 0.8), stamp))
    for n, tgt in enumerate(cfg.targets):
        size = target_size(tgt.type, tgt.scale)
        out.markers.append(marker("targets", n, Marker.CUBE, positions[n], size, (*CLASS_RGB[tgt.type], 0.9),
                                  stamp, yaw=float(yaws[n])))
        out.markers.append(marker("target_labels", n, Marker.TEXT_VIEW_FACING, positions[n] + (0, 0, 1.5),
                                  (0, 0, 0.7), (1, 1, 1, 1), stamp, text=f"{n}: {tgt.type}"))
    return out


class GenesisBridge(Node):
    def __init__(self, **kwargs):
        super().__init__("genesis_bridge", **kwargs)
        from disac_ros.config import CONFIG_DIR, load_scene

        scene_config = declare(self, "scene_config", str(CONFIG_DIR / "scene.yaml"),
                               "scene YAML (the one `disac generate` reads)", read_only=True)
        preset = declare(self, "preset", "", "preset applied to the scene (smoke, default, paper; empty: none)",
                         read_only=True)
        rate_hz = declare(self, "rate_hz", 0.0, "frames published per wall-clock second (0: the scene's fps)",
                          read_only=True)
        seed = declare(self, "seed", -1, "seed of the live trajectories and radar noise (-1: the scene's seed)",
                       read_only=True)
        num_devices = declare(self, "num_devices", 0, "use the first N devices of the scene (0: all)",
                              read_only=True)
        backend = declare(self, "backend", "auto", "Genesis backend: auto, cpu or cuda", read_only=True)
        self.resample_every_s = declare(self, "resample_every_s", 0.0,
                                        "draw new target trajectories every this many sim seconds (0: never)",
                                        read_only=True)
        try:
            cfg = load_scene(scene_config or None, preset or None)
        except (ValueError, FileNotFoundError) as exc:
            raise ConfigError(f"scene_config {scene_config!r} / preset {preset!r}: {exc}") from exc
        if not 0 <= num_devices <= len(cfg.devices):
            raise ConfigError(f"num_devices must be 0..{len(cfg.devices)}, got {num_devices}")
        if num_devices:
            cfg = cfg.model_copy(update={"devices": list(cfg.devices[:num_devices])})
        self.cfg = cfg
        self.seed = cfg.seed if seed < 0 else seed
        self.fps = cfg.dataset.fps
        self.rate_hz = rate_hz if rate_hz > 0 else self.fps
        self.frame = 0
        self._sequence: int | None = None
        self._trajectories = None

        from rosgraph_msgs.msg import Clock as ClockMsg
        from sensor_msgs.msg import CameraInfo, Image
        from visualization_msgs.msg import MarkerArray

        from disac_ros.msg import RadarEcho, TargetStateArray

        self.clock_pub = self.create_publisher(ClockMsg, "/clock", CLOCK_QOS)
        ids = [d.id for d in cfg.devices]
        self.image_pubs = {d: self.create_publisher(Image, image_topic(d), SENSOR_QOS) for d in ids}
        self.info_pubs = {d: self.create_publisher(CameraInfo, camera_info_topic(d), SENSOR_QOS) for d in ids}
        self.echo_pubs = {d: self.create_publisher(RadarEcho, echo_topic(d), SENSOR_QOS) for d in ids}
        self.truth_pub = self.create_publisher(TargetStateArray, "/ground_truth/targets", RELIABLE_QOS)
        self.marker_pub = self.create_publisher(MarkerArray, "/scene/markers", RELIABLE_QOS)

        self.get_logger().info(f"building the Genesis scene: {len(ids)} devices {ids}, "
                               f"{cfg.camera.width}x{cfg.camera.height}, {len(cfg.targets)} targets")
        t0 = time.monotonic()
        # Everything step() needs is imported before Genesis starts its renderer: importing torch's compiler
        # stack (triton, via disac_ros.inference) after the EGL/llvmpipe context exists crashes the process.
        import disac_ros.data.generate  # noqa: F401
        import disac_ros.ros.convert  # noqa: F401
        from disac_ros.sim.scene import GenesisScene

        self.scene = GenesisScene(cfg, backend=backend)
        if not self.context.ok():  # SIGINT/SIGTERM while the scene was being built
            raise KeyboardInterrupt
        self.intrinsics = {d: self.scene.intrinsics(d) for d in ids}
        self.get_logger().info(f"scene built in {time.monotonic() - t0:.1f} s; publishing at {self.rate_hz:g} Hz "
                               f"(sim {self.fps:g} frames/s)")
        self._times: list[float] = []
        self._last_summary = time.monotonic()
        # The bridge is the time source: its timer must not wait for the /clock it publishes itself.
        self.timer = self.create_timer(1.0 / self.rate_hz, self.step, clock=Clock(clock_type=ClockType.STEADY_TIME))

    def _targets_at(self, frame: int):
        from disac_ros.sim.motion import sample_trajectories

        t = frame / self.fps
        period = self.resample_every_s
        sequence = int(t // period) if period > 0 else 0
        if sequence != self._sequence:
            rng = np.random.default_rng([self.seed, LIVE_SEED_OFFSET + sequence])
            self._trajectories, self._sequence = sample_trajectories(self.cfg, rng), sequence
        local = t - sequence * period if period > 0 else t
        trajs = self._trajectories
        return (np.array([tr.position(local) for tr in trajs]), np.array([tr.velocity(local) for tr in trajs]),
                np.array([tr.yaw(local) for tr in trajs]), sequence)

    def step(self) -> None:
        """Render and publish one frame."""
        from rosgraph_msgs.msg import Clock as ClockMsg

        from disac_ros.config import CLASSES
        from disac_ros.data.generate import frame_labels_and_echoes
        from disac_ros.ros.convert import camera_info, echo_to_msg, image_to_msg, states_to_msg, to_time

        t0 = time.monotonic()
        cfg, frame = self.cfg, self.frame
        self.frame += 1
        positions, velocities, yaws, sequence = self._targets_at(frame)
        self.scene.set_targets(positions, yaws)
        views = self.scene.render()
        labels, echoes = frame_labels_and_echoes(
            cfg, positions, velocities, np.random.default_rng([self.seed, LIVE_SEED_OFFSET + sequence, frame]))
        stamp = to_time(frame / self.fps)
        self.clock_pub.publish(ClockMsg(clock=stamp))
        for k, dev in enumerate(cfg.devices):
            rgb = views[dev.id].rgb
            self.image_pubs[dev.id].publish(image_to_msg(rgb, stamp, f"{dev.id}_camera"))
            self.info_pubs[dev.id].publish(camera_info(self.intrinsics[dev.id], rgb.shape[1], rgb.shape[0], stamp,
                                                       f"{dev.id}_camera"))
            for n in range(len(cfg.targets)):
                self.echo_pubs[dev.id].publish(echo_to_msg(echoes[k, n], cfg.radar, dev.id, n, stamp,
                                                           f"{dev.id}_radar"))
        truth = []
        for n, tgt in enumerate(cfg.targets):
            cls = CLASSES.index(tgt.type)
            d, az, pitch, v = (float(x) for x in labels[0, n])
            truth.append(SimpleNamespace(target_id=n, class_id=cls, label=tgt.type,
                                         class_probabilities=[float(i == cls) for i in range(len(CLASSES))],
                                         distance=d, azimuth=az, pitch=pitch, radial_velocity=v,
                                         contributing_devices=[]))
        self.truth_pub.publish(states_to_msg(truth, stamp, cfg.devices[0].id))
        self.marker_pub.publish(scene_markers(cfg, positions, yaws, stamp))
        took = time.monotonic() - t0
        self._times.append(took)
        self.get_logger().debug(f"frame {frame} (t = {frame / self.fps:.3f} s) rendered and published in "
                                f"{1e3 * took:.1f} ms")
        if time.monotonic() - self._last_summary >= 10.0 and self._times:
            self.get_logger().info(f"{len(self._times)} frames in the last "
                                   f"{time.monotonic() - self._last_summary:.0f} s, render+publish p50 "
                                   f"{1e3 * float(np.median(self._times)):.0f} ms; sim time {frame / self.fps:.2f} s")
            self._times, self._last_summary = [], time.monotonic()

    def close(self) -> None:
        scene = getattr(self, "scene", None)
        if scene is not None:
            scene.close()
            self.scene = None


def main(args: list[str] | None = None) -> int:
    return spin(GenesisBridge, args)


if __name__ == "__main__":
    raise SystemExit(main())
