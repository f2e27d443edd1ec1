"""disac_ros.ros.frames: the devices' frames on /tf_static agree with the camera extrinsics and the radar arrays."""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from disac_ros.config import load_scene
from disac_ros.ros.convert import to_time
from disac_ros.ros.frames import camera_frame, device_frame, radar_frame, tf_static
from disac_ros.sim.radar import ArrayPose


def look_at(position, lookat) -> np.ndarray:
    """World -> camera [4, 4] in OpenCV axes (x right, y down, z forward), as a renderer's extrinsics."""
    z = np.asarray(lookat, float) - position
    z /= np.linalg.norm(z)
    x = np.cross(z, [0, 0, 1.0])
    x /= np.linalg.norm(x)
    rotation = np.stack([x, np.cross(z, x), z])
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = rotation, -rotation @ position
    return out


def test_a_world_point_reaches_the_same_camera_and_array_coordinates_through_tf():
    cfg = load_scene(preset="smoke")
    extrinsics = {d.id: look_at(np.asarray(d.position, float), d.lookat) for d in cfg.devices}
    msg = tf_static(cfg, extrinsics, to_time(0.0))
    tf = {(t.header.frame_id, t.child_frame_id): t.transform for t in msg.transforms}
    assert len(tf) == 3 * len(cfg.devices)

    def matrix(parent, child) -> np.ndarray:
        t = tf[(parent, child)]
        out = np.eye(4)
        out[:3, :3] = Rotation.from_quat([t.rotation.x, t.rotation.y, t.rotation.z, t.rotation.w]).as_matrix()
        out[:3, 3] = t.translation.x, t.translation.y, t.translation.z
        return out

    point = np.array([3.0, -7.0, 2.5, 1.0])
    for dev in cfg.devices:
        world_device = matrix("world", device_frame(dev.id))
        assert np.allclose(world_device[:3, :3], np.eye(3)) and np.allclose(world_device[:3, 3], dev.position)
        in_camera = np.linalg.inv(world_device @ matrix(dev.id, camera_frame(dev.id))) @ point
        assert np.allclose(in_camera, extrinsics[dev.id] @ point)
        in_array = np.linalg.inv(world_device @ matrix(dev.id, radar_frame(dev.id))) @ point
        pose = ArrayPose.for_device(dev, cfg.radar)
        assert np.allclose(in_array[:3], pose.rotation @ (point[:3] - pose.position))
