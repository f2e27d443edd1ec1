"""ROS 2 plumbing below the nodes (no science here, no node).

* :mod:`~disac_ros.ros.convert` - NumPy <-> messages, stamps, the typed side channels, message classes;
* :mod:`~disac_ros.ros.qos` - the graph's QoS profiles and the recorder/player QoS mapping;
* :mod:`~disac_ros.ros.markers` - RViz markers of the scene and of the estimates;
* :mod:`~disac_ros.ros.bags` - rosbag2 (MCAP) writer and readers, ROS-free (``rosbags``);
* :mod:`~disac_ros.ros.recorder`, :mod:`~disac_ros.ros.player` - ``disac record`` / ``disac play``;
* :mod:`~disac_ros.ros.session` - an rclpy node for a command, stopped by SIGINT/SIGTERM through a flag;
* :mod:`~disac_ros.ros.supervisor` - ``disac launch``'s node processes: start, relay output, stop;
* :mod:`~disac_ros.ros.transport` - the Fast DDS profile every process uses (a frame's burst fits its shared memory).
"""
