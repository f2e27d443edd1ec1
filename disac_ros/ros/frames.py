"""The graph's coordinate frames (REP 103/105 names) and their ``/tf_static`` transforms, in one place.

Tree (``world`` is the fixed frame of RViz and of every marker)::

    world
    └── <dev>            the device's position, axes parallel to world: the frame of Eqs. (55)-(58), in which
        │                 TargetStateArray reports distance, azimuth, pitch and radial velocity (frame_id = the
        │                 reference device's id)
        ├── <dev>_radar  the radar array (:class:`disac_ros.sim.radar.ArrayPose`): x boresight, y left, z up;
        │                 RadarEcho's frame
        └── <dev>_camera the camera's optical frame (x right, y down, z forward, as ``sensor_msgs/CameraInfo``
                          expects); Image's and CameraInfo's frame

The transforms come from the scene config (device positions, ``radar.boresight``) and the renderer's camera
extrinsics (world -> camera, OpenCV axes).
"""
from __future__ import annotations

import numpy as np

WORLD_FRAME = "world"


def device_frame(device_id: str) -> str:
    return device_id


def radar_frame(device_id: str) -> str:
    return f"{device_id}_radar"


def camera_frame(device_id: str) -> str:
    return f"{device_id}_camera"


def device_transforms(cfg, extrinsics: dict[str, np.ndarray]) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """(parent, child, translation [3], rotation [3, 3] child -> parent) of every device's frames.

    ``extrinsics``: device id -> the camera's world -> camera matrix [4, 4] (or [3, 4]).
    """
    from disac_ros.sim.radar import ArrayPose

    out = []
    for dev in cfg.devices:
        position = np.asarray(dev.position, dtype=np.float64)
        out.append((WORLD_FRAME, device_frame(dev.id), position, np.eye(3)))
        array = ArrayPose.for_device(dev, cfg.radar)
        out.append((device_frame(dev.id), radar_frame(dev.id), np.zeros(3), array.rotation.T))
        ext = np.asarray(extrinsics[dev.id], dtype=np.float64)
        world_to_cam = ext[:3, :3]
        cam_in_world = -world_to_cam.T @ ext[:3, 3]
        out.append((device_frame(dev.id), camera_frame(dev.id), cam_in_world - position, world_to_cam.T))
    return out


def tf_static(cfg, extrinsics: dict[str, np.ndarray], stamp):
    """A ``tf2_msgs/TFMessage`` of :func:`device_transforms`, stamped ``stamp``."""
    from geometry_msgs.msg import TransformStamped
    from scipy.spatial.transform import Rotation
    from tf2_msgs.msg import TFMessage

    msg = TFMessage()
    for parent, child, translation, rotation in device_transforms(cfg, extrinsics):
        t = TransformStamped()
        t.header.stamp, t.header.frame_id, t.child_frame_id = stamp, parent, child
        t.transform.translation.x, t.transform.translation.y, t.transform.translation.z = (float(v) for v in
                                                                                             translation)
        x, y, z, w = Rotation.from_matrix(rotation).as_quat()
        t.transform.rotation.x, t.transform.rotation.y, t.transform.rotation.z, t.transform.rotation.w = (
            float(x), float(y), float(z), float(w))
        msg.transforms.append(t)
    return msg
