"""ROS-free logic of the live graph's nodes, unit-tested without rclpy (the nodes convert messages and call it).

* :mod:`~disac_ros.live.pairing` - :class:`FrameAssembler`: one device's image and the echoes of all N targets of
  the same stamp, in a bounded buffer that drops stale, duplicate and out-of-order stamps.
* :mod:`~disac_ros.live.window` - :class:`CollaboratorWindow`: the center's frames held until every live
  collaborator's codes of that stamp arrived or ``window_s`` passed.
* :mod:`~disac_ros.live.drops` - why an input is dropped (:class:`Dropped`, :data:`DROP_REASONS`), the mapping of
  conversion errors to reasons, the throttled per-reason log (:class:`DropLog`) and :func:`guarded`, which keeps an
  unanticipated exception in a callback from ending the node.
* :mod:`~disac_ros.live.checks` - the checks of what a node receives (stamps, labelled arrays, durations, code
  layouts) and publishes (finite target states and arrays).
* :mod:`~disac_ros.live.timing` - the stages of Eq. (14), per-stage times and ``T_exe``.
* :mod:`~disac_ros.live.params` - :class:`Param`, one row of a node's parameter table, and the checks of a value
  (:meth:`Param.validate`) and of a change (:func:`validate_changes`).

The link model of the channel node is :mod:`disac_ros.models.link`; stamps are :mod:`disac_ros.stamps`; topic
names are :mod:`disac_ros.topics`.
"""
