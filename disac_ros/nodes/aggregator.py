"""``aggregator``: the aggregation center (LSTN decoding, Alg. 3, and TRAM, Alg. 4).

Subscribes to the center's own ``/<center>/camera/image_raw`` and ``/<center>/radar/echo`` (paired by stamp) and
to every collaborator's ``/<k>/semantic/rx``. For each center frame it waits until every live collaborator's
codes of that stamp arrived, or at most ``window_s`` (wall time), and aggregates with whatever arrived
(:class:`disac_ros.pipeline.CollaboratorWindow`): a collaborator silent for ``dead_after_s`` is not waited for.
Publishes ``/targets`` (TargetStateArray, stamped with the frame's sim time, ``contributing_devices`` = center +
the collaborators used) and ``/targets/markers`` (estimates next to ``/ground_truth/targets``, frame ``world``).

Timings of Eq. (14) per frame and device k: t_ft and t_se from ``/<k>/semantic/timing``, t_com (Eq. 10, summed
over the frame's N codes) from ``/<k>/link/stats``, t_sd (the decoder of k) and t_fa (TRAM + heads) measured here;
T_exe = max over contributing k. Logged per frame at debug level, summarised at info level every
``summary_period_s``.
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict, defaultdict

import numpy as np
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.parameter import Parameter

from disac_ros.nodes.common import (
    CLASS_RGB,
    RELIABLE_QOS,
    WORLD_FRAME,
    ConfigError,
    DeviceSensors,
    declare,
    link_stats_topic,
    marker,
    quiet_model_loading,
    read_labeled_array,
    rx_topic,
    spin,
    stamp_of,
    timing_topic,
    warn_drop,
)
from disac_ros.pipeline import (
    NS,
    STAGES,
    CollaboratorWindow,
    DropLog,
    Dropped,
    StageTimes,
    classify_error,
    execution_time,
    module_timer,
    state_to_world,
)

_HISTORY = 32  # stamps of side information (timings, link stats, ground truth) kept per device


def _remember(store: OrderedDict, key, value) -> None:
    store[key] = value
    while len(store) > _HISTORY:
        store.popitem(last=False)


class Aggregator(Node):
    def __init__(self, **kwargs):
        super().__init__("aggregator", **kwargs)
        from disac_ros.config import CONFIG_DIR, load_scene

        run = declare(self, "run", "", "training run directory (disac train --out)", read_only=True)
        center = declare(self, "center", "", "aggregation center device (empty: the run's center)", read_only=True)
        devices = declare(self, "devices", Parameter.Type.STRING_ARRAY,
                          "collaborators to expect (unset: every other device of the run; ['']: none)", read_only=True)
        window_s = declare(self, "window_s", 0.5,
                           "longest wait for collaborators after the center's frame is complete [wall s]",
                           read_only=True)
        stale_after_s = declare(self, "stale_after_s", 2.0, "drop inputs this much older than the newest [sim s]",
                                read_only=True)
        dead_after_s = declare(self, "dead_after_s", 3.0,
                               "a collaborator silent this long is no longer waited for [wall s]", read_only=True)
        max_pending = declare(self, "max_pending", 8, "frames / stamps buffered", read_only=True)
        scene_config = declare(self, "scene_config", str(CONFIG_DIR / "scene.yaml"),
                               "scene YAML: the center's position places the markers", read_only=True)
        preset = declare(self, "preset", "", "preset applied to the scene (empty: none)", read_only=True)
        threads = declare(self, "num_threads", 1, "torch CPU threads (0: torch's default)", read_only=True)
        self.summary_period_s = declare(self, "summary_period_s", 10.0, "period of the info summary [wall s]",
                                        read_only=True)
        import torch

        from disac_ros.inference import LLMDiSAC

        quiet_model_loading()
        if threads > 0:
            torch.set_num_threads(threads)
        try:
            self.system = LLMDiSAC.load(run)
            cfg = load_scene(scene_config or None, preset or None)
        except (FileNotFoundError, ValueError) as exc:
            raise ConfigError(f"run {run!r} / scene {scene_config!r}: {exc}") from exc
        self.center = center or self.system.center
        if self.center != self.system.center:
            raise ConfigError(f"center {self.center!r} is not the run's aggregation center {self.system.center!r}")
        self.devices = [d for d in devices if d] if devices is not None else \
            [d for d in self.system.device_ids if d != self.center]
        unknown = [k for k in self.devices if k not in self.system.device_ids or k == self.center]
        if unknown:
            raise ConfigError(f"devices {unknown} are not collaborators of run {run} ({self.system.device_ids})")
        positions = {d.id: np.asarray(d.position, dtype=np.float64) for d in cfg.devices}
        if self.center not in positions:
            raise ConfigError(f"center {self.center} is not in the scene {list(positions)}")
        self.center_position = positions[self.center]

        t0 = time.monotonic()
        self.times = StageTimes()
        self.device_times: dict[str, StageTimes] = defaultdict(StageTimes)
        center_model = self.system.device_model(self.center)
        hooks = module_timer(center_model.rvfn, self.times, "feature_extraction")
        for k in self.devices:
            hooks += module_timer(self.system.device_model(k).decoder, self.device_times[k], "decoding")
        hooks += module_timer(self.system.center_model(), self.times, "aggregation")
        self._hooks = hooks
        self.num_targets = len(self.system.target_classes)
        self.window = CollaboratorWindow(self.devices, self.num_targets, window_s, dead_after_s, stale_after_s,
                                         max_pending)
        self.drops = DropLog()
        self._timing: dict[str, OrderedDict] = defaultdict(OrderedDict)    # k -> stamp -> (t_ft, t_se)
        self._t_com: dict[str, OrderedDict] = defaultdict(OrderedDict)     # k -> stamp -> summed delay
        self._truth: OrderedDict = OrderedDict()                           # stamp -> TargetStateArray

        from std_msgs.msg import Float64MultiArray
        from visualization_msgs.msg import MarkerArray

        from disac_ros.msg import SemanticCode, TargetStateArray

        self.targets_pub = self.create_publisher(TargetStateArray, "/targets", RELIABLE_QOS)
        self.markers_pub = self.create_publisher(MarkerArray, "/targets/markers", RELIABLE_QOS)
        self.sensors = DeviceSensors(self, self.center, self.system.image_shape, self.system.echo_shape,
                                     self.num_targets, stale_after_s, max_pending, self.drops, self._frame,
                                     label="center ")
        for k in self.devices:
            self.create_subscription(SemanticCode, rx_topic(k), lambda m, k=k: self.on_code(k, m),
                                     RELIABLE_QOS)
            self.create_subscription(Float64MultiArray, timing_topic(k), lambda m, k=k: self.on_timing(k, m),
                                     RELIABLE_QOS)
            self.create_subscription(Float64MultiArray, link_stats_topic(k), lambda m, k=k: self.on_stats(k, m),
                                     RELIABLE_QOS)
        self.create_subscription(TargetStateArray, "/ground_truth/targets", self.on_truth, RELIABLE_QOS)
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(0.02, self.poll, clock=steady)
        self.create_timer(self.summary_period_s, self.summary, clock=steady)
        self.published = 0
        self._published_at_summary, self._last_summary = 0, time.monotonic()
        self._contributors: list[int] = []
        self._t_exe: list[float] = []
        self._last_missing: tuple[str, ...] = ()
        self.get_logger().info(f"center {self.center}, collaborators {self.devices}: models of {run} loaded in "
                               f"{time.monotonic() - t0:.1f} s; window {window_s:g} s")

    # -- inputs -----------------------------------------------------------------------------------------------
    def _frame(self, frame) -> None:
        try:
            ready = self.window.add_frame(frame)
        except Dropped as exc:
            return warn_drop(self, self.drops, exc.reason, str(exc))
        self._aggregate(ready)

    def on_code(self, device_id: str, msg) -> None:
        from disac_ros.ros.convert import msg_to_code

        if msg.device_id != device_id:
            return warn_drop(self, self.drops, "unknown_device", f"code from {msg.device_id!r} on {device_id}'s rx")
        try:
            code = msg_to_code(msg, self.system.code_shape)
            ready = self.window.add_code(device_id, stamp_of(msg), msg.target_id, code, msg.snr_db, msg.distance_m)
        except Dropped as exc:
            return warn_drop(self, self.drops, exc.reason, str(exc))
        except ValueError as exc:
            return warn_drop(self, self.drops, classify_error(str(exc)), f"code of {device_id}: {exc}")
        self._aggregate(ready)

    def on_timing(self, device_id: str, msg) -> None:
        v = read_labeled_array(msg)
        if "stamp_s" in v:
            _remember(self._timing[device_id], round(v["stamp_s"] * NS),
                      (v.get("feature_extraction_s", math.nan), v.get("encoding_s", math.nan)))

    def on_stats(self, device_id: str, msg) -> None:
        v = read_labeled_array(msg)
        if "stamp_s" in v and math.isfinite(v.get("delay_s", math.nan)):
            key = round(v["stamp_s"] * NS)
            _remember(self._t_com[device_id], key, self._t_com[device_id].get(key, 0.0) + v["delay_s"])

    def on_truth(self, msg) -> None:
        _remember(self._truth, stamp_of(msg), msg)

    def poll(self) -> None:
        self._aggregate(self.window.poll())

    # -- aggregation ------------------------------------------------------------------------------------------
    def _aggregate(self, ready) -> None:
        from builtin_interfaces.msg import Time

        from disac_ros.inference import Received
        from disac_ros.ros.convert import states_to_msg

        for r in ready:
            received = {k: Received(c.codes, c.snr_db, c.distance_m) for k, c in r.received.items()}
            try:
                states = self.system.aggregate(r.frame.image, r.frame.echoes, received)
            except ValueError as exc:
                warn_drop(self, self.drops, classify_error(str(exc)), f"frame {r.frame.stamp / NS:.3f} s: {exc}")
                continue
            stamp = Time(sec=r.frame.stamp // NS, nanosec=r.frame.stamp % NS)
            self.targets_pub.publish(states_to_msg(states, stamp, self.center))
            self.markers_pub.publish(self._markers(states, stamp, self._truth.get(r.frame.stamp)))
            self.published += 1
            self._log_timings(r, sorted(received))

    def _log_timings(self, r, contributors: list[str]) -> None:
        stamp = r.frame.stamp
        t_fa = self.times.last("aggregation")
        per_device = {self.center: {"feature_extraction": self.times.last("feature_extraction"),
                                    "aggregation": t_fa}}
        for k in contributors:
            t_ft, t_se = self._timing[k].get(stamp, (math.nan, math.nan))
            per_device[k] = {"feature_extraction": t_ft, "encoding": t_se,
                             "transmission": self._t_com[k].get(stamp, math.nan),
                             "decoding": self.device_times[k].last("decoding"), "aggregation": t_fa}
            for stage, value in per_device[k].items():
                if math.isfinite(value) and stage != "aggregation":
                    self.device_times[k].add(f"{stage}_frame", value)
        t_exe, slowest = execution_time(per_device)
        self._t_exe.append(t_exe)
        self._contributors.append(1 + len(contributors))
        missing = tuple(k for k in self.devices if k not in contributors)
        if missing != self._last_missing:
            if missing:
                self.get_logger().warning(f"aggregating {1 + len(contributors)} of {1 + len(self.devices)} devices "
                                          f"from {stamp / NS:.3f} s: no codes from {list(missing)} within the window")
            else:
                self.get_logger().info(f"all {1 + len(self.devices)} devices contribute again")
            self._last_missing = missing
        parts = "; ".join(f"{k}: " + ", ".join(f"{s} {1e3 * v:.1f}" for s, v in d.items() if math.isfinite(v))
                          for k, d in per_device.items())
        self.get_logger().debug(f"t={stamp / NS:.3f} s, {1 + len(contributors)} devices (waited "
                                f"{1e3 * r.waited_s:.0f} ms{', window expired' if r.timed_out else ''}); "
                                f"Eq. 14 [ms] {parts}; T_exe {1e3 * t_exe:.1f} ms ({slowest})")

    def summary(self) -> None:
        elapsed = time.monotonic() - self._last_summary
        frames = self.published - self._published_at_summary
        if frames:
            stages = [f"{s} {1e3 * self._stage_p50(s):.1f}" for s in STAGES if math.isfinite(self._stage_p50(s))]
            self.get_logger().info(
                f"{frames} estimates in {elapsed:.0f} s ({frames / elapsed:.2f}/s), devices per estimate "
                f"{np.mean(self._contributors):.2f}; Eq. 14 p50 [ms]: {', '.join(stages)}; T_exe p50 "
                f"{1e3 * float(np.median(self._t_exe)):.1f} ms, p95 {1e3 * float(np.percentile(self._t_exe, 95)):.1f}"
                f" ms; dropped: {self.drops.summary()}")
        elif self.drops.counts:
            self.get_logger().info(f"no estimate in {elapsed:.0f} s; dropped: {self.drops.summary()}")
        self._contributors, self._t_exe = [], []
        self._published_at_summary, self._last_summary = self.published, time.monotonic()

    def _stage_p50(self, stage: str) -> float:
        """Median over collaborators' recent frames (center-side stages from this node's own timings)."""
        if stage == "aggregation" or (stage == "feature_extraction" and not self.devices):
            return self.times.percentile(stage, 50)
        values = [t.percentile(f"{stage}_frame", 50) for t in self.device_times.values()]
        values = [v for v in values if math.isfinite(v)]
        return float(np.median(values)) if values else math.nan

    # -- markers ----------------------------------------------------------------------------------------------
    def _markers(self, states, stamp, truth):
        from geometry_msgs.msg import Point
        from visualization_msgs.msg import Marker, MarkerArray

        out = MarkerArray()
        true_by_id = {t.target_id: t for t in truth.targets} if truth is not None else {}
        for s in states:
            est = state_to_world(self.center_position, s.distance, s.azimuth, s.pitch)
            rgb = CLASS_RGB.get(s.label, (0.6, 0.6, 0.6))
            out.markers.append(marker("estimates", s.target_id, Marker.SPHERE, est, (0.8, 0.8, 0.8), (*rgb, 0.9),
                                      stamp))
            text = f"est {s.target_id}: {s.label} {s.distance:.1f} m"
            t = true_by_id.get(s.target_id)
            if t is not None:
                true = state_to_world(self.center_position, t.distance, t.azimuth, t.pitch)
                out.markers.append(marker("truth", s.target_id, Marker.SPHERE, true, (0.5, 0.5, 0.5),
                                          (0.1, 0.9, 0.1, 0.9), stamp))
                err = marker("errors", s.target_id, Marker.LINE_LIST, (0, 0, 0), (0.05, 0, 0), (1, 1, 0, 1), stamp)
                err.points = [Point(x=float(est[0]), y=float(est[1]), z=float(est[2])),
                              Point(x=float(true[0]), y=float(true[1]), z=float(true[2]))]
                out.markers.append(err)
                text += f" (true {t.label} {t.distance:.1f} m)"
            out.markers.append(marker("estimate_labels", s.target_id, Marker.TEXT_VIEW_FACING, est + (0, 0, 1.2),
                                      (0, 0, 0.6), (1, 1, 1, 1), stamp, text=text))
        for m in out.markers:
            m.header.frame_id = WORLD_FRAME
        return out


def main(args: list[str] | None = None) -> int:
    return spin(Aggregator, args)


if __name__ == "__main__":
    raise SystemExit(main())
