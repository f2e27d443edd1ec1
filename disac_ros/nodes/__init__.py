"""The rclpy nodes of the live graph; each module has a Node class and ``main(args=None)``.

``genesis_bridge`` (scene -> sensors, ground truth, /clock), ``device_encoder`` (one per collaborator),
``channel`` (AWGN links, Eqs. 8-10) and ``aggregator`` (LSTN decoding + TRAM at the center). They convert
messages and call :mod:`disac_ros.inference` and :mod:`disac_ros.pipeline`; run one with
``python -m disac_ros.nodes.<name> --ros-args ...`` or ``ros2 run disac_ros <name>``.
"""
