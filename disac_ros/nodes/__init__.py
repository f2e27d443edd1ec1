"""The rclpy nodes of the live graph; each node module has its ``PARAMETERS`` table, a Node class and ``main``.

Nodes: ``genesis_bridge`` (scene -> sensors, ground truth, /clock), ``device_encoder`` (one per collaborator, in its
device's namespace), ``channel`` (AWGN links, Eqs. 8-10) and ``aggregator`` (LSTN decoding + TRAM at the center).
They convert messages (:mod:`disac_ros.ros`) and call :mod:`disac_ros.inference`, :mod:`disac_ros.live` and
:mod:`disac_ros.models.link`; topic names are :mod:`disac_ros.topics`. Run one with
``python -m disac_ros.nodes.<name> --ros-args ...`` or ``ros2 run disac_ros <name>``.

What the nodes share:

* :mod:`~disac_ros.nodes.params` - ``declare_all``: a node's parameter table declared with descriptors, every value
  checked at start and on every ``ros2 param set`` (a refused one answers with the reason);
* :mod:`~disac_ros.nodes.sensors` - ``DeviceSensors``: one device's image and echoes, subscribed and paired;
* :mod:`~disac_ros.nodes.loading` - the scene config and trained run a node starts from, torch threads;
* :mod:`~disac_ros.nodes.spin` - ``spin`` (the process around a node) and ``ConfigError``.

Nothing a publisher sends ends a node: every callback checks what it receives (:mod:`disac_ros.live.checks`) and
is :func:`disac_ros.live.drops.guarded`, so a wrong input, or an exception nobody anticipated, is counted and logged
(throttled) and dropped; nothing non-finite is published (``nonfinite_output``).
"""
