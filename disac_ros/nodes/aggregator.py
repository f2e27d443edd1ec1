"""``aggregator``: the aggregation center (LSTN decoding, Alg. 3, and TRAM, Alg. 4).

Subscribes to the center's own ``<center>/camera/image_raw`` and ``<center>/radar/echo`` (paired by stamp) and
to every collaborator's ``<k>/semantic/rx`` (relative names, :mod:`disac_ros.topics`: ``/device_1/semantic/rx``
in the root namespace). For each center frame it waits until every live collaborator's codes of that stamp
arrived, or at most ``window_s`` (wall time), and aggregates with whatever arrived
(:class:`disac_ros.live.window.CollaboratorWindow`): a collaborator silent for ``dead_after_s`` is not waited for.
The work starts as the inputs arrive (:class:`disac_ros.inference.PartialAggregate`): the center's own features
when its frame is complete, each collaborator's decoding when its codes are, so what is left when the last codes
arrive is their decoding and TRAM.
Publishes ``targets`` (TargetStateArray, stamped with the frame's sim time, ``contributing_devices`` = center +
the collaborators used) and ``targets/markers`` (estimates next to ``ground_truth/targets``, frame ``world``).

Timings of Eq. (14) per frame and device k: t_ft and t_se from ``<k>/semantic/timing``, t_com (Eq. 10, summed
over the frame's N codes) from ``<k>/link/stats``, t_sd (the decoder of k) and t_fa (TRAM + heads) measured here;
T_exe = max over contributing k. Logged per frame at debug level, summarised at info level every
``summary_period_s``.

When it cannot serve every frame, the center asks its collaborators on ``<k>/frame_stride`` to encode one frame in
k (:class:`disac_ros.live.stride.StrideAdvisor`, from its offered frame rate and its service time, never from
malformed input, which it counts from its own drops and every node's ``/diagnostics``; at
most ``max_stride``) and skips the other frames itself (counted as ``strided``), so that on shared hardware the
devices' work falls with the center's rate instead of competing with it.

Every input is checked before it is used (:mod:`disac_ros.live.checks`) and counted and dropped when wrong: codes
(device, stamp, layout, shape, finite values, link SNR and distance), timings and link statistics (device,
header stamp, finite durations, target id), ground truth (stamp, finite states). An estimate that is not
all finite is never published (``nonfinite_output``). Every callback is :func:`disac_ros.live.drops.guarded`.
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict, defaultdict

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from std_msgs.msg import Float64
from visualization_msgs.msg import MarkerArray

from disac_ros.inference import Received
from disac_ros.live.checks import code_layout, duration, finite_states, header_stamp
from disac_ros.live.drops import DropLog, Dropped, classify_error, guarded, malformed_count
from disac_ros.live.params import (
    MAX_AGE_S,
    MAX_PENDING,
    NUM_THREADS,
    PRESET,
    RUN,
    STRING_ARRAY,
    Param,
    one_of,
    scene_config,
)
from disac_ros.live.stride import MAX_STRIDE, StrideAdvisor, on_stride
from disac_ros.live.timing import STAGES, StageTimes, execution_time, module_timer
from disac_ros.live.window import CollaboratorWindow
from disac_ros.models.decoders import PRECISIONS
from disac_ros.msg import EncoderTiming, LinkStats, SemanticCode, TargetStateArray
from disac_ros.nodes.diagnostics import Diagnostics
from disac_ros.nodes.loading import load_scene_config, load_side
from disac_ros.nodes.params import declare_all
from disac_ros.nodes.sensors import DeviceSensors
from disac_ros.nodes.spin import ConfigError, exit_process, spin
from disac_ros.ros.convert import msg_to_code, ns_to_time, states_to_msg
from disac_ros.ros.markers import estimate_markers
from disac_ros.ros.qos import LATCHED_QOS, RELIABLE_QOS, newest_first
from disac_ros.stamps import NS
from disac_ros.topics import (
    DIAGNOSTICS,
    FRAME_STRIDE,
    GROUND_TRUTH,
    LINK_STATS,
    RX,
    TARGET_MARKERS,
    TARGETS,
    TIMING,
    device_topic,
)

PARAMETERS = (
    RUN,
    Param("center", "", "aggregation center device (empty: the run's center)"),
    Param("devices", STRING_ARRAY, "collaborators to expect (unset: every other device of the run; ['']: none)"),
    Param("window_s", 0.5, "longest wait for collaborators after the center's frame is complete [wall s]",
          (0.0, 60.0)),
    Param("stale_after_s", 2.0, "drop inputs this much older than the newest [sim s]", (1e-3, MAX_AGE_S)),
    Param("dead_after_s", 3.0, "a collaborator silent this long is no longer waited for [wall s]", (1e-3, MAX_AGE_S)),
    Param("max_pending", 8, "frames / stamps buffered", (1, MAX_PENDING)),
    Param("max_stride", 8, "largest frame stride asked of the collaborators when the center cannot serve every "
          "frame (1: never ask)", (1, MAX_STRIDE)),
    scene_config("the center's position places the markers"),
    PRESET,
    NUM_THREADS,
    Param("decoder_precision", "float32", "the collaborators' decoders on a CPU: float32 (as trained) or int8 (LoRA "
          "merged, the language model's linear layers quantized: about 2x faster, 0.9 accuracy points lower offline)",
          check=one_of(PRECISIONS)),
    Param("work_ahead", True, "begin a frame while it waits for collaborators: the center's own features when its "
          "frame is complete, a collaborator's decoding when its codes are (false: all of it once the window "
          "releases the frame)"),
    Param("summary_period_s", 10.0, "period of the info summary [wall s]", (0.1, 3600.0)),
)
_HISTORY = 32  # stamps of side information (timings, link stats, ground truth) kept per device
_MAX_NODES = 64  # nodes whose /diagnostics drops are followed (anyone may publish there)


def _remember(store: OrderedDict, key, value) -> None:
    store[key] = value
    while len(store) > _HISTORY:
        store.popitem(last=False)


def _received(codes) -> Received:
    """A collaborator's codes as the window holds them (``LinkCodes``) -> the center's ``Received``."""
    return Received(codes.codes, codes.snr_db, codes.distance_m)


class Aggregator(Node):
    def __init__(self, **kwargs):
        super().__init__("aggregator", **kwargs)
        values = declare_all(self, PARAMETERS)
        run = values["run"]
        self.summary_period_s = values["summary_period_s"]
        t0 = time.monotonic()
        self.system = load_side("center", run, values["center"] or None, values["num_threads"],
                                values["decoder_precision"])
        cfg = load_scene_config(values["scene_config"], values["preset"])
        try:
            self.system.check_scene(cfg)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        self.center = self.system.center
        devices = values["devices"]
        self.devices = [d for d in devices if d] if devices is not None else \
            list(self.system.collaborators)
        unknown = [k for k in self.devices if k not in self.system.collaborators]
        if unknown:
            raise ConfigError(f"devices {unknown} are not collaborators of center {self.center} in {run} "
                              f"({self.system.collaborators})")
        ids = [d.id for d in cfg.devices]
        if self.center not in ids:
            raise ConfigError(f"center {self.center} is not in the scene {ids}")
        k = ids.index(self.center)   # the estimates are placed from the surveyed pose, the truth from the true one
        self.center_position = np.asarray(cfg.surveyed().devices[k].position, dtype=np.float64)
        self.true_center_position = np.asarray(cfg.devices[k].position, dtype=np.float64)

        self.times = StageTimes()
        self.device_times: dict[str, StageTimes] = defaultdict(StageTimes)
        hooks = module_timer(self.system.features_model.rvfn, self.times, "feature_extraction")
        for k in self.devices:
            hooks += module_timer(self.system.decoders[k], self.device_times[k], "decoding")
        if self.system.center_model is not None:
            hooks += module_timer(self.system.center_model, self.times, "aggregation")
        self._hooks = hooks
        self.num_targets = len(self.system.target_classes)
        self.window = CollaboratorWindow(self.devices, self.num_targets, values["window_s"], values["dead_after_s"],
                                         values["stale_after_s"], values["max_pending"])
        self._window_discarded = 0
        self.work_ahead = values["work_ahead"]
        self._partial: OrderedDict[int, object] = OrderedDict()           # stamp -> PartialAggregate
        self.drops = DropLog(logger=self.get_logger())
        self._timing: dict[str, OrderedDict] = defaultdict(OrderedDict)    # k -> stamp -> (t_ft, t_se)
        self._t_com: dict[str, OrderedDict] = defaultdict(OrderedDict)     # k -> stamp -> summed delay
        self._truth: OrderedDict = OrderedDict()                           # stamp -> TargetStateArray

        self.stride = StrideAdvisor(max_stride=values["max_stride"])
        self._skipped_seen = 0
        # Malformed-input drops per node (this one as "", the others from /diagnostics): a rise is a disturbance,
        # not congestion (disac_ros.live.stride).
        self._malformed: dict[str, int] = {}
        self._malformed_seen: dict[str, int] = {}
        self.stride_pubs = [self.create_publisher(Float64, device_topic(k, FRAME_STRIDE), LATCHED_QOS)
                            for k in self.devices]
        self._publish_stride()
        self.targets_pub = self.create_publisher(TargetStateArray, TARGETS, RELIABLE_QOS)
        self.markers_pub = self.create_publisher(MarkerArray, TARGET_MARKERS, RELIABLE_QOS)
        self.sensors = DeviceSensors(self, self.center, self.system.image_shape, self.system.echo_shape,
                                     self.num_targets, values["stale_after_s"], values["max_pending"], self.drops,
                                     self._frame, namespace=self.center, label="center ", on_reset=self._reset,
                                     frame_period_s=self.system.frame_period_s)
        for k in self.devices:  # one frame's codes per collaborator: a busy center finds the newest
            self.create_subscription(SemanticCode, device_topic(k, RX), lambda m, k=k: self.on_code(k, m),
                                     newest_first(self.num_targets, reliable=True))
            self.create_subscription(EncoderTiming, device_topic(k, TIMING), lambda m, k=k: self.on_timing(k, m),
                                     RELIABLE_QOS)
            self.create_subscription(LinkStats, device_topic(k, LINK_STATS),
                                     lambda m, k=k: self.on_stats(k, m), RELIABLE_QOS)
        self.create_subscription(TargetStateArray, GROUND_TRUTH, self.on_truth, RELIABLE_QOS)
        self.create_subscription(DiagnosticArray, DIAGNOSTICS, self.on_diagnostics, RELIABLE_QOS)
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(0.02, self.poll, clock=steady)
        self.create_timer(1.0, self.update_stride, clock=steady)
        self.create_timer(self.summary_period_s, self.summary, clock=steady)
        self.published = 0
        self._published_at_summary, self._last_summary = 0, time.monotonic()
        self._contributors: list[int] = []
        self._t_exe: list[float] = []
        self._last_missing: tuple[str, ...] = ()
        self._last_t_exe, self._last_contributors = math.nan, 0
        self.diagnostics = Diagnostics(self, self._diagnostics, lambda: {"targets_published": self.published},
                                       self.drops, hardware_id=self.center)
        self.get_logger().info(f"center {self.center}, collaborators {self.devices}: models of {run} loaded in "
                               f"{time.monotonic() - t0:.1f} s (decoders {self.system.decoder_precision}); "
                               f"window {values['window_s']:g} s")

    def _reset(self) -> None:
        """After a jump of sim time: forget every stamp-keyed state (held frames and codes, timings, truth)."""
        self.window.reset()
        self._partial.clear()
        self._window_discarded = self._skipped_seen = 0
        self._timing.clear()
        self._t_com.clear()
        self._truth.clear()

    # -- inputs -----------------------------------------------------------------------------------------------
    def _frame(self, frame) -> None:
        self.stride.offered()
        if not on_stride(frame.stamp, self.system.frame_period_s, self.stride.stride):
            self.drops.drop("strided")  # by design, not an error: counted, not logged
            return
        try:
            ready = self.window.add_frame(frame)
        except Dropped as exc:
            return self.drops.warn(exc.reason, str(exc))
        self._aggregate(ready)
        if self.work_ahead and self.window.holds(frame.stamp):  # waiting for collaborators: its features meanwhile
            self._start(frame)

    @guarded
    def on_code(self, device_id: str, msg) -> None:
        if msg.device_id != device_id:
            return self.drops.warn("unknown_device", f"code from {msg.device_id!r} on {device_id}'s rx")
        try:
            stamp = header_stamp(msg)
            code_layout(msg.length, msg.dim, len(msg.symbols), msg.dtype, msg.payload_bytes)
            code = msg_to_code(msg, self.system.code_shape)
            ready = self.window.add_code(device_id, stamp, msg.target_id, code, msg.snr_db, msg.distance_m)
        except Dropped as exc:
            return self.drops.warn(exc.reason, f"code of {device_id}: {exc}")
        except ValueError as exc:
            return self.drops.warn(classify_error(str(exc)), f"code of {device_id}: {exc}")
        self._aggregate(ready)
        if stamp in self._partial and self.window.holds(stamp):  # still waiting for others: decode these now
            self._decode_early(stamp, only=device_id)

    @guarded
    def on_timing(self, device_id: str, msg) -> None:
        if msg.device_id != device_id:
            return self.drops.warn("unknown_device", f"timing from {msg.device_id!r} on {device_id}'s topic")
        try:
            key = header_stamp(msg)
            times = (duration(msg.feature_extraction_s, "feature_extraction_s"), duration(msg.encoding_s, "encoding_s"))
        except Dropped as exc:
            return self.drops.warn(exc.reason, f"timing of {device_id}: {exc}")
        _remember(self._timing[device_id], key, times)

    @guarded
    def on_stats(self, device_id: str, msg) -> None:
        if msg.device_id != device_id:
            return self.drops.warn("unknown_device", f"link statistics from {msg.device_id!r} on {device_id}'s topic")
        try:
            key = header_stamp(msg)
            delay = duration(msg.delay_s, "delay_s", maximum=math.inf, missing_ok=False)
            if msg.target_id >= self.num_targets:
                raise Dropped("unknown_target", f"target id {msg.target_id} outside 0..{self.num_targets - 1}")
        except Dropped as exc:
            return self.drops.warn(exc.reason, f"link statistics of {device_id}: {exc}")
        _remember(self._t_com[device_id], key, self._t_com[device_id].get(key, 0.0) + delay)

    @guarded
    def on_truth(self, msg) -> None:
        try:
            stamp = header_stamp(msg)
            finite_states(msg.targets, reason="nan", what="ground truth")
        except Dropped as exc:
            return self.drops.warn(exc.reason, f"ground truth: {exc}")
        _remember(self._truth, stamp, msg)

    @guarded
    def poll(self) -> None:
        self._aggregate(self.window.poll())

    # -- aggregation ------------------------------------------------------------------------------------------
    def _start(self, frame) -> None:
        """Begin a held frame's aggregation (its own RVFN, and the codes already complete) while it waits.

        A failure here is not a drop: the frame is aggregated from scratch when released, where it is reported.
        """
        try:
            self._partial[frame.stamp] = self.system.start(frame.image, frame.echoes)
        except Exception:
            return
        while len(self._partial) > self.window.max_pending:
            self.stride.worked(self._partial.popitem(last=False)[1].busy_s)
        self._decode_early(frame.stamp)

    def _decode_early(self, stamp: int, only: str | None = None) -> None:
        """Decode the complete codes of ``stamp`` (``only`` that collaborator's) into its partial aggregation."""
        partial = self._partial[stamp]
        for k, c in self.window.complete(stamp).items():
            if only in (None, k):
                try:
                    partial.add(k, _received(c))
                except Exception:  # decoded again, and reported, when the frame is released
                    pass

    def _aggregate(self, ready) -> None:
        """Aggregate the newest released frame; older ones released with it are superseded (counted, not queued)."""
        if len(ready) > 1:
            self.drops.warn("superseded", f"{len(ready) - 1} released frame(s) before {ready[-1].frame.stamp / NS:.3f}"
                                          " s: the center serves the newest", len(ready) - 1)
        if self.window.discarded > self._window_discarded:
            self.drops.warn("superseded", "frames overtaken while waiting for collaborators",
                            self.window.discarded - self._window_discarded)
        self._window_discarded = self.window.discarded
        for r in ready[-1:]:
            started = time.monotonic()
            partial = self._partial.pop(r.frame.stamp, None)
            early_s = partial.busy_s if partial is not None else 0.0  # what the frame cost while it waited
            for stamp in [s for s in self._partial if s < r.frame.stamp]:  # superseded with their frames
                self.stride.worked(self._partial.pop(stamp).busy_s)
            received = {k: _received(c) for k, c in r.received.items()}
            try:
                states = partial.finish(received) if partial is not None else \
                    self.system.aggregate(r.frame.image, r.frame.echoes, received)
                finite_states(states)  # nothing non-finite is published
            except Dropped as exc:
                self.drops.warn(exc.reason, f"frame {r.frame.stamp / NS:.3f} s: {exc}")
                continue
            except ValueError as exc:
                self.drops.warn(classify_error(str(exc)), f"frame {r.frame.stamp / NS:.3f} s: {exc}")
                continue
            except Exception as exc:  # one frame the model fails on must not lose the frames after it
                self.drops.warn("unexpected", f"frame {r.frame.stamp / NS:.3f} s: {type(exc).__name__}: {exc}")
                continue
            stamp = ns_to_time(r.frame.stamp)
            self.targets_pub.publish(states_to_msg(states, stamp, self.center))
            self.markers_pub.publish(estimate_markers(states, self._truth.get(r.frame.stamp), self.center_position,
                                                      stamp, self.true_center_position))
            self.published += 1
            self.stride.served(time.monotonic() - started + early_s,
                               complete=set(self.window.expected()) <= set(received))
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
        self._last_t_exe, self._last_contributors = t_exe, 1 + len(contributors)
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

    def _publish_stride(self) -> None:
        for pub in self.stride_pubs:
            pub.publish(Float64(data=float(self.stride.stride)))

    @guarded
    def on_diagnostics(self, msg) -> None:
        """Remember every other node's malformed-input drops (its cumulative ``dropped.<reason>`` values)."""
        own = self.get_fully_qualified_name()
        for status in msg.status:
            if status.name == own or (status.name not in self._malformed and len(self._malformed) >= _MAX_NODES):
                continue
            counts, bad = {}, []
            for kv in status.values:
                if kv.key.startswith("dropped."):
                    try:
                        counts[kv.key.removeprefix("dropped.")] = n = int(float(kv.value))
                        if n < 0:
                            raise ValueError("negative")
                    except (ValueError, OverflowError):
                        bad.append(kv.key)
            if bad:  # not counts: this status says nothing we can use
                self.drops.warn("invalid", f"/diagnostics of {status.name[:80]!r}: {bad[:3]} are not drop counts")
                continue
            self._malformed[status.name] = malformed_count(counts)

    def _disturbed(self) -> bool:
        """Whether malformed input was dropped anywhere in the graph since the last stride update."""
        now = {**self._malformed, "": malformed_count(self.drops.counts)}
        disturbed = any(n > self._malformed_seen.get(name, 0) for name, n in now.items())
        self._malformed_seen = now
        return disturbed

    @guarded
    def update_stride(self) -> None:
        skipped = self.sensors.assembler.skipped  # frames the keep-last queue replaced were offered too
        self.stride.offered(skipped - self._skipped_seen)
        self._skipped_seen = skipped
        before = self.stride.stride
        if self.stride.update(time.monotonic(), disturbed=self._disturbed()) != before:
            self._publish_stride()
            self.get_logger().info(
                f"frame stride {before:g} -> {self.stride.stride:g}: offered {self.stride.rate:.2f} frames/s, "
                f"{1e3 * self.stride.service_s:.0f} ms per frame (the devices now encode one frame in "
                f"{self.stride.stride:g})")

    def _diagnostics(self) -> dict:
        missing = [k for k in self.devices if k not in self.window.live()]
        return {"collaborators": ",".join(self.devices) or "none", "contributing_devices": self._last_contributors,
                "frame_stride": self.stride.stride,
                "t_exe_ms": 1e3 * self._last_t_exe, "pending_frames": self.sensors.assembler.pending,
                **({"warn": f"not hearing from {', '.join(missing)}"} if missing else {})}

    @guarded
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


def main(args: list[str] | None = None) -> int:
    return spin(Aggregator, args)


if __name__ == "__main__":
    exit_process(main())
