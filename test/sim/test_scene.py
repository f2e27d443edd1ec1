"""disac_ros.sim.scene: the Genesis multi-view scene (slow: builds and renders it)."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def scene(cfg):
    pytest.importorskip("genesis")
    from disac_ros.sim.scene import GenesisScene

    sc = GenesisScene(cfg, backend="cpu")
    yield sc
    sc.close()


def _open_positions(cfg):
    """Car at the region centre, dog and drone elsewhere in the open."""
    return np.array([[0.0, 0.0, 0.75], [-3.0, 4.0, 0.275], [3.0, -3.0, cfg.targets[2].altitude]])


def _project(scene, device_id, p):
    cam = scene.extrinsics(device_id) @ np.append(p, 1.0)
    uvw = scene.intrinsics(device_id) @ cam[:3]
    return uvw[:2] / uvw[2]


@pytest.mark.slow
def test_render_shapes_and_projection(cfg, scene):
    pos = _open_positions(cfg)
    scene.set_targets(pos, np.array([0.3, 1.0, -2.0]))
    np.testing.assert_allclose(scene.target_centers(), pos, atol=0.05)
    frames = scene.render()
    assert list(frames) == [d.id for d in cfg.devices]
    for dev in cfg.devices:
        f = frames[dev.id]
        assert f.rgb.shape == (cfg.camera.height, cfg.camera.width, 3) and f.rgb.dtype == np.uint8
        assert f.visible.shape == (3,) and f.bbox.shape == (3, 4) and f.pixel_count.shape == (3,)
        assert f.mask.shape == (cfg.camera.height, cfg.camera.width)
        np.testing.assert_array_equal(f.pixel_count, [(f.mask == n).sum() for n in range(3)])
        assert f.visible[0], f"car in the open at the centre is hidden from {dev.id}"
        x0, y0, x1, y1 = f.bbox[0]
        u, v = _project(scene, dev.id, scene.target_centers()[0])
        assert x0 <= u <= x1 + 1 and y0 <= v <= y1 + 1, (dev.id, f.bbox[0], u, v)
        E = scene.extrinsics(dev.id)
        np.testing.assert_allclose(E[:3, :3] @ dev.position + E[:3, 3], 0.0, atol=1e-4)  # camera at the device


@pytest.mark.slow
def test_occluded_behind_building(cfg, scene):
    dev = cfg.devices[1]
    building = cfg.obstacles[0]
    assert building.type == "building"
    b, d = np.array(building.position), np.array(dev.position[:2])
    ray = (b - d) / np.linalg.norm(b - d)
    pos = _open_positions(cfg)
    pos[0, :2] = b + ray * (max(building.size[:2]) / 2 + 2.6)  # the car right behind it, seen from device_1
    yaws = np.array([np.arctan2(ray[1], ray[0]), 0.0, 0.0])    # lengthwise along the line of sight
    scene.set_targets(pos, yaws)
    frames = scene.render()
    assert not frames[dev.id].visible[0] and (frames[dev.id].bbox[0] == -1).all()
    assert frames[dev.id].pixel_count[0] == 0
    assert any(frames[o.id].visible[0] for o in cfg.devices if o.id != dev.id)


@pytest.mark.slow
def test_render_follows_targets(cfg, scene):
    pos = _open_positions(cfg)
    scene.set_targets(pos, np.zeros(3))
    first = scene.render()
    again = scene.render()
    pos[0, 0] += 2.0
    scene.set_targets(pos, np.zeros(3))
    moved = scene.render()
    for dev in cfg.devices:
        np.testing.assert_array_equal(first[dev.id].rgb, again[dev.id].rgb)   # deterministic
        assert np.abs(moved[dev.id].rgb.astype(int) - first[dev.id].rgb).sum() > 0
        assert not np.array_equal(moved[dev.id].bbox[0], first[dev.id].bbox[0])
