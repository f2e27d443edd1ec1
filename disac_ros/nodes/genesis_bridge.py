"""``genesis_bridge``: runs the Genesis scene of ``disac generate`` live and publishes what the devices sense.

Publishes, per frame k (sim time t = k / fps, the dataset's frame rate, whatever the wall-clock ``rate_hz``), with
the relative names of :mod:`disac_ros.topics` (``/device_1/camera/image_raw`` in the root namespace):

* ``/clock`` (rosgraph_msgs/Clock, best effort): t. The bridge is the graph's time source; its own timer runs
  on the steady clock, so it works with or without ``use_sim_time``;
* per device ``<dev>/camera/image_raw`` (sensor_msgs/Image, rgb8) and ``<dev>/camera/camera_info``,
  ``<dev>/radar/echo`` (disac_ros/RadarEcho, one per target, all stamped t), sensor-data QoS;
* ``ground_truth/targets`` (disac_ros/TargetStateArray): Eqs. (55)-(58) relative to the aggregation center
  (the first device), SI units;
* ``scene/markers`` (visualization_msgs/MarkerArray, frame ``world``, :func:`disac_ros.ros.markers.scene_markers`):
  devices (pose and viewing direction), obstacles and targets;
* once, latched: ``/tf_static`` (tf2_msgs/TFMessage): each device's frame and its radar's and camera's
  (:mod:`disac_ros.ros.frames`), the frames the images, echoes and estimates are stamped in.

Targets follow the dataset's motion model: live sequence i is
:func:`disac_ros.sim.motion.sequence_trajectories` ``(cfg, seed, sequence_offset + i)`` (speeds, drone altitudes
and size variants drawn per sequence, paths turning and steering clear of the obstacles, reflected at the region's
edge), so with the default offset (:data:`LIVE_SEED_OFFSET`) the live sequences are never the dataset's (sequence
i there is ``(cfg, seed, i)``); ``sequence_offset`` 0 replays the dataset's own sequences, frame for frame: the
same trajectories, radar noise and camera noise, drawn from (seed, sequence, frame within the sequence) as the
generator draws them. A new set is drawn
every ``resample_every_s`` of sim time: by default (-1) every dataset sequence duration, so what the graph sees is
what the model was trained on; 0: never (beyond the dataset duration the targets then go straight on, reflected
at the region's edge but no longer steering around obstacles). Each frame's labels, echoes and path losses come
from :func:`disac_ros.data.generate.frame_sensing`, the generator's own per-frame physics, and the scene shows each
target's drawn size variant, under the sequence's camera condition (clear, fog or low light:
:func:`disac_ros.sim.conditions.sequence_condition`, the same draw as the dataset's for the same sequence index).
"""
from __future__ import annotations

import math
import time
from types import SimpleNamespace

import numpy as np
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import CameraInfo, Image
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from disac_ros.live.drops import DropLog
from disac_ros.live.params import PRESET, Param, one_of, scene_config
from disac_ros.msg import RadarEcho, TargetStateArray
from disac_ros.nodes.diagnostics import Diagnostics
from disac_ros.nodes.loading import load_scene_config
from disac_ros.nodes.params import declare_all
from disac_ros.nodes.spin import ConfigError, exit_process, spin
from disac_ros.ros.convert import camera_info, echo_to_msg, image_to_msg, states_to_msg, to_time
from disac_ros.ros.frames import camera_frame, radar_frame, tf_static
from disac_ros.ros.markers import scene_markers
from disac_ros.ros.qos import CLOCK_QOS, RELIABLE_QOS, SENSOR_QOS, TF_STATIC_QOS
from disac_ros.topics import CAMERA_INFO, CLOCK, ECHO, GROUND_TRUTH, IMAGE, SCENE_MARKERS, TF_STATIC, device_topic

#: Seed index of live sequence 0 by default: far from every dataset sequence index.
LIVE_SEED_OFFSET = 10**6

