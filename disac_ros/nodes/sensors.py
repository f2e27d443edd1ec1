"""One device's camera image and N radar echoes, subscribed and paired by stamp (encoder and aggregation center)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sensor_msgs.msg import Image

from disac_ros.live.checks import header_stamp
from disac_ros.live.drops import DropLog, Dropped, classify_error, guarded
from disac_ros.live.pairing import FrameAssembler
from disac_ros.msg import RadarEcho
from disac_ros.ros.convert import msg_to_echo, msg_to_image
from disac_ros.ros.qos import newest_first
from disac_ros.topics import ECHO, IMAGE, device_topic


def now_ns(node) -> int:
    """Sim time in nanoseconds under ``use_sim_time`` (0 until the first /clock), else 0 (unknown).

    Wall time is never compared with stamps: the bridge stamps sim time, which starts at 0.
    """
    clock = node.get_clock()
    return clock.now().nanoseconds if getattr(clock, "ros_time_is_active", False) else 0


class DeviceSensors:
    """Device ``device_id``'s ``camera/image_raw`` and ``radar/echo``, paired by stamp (:class:`FrameAssembler`).

    ``namespace``: where the topics are relative to the node: empty for a node in the device's own namespace (an
    encoder), the device id for a node outside it (the aggregator). Calls ``on_frame(frame)`` with every complete
    frame; a malformed (encoding, size, NaN, an insane stamp), stale or foreign input is counted and logged in
    ``drops`` and dropped, and no exception from ``on_frame`` ends the node (:func:`guarded`). ``image_shape`` /
    ``echo_shape`` are what the run's model takes.

    A jump of the node's clock (sim time going backwards at all, or forwards by more than ``stale_after_s``: a
    looped bag, a restarted simulation) resets the pairing state with a log line, and calls ``on_reset`` (the
    node's own stamp-keyed state), instead of dropping every later input as stale or out of order.
    """

    def __init__(self, node, device_id: str, image_shape, echo_shape, num_targets: int, stale_after_s: float,
                 max_pending: int, drops: DropLog, on_frame: Callable, namespace: str = "", label: str = "",
                 on_reset: Callable[[], None] | None = None, frame_period_s: float = 0.0):
        from rclpy.clock import JumpThreshold
        from rclpy.duration import Duration

        self.node, self.device_id, self.drops, self.on_frame = node, device_id, drops, on_frame
        self.image_shape, self.echo_shape, self.label = image_shape, echo_shape, label
        self.on_reset = on_reset
        self.assembler = FrameAssembler(num_targets, stale_after_s, max_pending, frame_period_s)
        self.resets = 0
        threshold = JumpThreshold(min_forward=Duration(nanoseconds=int(stale_after_s * 1e9)),
                                  min_backward=Duration(nanoseconds=-1), on_clock_change=False)
        self._jump_handle = node.get_clock().create_jump_callback(threshold, post_callback=self.on_time_jump)
        node.create_subscription(Image, device_topic(namespace, IMAGE), self.on_image, newest_first(1))
        node.create_subscription(RadarEcho, device_topic(namespace, ECHO), self.on_echo, newest_first(num_targets))

    @guarded
    def on_time_jump(self, jump) -> None:
        """The clock jumped (``rclpy.clock.TimeJump``): forget what was pairing, as if the node had just started."""
        if self.node.get_clock().now().nanoseconds == jump.delta.nanoseconds:  # the first /clock: from 0, no jump
            return
        delta = jump.delta.nanoseconds / 1e9
        self.assembler.reset()
        if self.on_reset is not None:
            self.on_reset()
        self.resets += 1
        self.node.get_logger().warning(f"{self.label}sim time jumped {'back' if delta < 0 else 'ahead'} by "
                                       f"{abs(delta):.3f} s (a looped bag or a restarted simulation?): pairing state "
                                       f"reset")

    @guarded
    def on_image(self, msg) -> None:
        self._add("image", lambda: self.assembler.add_image(
            header_stamp(msg), np.array(msg_to_image(msg, self.image_shape[:2])),  # writable: torch.from_numpy
            now_ns(self.node)))

    @guarded
    def on_echo(self, msg) -> None:
        if msg.device_id != self.device_id:
            return self.drops.warn("unknown_device", f"echo from device {msg.device_id!r} on {self.device_id}'s topic")
        self._add("echo", lambda: self.assembler.add_echo(
            header_stamp(msg), msg.target_id, msg_to_echo(msg, self.echo_shape), now_ns(self.node)))

    def _add(self, what: str, add: Callable) -> None:
        before = self.assembler.discarded, self.assembler.skipped
        try:
            frame = add()
        except Dropped as exc:
            return self.drops.warn(exc.reason, f"{self.label}{what}: {exc}")
        except ValueError as exc:
            return self.drops.warn(classify_error(str(exc)), f"{self.label}{what}: {exc}")
        finally:  # frames a newer one overtook: counted, never queued
            superseded, skipped = self.assembler.discarded - before[0], self.assembler.skipped - before[1]
            if superseded:
                self.drops.warn("superseded", f"{self.label}{superseded} partly received frame(s) overtaken by a "
                                              "newer one (the node is busy: newest first)", superseded)
            if skipped:
                self.drops.warn("skipped", f"{self.label}{skipped} frame(s) never arrived (the keep-last queue "
                                           "replaced them while the node was busy)", skipped)
        if frame is not None:
            self.on_frame(frame)
