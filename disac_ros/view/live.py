"""``disac view --live``: an rclpy node that subscribes to the live graph as RViz would and logs into a recording.

It subscribes every topic :class:`disac_ros.view.recording.ViewRecording` draws, for each device of the scene
config, with the publishers' QoS (:mod:`disac_ros.ros.qos`: sensor data for images, camera info and echoes (5 frames),
transient local for ``/tf_static``, reliable otherwise), and hands each message to the recording.
"""
from __future__ import annotations

import time

from disac_ros.topics import CAMERA_INFO, ECHO, IMAGE, TF_STATIC, absolute, device_topic
from disac_ros.view.recording import DEVICE_TOPICS, GLOBAL_TOPICS, ViewRecording


def _qos(name: str, num_targets: int):
    from disac_ros.ros.qos import RELIABLE_QOS, SENSOR_QOS, TF_STATIC_QOS, newest_first

    if name == ECHO:
        return newest_first(SENSOR_QOS.depth * num_targets)  # best effort; a frame has one echo per target
    if name in (IMAGE, CAMERA_INFO):
        return SENSOR_QOS
    return TF_STATIC_QOS if name == TF_STATIC else RELIABLE_QOS


def view_live(recording: ViewRecording, devices: list[str], num_targets: int, duration: float | None = None) -> int:
    """Subscribe and log until Ctrl-C or ``duration`` seconds; returns the number of messages logged.

    The node runs in a ROS context of its own, so a process that uses rclpy already (a test) can call this too.
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    from disac_ros.ros.convert import import_message
    from disac_ros.ros.transport import use_graph_profile

    use_graph_profile()

    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("disac_view", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    count = 0

    def on(topic: str, msgtype: str):
        def callback(msg) -> None:
            nonlocal count
            count += recording.log(topic, msgtype, msg)
        return callback

    topics = [(topic, msgtype, topic) for topic, msgtype in GLOBAL_TOPICS.items()]
    topics += [(absolute(device_topic(d, name)), msgtype, name) for d in devices
               for name, msgtype in DEVICE_TOPICS.items()]
    for topic, msgtype, name in topics:
        node.create_subscription(import_message(msgtype), topic, on(topic, msgtype), _qos(name, num_targets))
    node.get_logger().info(f"viewing {len(topics)} topics of {len(devices)} devices" +
                           (f" for {duration:g} s" if duration else " (Ctrl-C to stop)"))
    end = time.monotonic() + duration if duration else float("inf")
    try:
        while context.ok() and time.monotonic() < end:
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    return count
