"""What every node shares: QoS profiles, parameter declaration with descriptors, topic names and ``spin``.

QoS (documented in the README):

* sensors (``/<dev>/camera/image_raw``, ``camera_info``, ``/<dev>/radar/echo``): ``qos_profile_sensor_data``
  (best effort, keep last 5; subscribers of echoes keep ``5 * N``, since one frame carries N echoes);
* ``/clock``: best effort, keep last 1, as ``rclcpp::ClockQoS`` publishes it and as rclpy's TimeSource
  subscribes to it;
* everything else (``/ground_truth/targets``, ``/<dev>/semantic/tx|rx``, ``/<dev>/link/stats``,
  ``/<dev>/semantic/timing``, ``/targets``, markers): reliable, volatile, keep last 10 (the ROS default).
"""
from __future__ import annotations

import math
import sys
from collections.abc import Callable

import numpy as np
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from disac_ros.pipeline import Dropped, FrameAssembler, classify_error, stamp_ns

SENSOR_QOS = qos_profile_sensor_data
CLOCK_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST)
RELIABLE_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
WORLD_FRAME = "world"
#: Marker colours (RGB 0..1) per class.
CLASS_RGB = {"car": (0.85, 0.15, 0.1), "dog": (0.95, 0.65, 0.1), "drone": (0.2, 0.3, 0.9)}


def sensor_qos(depth: int) -> QoSProfile:
    """Sensor-data QoS (best effort, volatile) keeping ``depth`` samples."""
    return QoSProfile(depth=max(depth, SENSOR_QOS.depth), reliability=SENSOR_QOS.reliability,
                      durability=SENSOR_QOS.durability, history=HistoryPolicy.KEEP_LAST)


def image_topic(device_id: str) -> str:
    return f"/{device_id}/camera/image_raw"


def camera_info_topic(device_id: str) -> str:
    return f"/{device_id}/camera/camera_info"


def echo_topic(device_id: str) -> str:
    return f"/{device_id}/radar/echo"


def tx_topic(device_id: str) -> str:
    return f"/{device_id}/semantic/tx"


def rx_topic(device_id: str) -> str:
    return f"/{device_id}/semantic/rx"


def timing_topic(device_id: str) -> str:
    return f"/{device_id}/semantic/timing"


def link_stats_topic(device_id: str) -> str:
    return f"/{device_id}/link/stats"


class ConfigError(RuntimeError):
    """A parameter value the node cannot start with; ``spin`` logs it and exits with status 2."""


def declare(node, name: str, default, description: str, read_only: bool = False):
    """Declare a parameter with a descriptor and return its value (``default`` may be a ``Parameter.Type``)."""
    from rcl_interfaces.msg import ParameterDescriptor
    from rclpy.exceptions import ParameterUninitializedException

    node.declare_parameter(name, default, ParameterDescriptor(description=description, read_only=read_only))
    try:
        return node.get_parameter(name).value
    except ParameterUninitializedException:  # declared by type only and not set: None
        return None


def stamp_of(msg) -> int:
    """Header stamp of ``msg`` in integer nanoseconds."""
    return stamp_ns(msg.header)


def now_ns(node) -> int:
    """Sim time in nanoseconds under ``use_sim_time`` (0 until the first /clock), else 0 (unknown).

    Wall time is never compared with stamps: the bridge stamps sim time, which starts at 0.
    """
    clock = node.get_clock()
    return clock.now().nanoseconds if getattr(clock, "ros_time_is_active", False) else 0


def warn_drop(node, drops, reason: str, text: str) -> None:
    """Count a dropped input and log it, at most once per ``drops.period_s`` per reason."""
    if drops.drop(reason):
        node.get_logger().warning(f"dropped ({reason}): {text} [{drops.counts[reason]} so far]")


