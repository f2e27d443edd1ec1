"""``device_encoder``: one collaborating device's transmitter (RVFN, Alg. 2, and the semantic encoder, Eq. 36).

Subscribes to ``/<device_id>/camera/image_raw`` and ``/<device_id>/radar/echo`` (sensor-data QoS), pairs the image
with the echoes of all N targets of the same stamp (:class:`disac_ros.pipeline.FrameAssembler`), encodes them with
:meth:`disac_ros.inference.LLMDiSAC.encode` and publishes ``/<device_id>/semantic/tx`` (one SemanticCode per
target, same stamp; SNR and distance NaN: the channel fills them) and ``/<device_id>/semantic/timing``
(Float64MultiArray ``stamp_s, feature_extraction_s, encoding_s``: t_ft and t_se of Eq. 14).

Malformed inputs (image encoding or size, NaN echoes, an echo of another device or target, stale, duplicate or
out-of-order stamps) are logged, throttled per reason, and dropped; the node keeps running.
"""
from __future__ import annotations

import time

from rclpy.clock import Clock, ClockType
from rclpy.node import Node

from disac_ros.nodes.common import (
    RELIABLE_QOS,
    ConfigError,
    DeviceSensors,
    declare,
    labeled_array,
    quiet_model_loading,
    spin,
    timing_topic,
    tx_topic,
    warn_drop,
)
from disac_ros.pipeline import (
    ENCODER_TIMING_FIELDS,
    NS,
    DropLog,
    StageTimes,
    classify_error,
    module_timer,
)


class DeviceEncoder(Node):
    def __init__(self, **kwargs):
        super().__init__("device_encoder", **kwargs)
        self.device_id = declare(self, "device_id", "", "this device's id in the scene and the run (e.g. device_1)",
                                 read_only=True)
        run = declare(self, "run", "", "training run directory (disac train --out)", read_only=True)
        stale_after_s = declare(self, "stale_after_s", 2.0,
                                "drop inputs stamped this long before the clock / newest input [s]", read_only=True)
        max_pending = declare(self, "max_pending", 8, "incomplete stamps kept while pairing", read_only=True)
        threads = declare(self, "num_threads", 1, "torch CPU threads (0: torch's default)", read_only=True)
        if not self.device_id:
            raise ConfigError("device_encoder needs the device_id parameter (e.g. -p device_id:=device_1)")
        import torch

        from disac_ros.inference import LLMDiSAC

        quiet_model_loading()
        if threads > 0:
            torch.set_num_threads(threads)
        try:
            self.system = LLMDiSAC.load(run)
        except (FileNotFoundError, ValueError) as exc:
            raise ConfigError(f"run {run!r}: {exc}") from exc
        if self.device_id not in self.system.device_ids:
            raise ConfigError(f"unknown device_id {self.device_id!r}: run {run} has {self.system.device_ids}")
        if self.device_id == self.system.center:
            self.get_logger().warning(f"{self.device_id} is the run's aggregation center; its codes are not used")
        t0 = time.monotonic()
        model = self.system.device_model(self.device_id)
        if not model.uses_link:
            raise ConfigError(f"scheme {self.system.model_cfg.scheme} has no semantic link; nothing to encode")
        self.times = StageTimes()
        self._hooks = module_timer(model.rvfn, self.times, "feature_extraction") + \
            module_timer(model.encoder, self.times, "encoding")
        self.num_targets = len(self.system.target_classes)
        self.drops = DropLog()

        from std_msgs.msg import Float64MultiArray

        from disac_ros.msg import SemanticCode

        self.tx_pub = self.create_publisher(SemanticCode, tx_topic(self.device_id), RELIABLE_QOS)
        self.timing_pub = self.create_publisher(Float64MultiArray, timing_topic(self.device_id), RELIABLE_QOS)
        self.sensors = DeviceSensors(self, self.device_id, self.system.image_shape, self.system.echo_shape,
                                     self.num_targets, stale_after_s, max_pending, self.drops, self.encode)
        self.encoded, self._encoded_at_summary = 0, 0
        self._last_summary = time.monotonic()
        self.create_timer(10.0, self.summary, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(f"{self.device_id}: model of {run} loaded in {time.monotonic() - t0:.1f} s; "
                               f"image {self.system.image_shape}, echoes [{self.num_targets}, "
                               f"{', '.join(map(str, self.system.echo_shape))}] -> codes {self.system.code_shape}; "
                               f"inputs stale after {stale_after_s:g} s")

    # -- encoding ---------------------------------------------------------------------------------------------
    def encode(self, frame) -> None:
        from builtin_interfaces.msg import Time

        from disac_ros.ros.convert import code_to_msg

        try:
            codes = self.system.encode(self.device_id, frame.image, frame.echoes)
        except ValueError as exc:
            return warn_drop(self, self.drops, classify_error(str(exc)), f"frame {frame.stamp / NS:.3f} s: {exc}")
        stamp = Time(sec=frame.stamp // NS, nanosec=frame.stamp % NS)
        for n, code in enumerate(codes):
            self.tx_pub.publish(code_to_msg(code, self.device_id, n, stamp, self.device_id))
        t_ft, t_se = self.times.last("feature_extraction"), self.times.last("encoding")
        self.timing_pub.publish(labeled_array(ENCODER_TIMING_FIELDS, {
            "stamp_s": frame.stamp / NS, "feature_extraction_s": t_ft, "encoding_s": t_se}))
        self.encoded += 1
        self.get_logger().debug(f"frame {frame.stamp / NS:.3f} s encoded: t_ft {1e3 * t_ft:.1f} ms, "
                                f"t_se {1e3 * t_se:.2f} ms")

    def summary(self) -> None:
        elapsed = time.monotonic() - self._last_summary
        frames = self.encoded - self._encoded_at_summary
        if frames or self.drops.counts:
            self.get_logger().info(f"{frames} frames encoded in {elapsed:.0f} s ({frames / elapsed:.2f}/s); "
                                   f"{self.times.summary(('feature_extraction', 'encoding'))}; "
                                   f"dropped: {self.drops.summary()}")
        self._encoded_at_summary, self._last_summary = self.encoded, time.monotonic()


def main(args: list[str] | None = None) -> int:
    return spin(DeviceEncoder, args)


if __name__ == "__main__":
    raise SystemExit(main())