PARAMETERS = (
    scene_config("the scene `disac generate` reads"),
    PRESET,
    Param("rate_hz", 0.0, "frames published per wall-clock second [Hz] (0: the scene's fps)", (0.0, 1000.0)),
    Param("seed", -1, "seed of the live trajectories and radar noise (-1: the scene's seed)", (-1, 2**32 - 1)),
    Param("num_devices", 0, "use the first N devices of the scene (0: all)", (0, 256)),
    Param("backend", "auto", "Genesis backend: auto, cpu or cuda", check=one_of(("auto", "cpu", "cuda"))),
    Param("resample_every_s", -1.0, "draw new target trajectories every this many sim seconds [s] (< 0: every "
          "dataset sequence duration, 0: never)", (-1.0, 1e6)),
    Param("sequence_offset", LIVE_SEED_OFFSET, "seed index of live sequence 0 (default 10^6: never a dataset "
          "sequence; 0: the dataset's sequences again, as the generator rendered them)", (0, 2**31 - 1)),
)


class GenesisBridge(Node):
    def __init__(self, **kwargs):
        super().__init__("genesis_bridge", **kwargs)
        values = declare_all(self, PARAMETERS)
        cfg = load_scene_config(values["scene_config"], values["preset"])
        num_devices = values["num_devices"]
        if not 0 <= num_devices <= len(cfg.devices):
            raise ConfigError(f"num_devices must be 0..{len(cfg.devices)}, got {num_devices}")
        if num_devices:
            cfg = cfg.model_copy(update={"devices": list(cfg.devices[:num_devices])})
        self.cfg = cfg
        self.seed = cfg.seed if values["seed"] < 0 else values["seed"]
        self.sequence_offset = values["sequence_offset"]
        period = values["resample_every_s"]
        #: Sim seconds per live sequence (0: one endless sequence).
        self.resample_every_s = cfg.dataset.duration if period < 0 else period
        self.fps = cfg.dataset.fps
        self.rate_hz = values["rate_hz"] if values["rate_hz"] > 0 else self.fps
        self.frame = 0
        self._sequence: int | None = None
        self._trajectories = None

        self.clock_pub = self.create_publisher(ClockMsg, CLOCK, CLOCK_QOS)
        ids = [d.id for d in cfg.devices]
        self.image_pubs = {d: self.create_publisher(Image, device_topic(d, IMAGE), SENSOR_QOS) for d in ids}
        self.info_pubs = {d: self.create_publisher(CameraInfo, device_topic(d, CAMERA_INFO), SENSOR_QOS) for d in ids}
        self.echo_pubs = {d: self.create_publisher(RadarEcho, device_topic(d, ECHO), SENSOR_QOS) for d in ids}
        self.truth_pub = self.create_publisher(TargetStateArray, GROUND_TRUTH, RELIABLE_QOS)
        self.marker_pub = self.create_publisher(MarkerArray, SCENE_MARKERS, RELIABLE_QOS)

        self.get_logger().info(f"building the Genesis scene: {len(ids)} devices {ids}, "
                               f"{cfg.camera.width}x{cfg.camera.height}, {len(cfg.targets)} targets")
        t0 = time.monotonic()
        # Everything step() needs is imported before Genesis starts its renderer: importing torch's compiler
        # stack (triton, via disac_ros.inference) after the EGL/llvmpipe context exists crashes the process.
        import disac_ros.data.generate  # noqa: F401
        from disac_ros.sim.scene import GenesisScene

        self.scene = GenesisScene(cfg, backend=values["backend"])
        if not self.context.ok():  # SIGINT/SIGTERM while the scene was being built
            raise KeyboardInterrupt
        self.intrinsics = {d: self.scene.intrinsics(d) for d in ids}
        self.tf_pub = self.create_publisher(TFMessage, TF_STATIC, TF_STATIC_QOS)
        self.tf_pub.publish(tf_static(cfg, {d: self.scene.extrinsics(d) for d in ids}, to_time(0.0)))
        self.get_logger().info(f"scene built in {time.monotonic() - t0:.1f} s; publishing at {self.rate_hz:g} Hz "
                               f"(sim {self.fps:g} frames/s)")
        self._times: list[float] = []
        self._last_summary = time.monotonic()
        self._last_took = math.nan
        self.diagnostics = Diagnostics(self, lambda: {"devices": len(ids), "sim_time_s": self.frame / self.fps,
                                                      "render_publish_ms": 1e3 * self._last_took,
                                                      "rate_hz": self.rate_hz},
                                       lambda: {"frames_published": self.frame}, DropLog())
        # The bridge is the time source: its timer must not wait for the /clock it publishes itself.
        self.timer = self.create_timer(1.0 / self.rate_hz, self.step, clock=Clock(clock_type=ClockType.STEADY_TIME))

    def trajectories(self, sequence: int):
        """The targets' trajectories of live sequence ``sequence`` (drawn once, then kept until the next one)."""
        from disac_ros.sim.motion import sequence_trajectories

        if sequence != self._sequence:
            period = self.resample_every_s
            # Turns and obstacle checks cover the live sequence when it is longer than the dataset's.
            duration = period if period > self.cfg.dataset.duration else None
            self._trajectories = sequence_trajectories(self.cfg, self.seed, self.sequence_offset + sequence,
                                                       duration)
            self._sequence = sequence
        return self._trajectories

    def _targets_at(self, frame: int):
        """Positions, velocities [N, 3], yaws [N], the trajectories, the sequence of ``frame`` and its index there."""
        t = frame / self.fps
        period = self.resample_every_s
        # The frame's sequence and time within it; the epsilon keeps t = k * period in sequence k despite rounding.
        sequence = int(math.floor(t / period + 1e-9)) if period > 0 else 0
        local_frame = frame - round(sequence * period * self.fps)
        local = local_frame / self.fps
        trajs = self.trajectories(sequence)
        return (np.array([tr.position(local) for tr in trajs]), np.array([tr.velocity(local) for tr in trajs]),
                np.array([tr.yaw(local) for tr in trajs]), trajs, sequence, local_frame)

    def step(self) -> None:
        """Render and publish one frame."""
        from disac_ros.config import CLASSES
        from disac_ros.data.generate import frame_sensing
        from disac_ros.sim.conditions import apply_condition, needs_depth, sequence_condition

        t0 = time.monotonic()
        cfg, frame = self.cfg, self.frame
        self.frame += 1
        positions, velocities, yaws, trajs, sequence, local_frame = self._targets_at(frame)
        sizes = np.array([tr.size for tr in trajs])
        live = self.sequence_offset + sequence
        condition = sequence_condition(cfg, self.seed, live)  # the camera condition of the sequence, as generate
        self.scene.set_targets(positions, yaws, np.array([tr.variant for tr in trajs]))
        views = self.scene.render(depth=needs_depth(condition), segmentation=False)  # only images go out
        # The noise of (seed, sequence, frame within it), as the generator draws it.
        camera_noise = np.random.default_rng([self.seed, live, local_frame, 23])
        sensed = frame_sensing(cfg, positions, velocities, yaws, sizes,
                               np.random.default_rng([self.seed, live, local_frame]))
        labels, echoes = sensed.labels, sensed.echoes
        stamp = to_time(frame / self.fps)
        self.clock_pub.publish(ClockMsg(clock=stamp))
        for k, dev in enumerate(cfg.devices):
            view = views[dev.id]
            rgb = apply_condition(view.rgb, condition, cfg.conditions, camera_noise, depth=view.depth,
                                  intrinsics=self.intrinsics[dev.id])
            self.image_pubs[dev.id].publish(image_to_msg(rgb, stamp, camera_frame(dev.id)))
            self.info_pubs[dev.id].publish(camera_info(self.intrinsics[dev.id], rgb.shape[1], rgb.shape[0], stamp,
                                                       camera_frame(dev.id)))
            for n in range(len(cfg.targets)):
                self.echo_pubs[dev.id].publish(echo_to_msg(echoes[k, n], cfg.radar, dev.id, n, stamp,
                                                           radar_frame(dev.id)))
        truth = []
        for n, tgt in enumerate(cfg.targets):
            cls = CLASSES.index(tgt.type)
            d, az, pitch, v = (float(x) for x in labels[0, n])
            truth.append(SimpleNamespace(target_id=n, class_id=cls, label=tgt.type,
                                         class_probabilities=[float(i == cls) for i in range(len(CLASSES))],
                                         distance=d, azimuth=az, pitch=pitch, radial_velocity=v,
                                         contributing_devices=[]))
        self.truth_pub.publish(states_to_msg(truth, stamp, cfg.devices[0].id))
        self.marker_pub.publish(scene_markers(cfg, positions, yaws, stamp, sizes=sizes))
        took = time.monotonic() - t0
        self._times.append(took)
        self._last_took = took
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
    exit_process(main())