class DeviceSensors:
    """One device's camera image and its N radar echoes, subscribed and paired by stamp (:class:`FrameAssembler`).

    Calls ``on_frame(frame)`` with every complete frame; a malformed, stale or foreign input is logged
    (:func:`warn_drop`) and dropped. ``image_shape`` / ``echo_shape`` are what the run's model takes.
    """

    def __init__(self, node, device_id: str, image_shape, echo_shape, num_targets: int, stale_after_s: float,
                 max_pending: int, drops, on_frame: Callable, label: str = ""):
        from sensor_msgs.msg import Image

        from disac_ros.msg import RadarEcho

        self.node, self.device_id, self.drops, self.on_frame = node, device_id, drops, on_frame
        self.image_shape, self.echo_shape, self.label = image_shape, echo_shape, label
        self.assembler = FrameAssembler(num_targets, stale_after_s, max_pending)
        node.create_subscription(Image, image_topic(device_id), self.on_image, SENSOR_QOS)
        node.create_subscription(RadarEcho, echo_topic(device_id), self.on_echo, sensor_qos(5 * num_targets))

    def on_image(self, msg) -> None:
        from disac_ros.ros.convert import msg_to_image

        self._add("image", lambda: self.assembler.add_image(
            stamp_of(msg), np.array(msg_to_image(msg, self.image_shape[:2])),  # writable: torch.from_numpy
            now_ns(self.node)))

    def on_echo(self, msg) -> None:
        from disac_ros.ros.convert import msg_to_echo

        if msg.device_id != self.device_id:
            return warn_drop(self.node, self.drops, "unknown_device",
                             f"echo from device {msg.device_id!r} on {self.device_id}'s topic")
        self._add("echo", lambda: self.assembler.add_echo(
            stamp_of(msg), msg.target_id, msg_to_echo(msg, self.echo_shape), now_ns(self.node)))

    def _add(self, what: str, add: Callable) -> None:
        try:
            frame = add()
        except Dropped as exc:
            return warn_drop(self.node, self.drops, exc.reason, f"{self.label}{what}: {exc}")
        except ValueError as exc:
            return warn_drop(self.node, self.drops, classify_error(str(exc)), f"{self.label}{what}: {exc}")
        if frame is not None:
            self.on_frame(frame)


def spin(factory: Callable[[], object], args: list[str] | None = None) -> int:
    """Init rclpy, build the node, spin until SIGINT/SIGTERM, clean up; returns the exit status.

    rclpy's own handlers (``SignalHandlerOptions.ALL``, the default) turn SIGINT and SIGTERM into a context
    shutdown, which ends ``spin`` with ``ExternalShutdownException``; both that and ``KeyboardInterrupt`` (a
    signal during start-up) end quietly. A :class:`ConfigError` is logged without a traceback (status 2).
    """
    try:
        return _spin(factory, args)
    except KeyboardInterrupt:  # a second Ctrl-C while closing
        return 0


def _spin(factory: Callable[[], object], args: list[str] | None) -> int:
    import rclpy
    from rclpy.executors import ExternalShutdownException

    rclpy.init(args=args if args is not None else sys.argv)
    node, status = None, 0
    try:
        node = factory()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except ConfigError as exc:
        rclpy.logging.get_logger("disac_ros").fatal(str(exc))
        status = 2
    except Exception:
        if rclpy.ok():  # a real error; after SIGINT/SIGTERM the executor may raise RCLError (invalid context)
            raise
    finally:
        if node is not None:
            close = getattr(node, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as exc:  # never a traceback on the way out
                    node.get_logger().warning(f"while closing: {exc}")
            try:
                node.destroy_node()
            except Exception:
                pass
        rclpy.try_shutdown()
    return status


def labeled_array(fields: tuple[str, ...], values: dict[str, float]):
    """A std_msgs/Float64MultiArray of ``values`` in ``fields`` order; one dimension labelled with the field names.

    Used for link statistics and encoder timings (diagnostic_msgs is not available as a wheel here).
    """
    from std_msgs.msg import Float64MultiArray, MultiArrayDimension

    msg = Float64MultiArray()
    msg.layout.dim = [MultiArrayDimension(label=",".join(fields), size=len(fields), stride=len(fields))]
    msg.data = [float(values.get(f, float("nan"))) for f in fields]
    return msg


def read_labeled_array(msg) -> dict[str, float]:
    """The inverse of :func:`labeled_array`."""
    fields = msg.layout.dim[0].label.split(",") if msg.layout.dim else []
    return dict(zip(fields, (float(v) for v in msg.data), strict=False))


def _yaw_quaternion(yaw: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a rotation by ``yaw`` about +z."""
    return 0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)


def marker(ns: int | str, mid: int, kind: int, position, scale, rgba, stamp, text: str = "", yaw: float = 0.0,
           frame_id: str = WORLD_FRAME):
    """A visualization_msgs/Marker (ADD) in ``frame_id``."""
    from visualization_msgs.msg import Marker

    m = Marker(ns=str(ns), id=int(mid), type=kind, action=Marker.ADD, text=text)
    m.header.stamp, m.header.frame_id = stamp, frame_id
    m.pose.position.x, m.pose.position.y, m.pose.position.z = (float(v) for v in position)
    q = _yaw_quaternion(yaw)
    m.pose.orientation.x, m.pose.orientation.y, m.pose.orientation.z, m.pose.orientation.w = q
    m.scale.x, m.scale.y, m.scale.z = (float(v) for v in scale)
    m.color.r, m.color.g, m.color.b, m.color.a = (float(v) for v in rgba)
    return m


def quiet_model_loading() -> None:
    """No progress bars from transformers while a node loads its models (they garble prefixed output)."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass
