"""Every topic name of the live graph, once (ROS-free), and the per-device helpers.

Names are relative, as ros2/demos and launch_ros expect, so that a node started in a namespace or with a remap
(``-r __ns:=/other``, ``-r camera/image_raw:=/cam``) follows it:

* a node in a device's namespace (``/<dev>/device_encoder``) uses the names as they are: ``camera/image_raw``
  resolves to ``/<dev>/camera/image_raw``;
* a node in the root namespace (bridge, channel, aggregator) names another device's topic with
  :func:`device_topic`: ``device_1/semantic/rx`` resolves to ``/device_1/semantic/rx``.

``/clock``, ``/diagnostics`` and ``/tf_static`` are absolute (rclpy's time source subscribes to ``/clock``
there; ROS's diagnostic tools read ``/diagnostics``; tf2 listeners ``/tf_static``). Bags and ``ros2 topic list``
show the resolved, absolute names (:func:`absolute`).

Topics (message; publisher):

* ``camera/image_raw`` (sensor_msgs/Image, rgb8), ``camera/camera_info`` (sensor_msgs/CameraInfo), ``radar/echo``
  (disac_ros/RadarEcho, one per target): genesis_bridge, per device;
* ``semantic/tx`` (disac_ros/SemanticCode) and ``semantic/timing`` (disac_ros/EncoderTiming, t_ft and t_se of
  Eq. 14): device_encoder;
* ``semantic/rx`` (disac_ros/SemanticCode) and ``link/stats`` (disac_ros/LinkStats, Eqs. 9-10): channel, per
  collaborator;
* ``frame_stride`` (std_msgs/Float64, latched): aggregator, per collaborator: encode one frame in it, the frames
  :func:`disac_ros.live.stride.on_stride` keeps;
* ``targets`` (disac_ros/TargetStateArray) and ``targets/markers`` (visualization_msgs/MarkerArray): aggregator;
* ``ground_truth/targets`` (disac_ros/TargetStateArray), ``scene/markers`` (visualization_msgs/MarkerArray) and
  ``/clock`` (rosgraph_msgs/Clock): genesis_bridge (``/clock`` also ``disac play``);
* ``/tf_static`` (tf2_msgs/TFMessage, latched): genesis_bridge, each device's frames (:mod:`disac_ros.ros.frames`);
* ``/diagnostics`` (diagnostic_msgs/DiagnosticArray, about 1 Hz): every node.
"""
from __future__ import annotations

# -- per device (in the device's namespace) -------------------------------------------------------------------
IMAGE = "camera/image_raw"
CAMERA_INFO = "camera/camera_info"
ECHO = "radar/echo"
TX = "semantic/tx"
TIMING = "semantic/timing"
RX = "semantic/rx"
LINK_STATS = "link/stats"
FRAME_STRIDE = "frame_stride"

# -- graph-wide ------------------------------------------------------------------------------------------------
TARGETS = "targets"
TARGET_MARKERS = "targets/markers"
GROUND_TRUTH = "ground_truth/targets"
SCENE_MARKERS = "scene/markers"
CLOCK = "/clock"
DIAGNOSTICS = "/diagnostics"
TF_STATIC = "/tf_static"


def device_topic(device_id: str, name: str) -> str:
    """``device_1/camera/image_raw``: device ``device_id``'s topic ``name`` as a node outside its namespace names it.

    An empty ``device_id`` gives ``name`` itself: the topic in the node's own namespace.
    """
    return f"{device_id}/{name}" if device_id else name


def absolute(name: str) -> str:
    """``/device_1/camera/image_raw``: what a relative ``name`` resolves to in the root namespace (bags store this)."""
    name = name.strip()
    if not name:
        raise ValueError("empty topic name")
    return name if name.startswith("/") else "/" + name
