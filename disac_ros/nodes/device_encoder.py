"""``device_encoder``: one collaborating device's transmitter (RVFN, Alg. 2, and the semantic encoder, Eq. 36).

Runs in its device's namespace (``/<device_id>/device_encoder``, see :mod:`disac_ros.launch_description`) and uses
relative topic names (:mod:`disac_ros.topics`), so a remap or another namespace moves them. Subscribes to
``camera/image_raw`` and ``radar/echo`` (sensor-data QoS), pairs the image with the echoes of all N targets of the
same stamp (:class:`disac_ros.live.pairing.FrameAssembler`), encodes them with
:meth:`disac_ros.inference.SensingDevice.encode` (the device's half only: RVFN + semantic encoder, from its
artifact or a run directory) and publishes ``semantic/tx`` (one SemanticCode per target, same stamp;
SNR and distance NaN: the channel fills them) and ``semantic/timing`` (``EncoderTiming``, t_ft and t_se of
Eq. 14, same stamp).

It encodes only the frames the center's ``frame_stride`` keeps (latched, from the aggregator; 1 until it says
otherwise): the others are counted as ``strided``.

Malformed inputs (image encoding or size, NaN echoes, an echo of another device or target, an insane, stale,
duplicate or out-of-order stamp) are logged, throttled per reason, and dropped; so are codes that come out of the
encoder not all finite (``nonfinite_output``: never published). Every callback is
:func:`disac_ros.live.drops.guarded`: the node keeps running whatever it receives.
"""
from __future__ import annotations

import time

from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from std_msgs.msg import Float64

from disac_ros.live.checks import finite_array
from disac_ros.live.drops import DropLog, Dropped, classify_error, guarded
from disac_ros.live.params import MAX_AGE_S, MAX_PENDING, NUM_THREADS, RUN, Param
from disac_ros.live.stride import MAX_STRIDE, on_stride
from disac_ros.live.timing import StageTimes, module_timer
from disac_ros.msg import EncoderTiming, SemanticCode
from disac_ros.nodes.diagnostics import Diagnostics
from disac_ros.nodes.loading import load_side
from disac_ros.nodes.params import declare_all
from disac_ros.nodes.sensors import DeviceSensors
from disac_ros.nodes.spin import ConfigError, exit_process, spin
from disac_ros.ros.convert import code_to_msg, ns_to_time, timing_to_msg
from disac_ros.ros.qos import LATCHED_QOS, RELIABLE_QOS
from disac_ros.stamps import NS
from disac_ros.topics import FRAME_STRIDE, TIMING, TX

PARAMETERS = (
    Param("device_id", "", "this device's id in the scene and the run (e.g. device_1)"),
    RUN,
    Param("stale_after_s", 2.0, "drop inputs stamped this long before the clock / newest input [sim s]",
          (1e-3, MAX_AGE_S)),
    Param("max_pending", 8, "incomplete stamps kept while pairing", (1, MAX_PENDING)),
    NUM_THREADS,
)


class DeviceEncoder(Node):
    def __init__(self, **kwargs):
        super().__init__("device_encoder", **kwargs)
        values = declare_all(self, PARAMETERS)
        self.device_id, run = values["device_id"], values["run"]
        if not self.device_id:
            raise ConfigError("device_encoder needs the device_id parameter (e.g. -p device_id:=device_1)")
        if self.get_namespace() == "/":
            self.get_logger().warning(f"started in the root namespace: its topics are /{TX} etc.; start it in "
                                      f"/{self.device_id} (-r __ns:=/{self.device_id}) as the launch files do")
        t0 = time.monotonic()
        self.system = load_side("device", run, self.device_id, values["num_threads"])
        model = self.system.model
        self.times = StageTimes()
        self._hooks = module_timer(model.rvfn, self.times, "feature_extraction") + \
            module_timer(model.encoder, self.times, "encoding")
        self.num_targets = len(self.system.target_classes)
        self.drops = DropLog(logger=self.get_logger())

        self.tx_pub = self.create_publisher(SemanticCode, TX, RELIABLE_QOS)
        self.timing_pub = self.create_publisher(EncoderTiming, TIMING, RELIABLE_QOS)
        self.frame_stride = 1.0
        self.create_subscription(Float64, FRAME_STRIDE, self.on_stride, LATCHED_QOS)
        self.sensors = DeviceSensors(self, self.device_id, self.system.image_shape, self.system.echo_shape,
                                     self.num_targets, values["stale_after_s"], values["max_pending"], self.drops,
                                     self.encode, frame_period_s=self.system.frame_period_s)
        self.encoded, self._encoded_at_summary = 0, 0
        self._last_summary = time.monotonic()
        self.create_timer(10.0, self.summary, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.diagnostics = Diagnostics(self, lambda: {
            "artifact": str(self.system.artifact.path.parent),
            "t_ft_ms": 1e3 * self.times.last("feature_extraction"), "t_se_ms": 1e3 * self.times.last("encoding"),
            "frame_stride": self.frame_stride,
            "pending_frames": self.sensors.assembler.pending}, lambda: {"frames_encoded": self.encoded}, self.drops,
            hardware_id=self.device_id)
        self.get_logger().info(f"{self.device_id}: model of {run} loaded in {time.monotonic() - t0:.1f} s; "
                               f"image {self.system.image_shape}, echoes [{self.num_targets}, "
                               f"{', '.join(map(str, self.system.echo_shape))}] -> codes {self.system.code_shape}; "
                               f"inputs stale after {values['stale_after_s']:g} s")

    @guarded
    def on_stride(self, msg) -> None:
        stride = float(msg.data)
        if not 1 <= stride <= MAX_STRIDE:  # NaN fails too
            return self.drops.warn("invalid", f"frame stride {stride} outside 1..{MAX_STRIDE}")
        if stride != self.frame_stride:
            self.get_logger().info(f"the center asks for one frame in {stride:g} (was one in {self.frame_stride:g})")
        self.frame_stride = stride

    # -- encoding ---------------------------------------------------------------------------------------------
    def encode(self, frame) -> None:
        if not on_stride(frame.stamp, self.system.frame_period_s, self.frame_stride):
            self.drops.drop("strided")  # the center asked for fewer frames: counted, not logged
            return
        try:
            codes = self.system.encode(frame.image, frame.echoes)
            expected = (self.num_targets, *self.system.code_shape)
            if tuple(codes.shape) != expected:
                raise Dropped("size", f"the encoder gave codes {list(codes.shape)}, expected {list(expected)}")
            finite_array(codes, "codes")  # nothing non-finite is published
        except Dropped as exc:
            return self.drops.warn(exc.reason, f"frame {frame.stamp / NS:.3f} s: {exc}")
        except ValueError as exc:
            return self.drops.warn(classify_error(str(exc)), f"frame {frame.stamp / NS:.3f} s: {exc}")
        stamp = ns_to_time(frame.stamp)
        for n, code in enumerate(codes):
            self.tx_pub.publish(code_to_msg(code, self.device_id, n, stamp, self.device_id))
        t_ft, t_se = self.times.last("feature_extraction"), self.times.last("encoding")
        self.timing_pub.publish(timing_to_msg(self.device_id, stamp, self.device_id, t_ft, t_se))
        self.encoded += 1
        self.get_logger().debug(f"frame {frame.stamp / NS:.3f} s encoded: t_ft {1e3 * t_ft:.1f} ms, "
                                f"t_se {1e3 * t_se:.2f} ms")

    @guarded
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
    exit_process(main())
