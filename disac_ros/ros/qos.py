"""QoS of the live graph's topics, and the mapping between publishers' offered QoS, bags and the recorder/player.

The graph (documented in the README):

* sensors (``camera/image_raw``, ``camera/camera_info``, ``radar/echo``): offered as ``qos_profile_sensor_data``
  (best effort, keep last 5); the encoders and the aggregator subscribe newest first (:func:`newest_first`): keep
  last one frame (1 image, N echoes), and the aggregator keeps one frame's N codes per collaborator, so a busy
  node serves the newest frame instead of working through a backlog;
* ``/tf_static`` and each device's ``frame_stride``: reliable, transient local, keep last 1 (tf2_ros' static
  broadcaster; a device that starts late still gets the center's current stride);
* ``/clock``: best effort, keep last 1, as ``rclcpp::ClockQoS`` publishes it and as rclpy's TimeSource
  subscribes to it;
* everything else (``ground_truth/targets``, ``semantic/tx|rx``, ``link/stats``, ``semantic/timing``,
  ``targets``, markers): reliable, volatile, keep last 10 (the ROS default).

Bags, as rosbag2 does: the recorder subscribes reliable only if every publisher offers reliable (else best effort,
which still receives from reliable publishers), transient-local only if every publisher offers it, keep last
:data:`SUBSCRIPTION_DEPTH` (:func:`subscription_qos`); the offered profiles are stored in the bag
(:func:`to_bag_qos`) and the player offers them again (:func:`playback_qos`).
"""
from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

SENSOR_QOS = qos_profile_sensor_data
CLOCK_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST)
RELIABLE_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
#: ``/tf_static``: reliable, transient local, keep last 1, as tf2_ros' StaticTransformBroadcaster offers it.
TF_STATIC_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST,
                           durability=DurabilityPolicy.TRANSIENT_LOCAL)
#: A value that holds until replaced, for late joiners too (``frame_stride``).
LATCHED_QOS = TF_STATIC_QOS
#: Depth of the recorder's subscriptions, so that bursts are not dropped.
SUBSCRIPTION_DEPTH = 100


def newest_first(depth: int, reliable: bool = False) -> QoSProfile:
    """A consumer's QoS keeping only the last ``depth`` samples (one frame's messages), best effort unless ``reliable``.

    Where a stale frame is useless: a busy node finds the newest frame waiting, not a backlog.
    """
    return QoSProfile(depth=max(1, depth), history=HistoryPolicy.KEEP_LAST,
                      reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT)


def subscription_qos(offered: list) -> QoSProfile:
    """The recorder's subscription QoS that matches every publisher's offered rclpy profile."""
    reliable = bool(offered) and all(p.reliability == ReliabilityPolicy.RELIABLE for p in offered)
    latched = bool(offered) and all(p.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in offered)
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=SUBSCRIPTION_DEPTH,
                      reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)


def playback_qos(offered: list) -> QoSProfile:
    """The QoSProfile the player offers for a topic recorded with these ``rosbags`` Qos profiles.

    Best effort if every recorded publisher was best effort, reliable otherwise (a reliable publisher also serves
    best-effort subscribers); transient-local only if every recorded publisher was; depth as recorded, or 10.
    """
    from rosbags.interfaces import QosDurability, QosReliability

    best_effort = bool(offered) and all(q.reliability == QosReliability.BEST_EFFORT for q in offered)
    latched = bool(offered) and all(q.durability == QosDurability.TRANSIENT_LOCAL for q in offered)
    depth = max((q.depth for q in offered), default=0) or 10
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)


def to_bag_qos(profile):
    """A ``rosbags`` Qos from an rclpy QoSProfile (the two share the rmw enum values)."""
    from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime

    def dur(d) -> QosTime:
        sec, nsec = divmod(int(d.nanoseconds), 1_000_000_000)
        return QosTime(sec, nsec)

    return Qos(history=QosHistory(int(profile.history)), depth=int(profile.depth),
               reliability=QosReliability(int(profile.reliability)), durability=QosDurability(int(profile.durability)),
               deadline=dur(profile.deadline), lifespan=dur(profile.lifespan),
               liveliness=QosLiveliness(int(profile.liveliness)),
               liveliness_lease_duration=dur(profile.liveliness_lease_duration),
               avoid_ros_namespace_conventions=bool(profile.avoid_ros_namespace_conventions))
