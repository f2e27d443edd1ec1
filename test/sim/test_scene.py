"""disac_ros.sim.scene: the Genesis multi-view scene with its size variants (slow: builds and renders it)."""
from __future__ import annotations

import numpy as np
import pytest

NOMINAL = np.array([1, 1, 1])  # the scale-1 variant of each target in the smoke (= default) layout


@pytest.fixture(scope="module")
def scene(cfg, smoke_scene):
    """The session's smoke scene (``cfg`` is the same smoke preset)."""
    assert [t.scale for t in cfg.targets] == [t.scale for t in smoke_scene.cfg.targets]
    assert all(t.scale[1] == 1.0 for t in cfg.targets)
    return smoke_scene


def _open_positions(cfg):
    """Car south-west of the centre, in the open for every device; dog and drone elsewhere in the open."""
    return np.array([[-3.0, -2.0, 0.75], [-5.0, 0.5, 0.275], [5.0, -2.5, 5.0]])


def _project(scene, device_id, p):
    cam = scene.extrinsics(device_id) @ np.append(p, 1.0)
    uvw = scene.intrinsics(device_id) @ cam[:3]
    return uvw[:2] / uvw[2]


@pytest.mark.slow
def test_render_shapes_and_projection(cfg, scene):
    pos = _open_positions(cfg)
    scene.set_targets(pos, np.array([0.3, 1.0, -2.0]), NOMINAL)
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
    scene.set_targets(pos, yaws, NOMINAL)
    frames = scene.render()
    assert not frames[dev.id].visible[0] and (frames[dev.id].bbox[0] == -1).all()
    assert frames[dev.id].pixel_count[0] == 0
    assert any(frames[o.id].visible[0] for o in cfg.devices if o.id != dev.id)


@pytest.mark.slow
def test_render_follows_targets(cfg, scene):
    pos = _open_positions(cfg)
    scene.set_targets(pos, np.zeros(3), NOMINAL)
    first = scene.render()
    again = scene.render()
    pos[0, 0] += 2.0
    scene.set_targets(pos, np.zeros(3), NOMINAL)
    moved = scene.render()
    for dev in cfg.devices:
        np.testing.assert_array_equal(first[dev.id].rgb, again[dev.id].rgb)   # deterministic
        assert np.abs(moved[dev.id].rgb.astype(int) - first[dev.id].rgb).sum() > 0
        assert not np.array_equal(moved[dev.id].bbox[0], first[dev.id].bbox[0])


@pytest.mark.slow
def test_render_depth_on_request(smoke_cfg, smoke_scene):
    """``render(depth=True)`` gives each view's planar depth: finite and positive on the targets, about the camera-frame
    z of their centres, ``inf`` only off geometry (the sky); ``render()`` leaves it out and draws the same image."""
    from disac_ros.sim.motion import target_size

    cfg, scene = smoke_cfg, smoke_scene
    pos = np.array([[0.0, 0.0, 0.75], [-3.0, 4.0, 0.275], [3.0, -3.0, 3.5]])
    scene.set_targets(pos, np.array([0.3, 1.0, -2.0]))
    with_depth, plain = scene.render(depth=True), scene.render()
    centres, checked = scene.target_centers(), 0
    for dev in cfg.devices:
        f = with_depth[dev.id]
        assert plain[dev.id].depth is None
        np.testing.assert_array_equal(f.rgb, plain[dev.id].rgb)
        assert f.depth.shape == (cfg.camera.height, cfg.camera.width) and f.depth.dtype == np.float32
        assert (f.depth > 0).all() and not np.isnan(f.depth).any()
        # no target pixel is "sky", but for a few silhouette pixels that take the background's depth
        assert (f.mask[np.isinf(f.depth)] != -1).sum() <= max(2, 0.1 * (f.mask != -1).sum())
        for n in np.flatnonzero(f.pixel_count >= 5):  # a silhouette pixel may take its depth from the background
            d = f.depth[f.mask == n]
            assert np.isfinite(d).all(), (dev.id, n)
            z = (scene.extrinsics(dev.id) @ np.append(centres[n], 1.0))[2]   # camera-frame z of the centre
            half = 0.5 * np.linalg.norm(target_size(cfg.targets[n].type, np.max(cfg.targets[n].scale)))
            assert abs(np.median(d) - z) < half, (dev.id, n, np.median(d), z)   # the surface is within the box
            checked += 1
    assert checked >= 2                                                       # the car in at least two views
    assert any(np.isinf(with_depth[d.id].depth).any() for d in cfg.devices)   # the sky is seen, as inf


@pytest.mark.slow
def test_render_without_segmentation_draws_the_same_image(smoke_cfg, smoke_scene):
    """``render(segmentation=False)`` (the live bridge's) leaves the segmentation out and draws the same pixels."""
    scene = smoke_scene
    scene.set_targets(np.array([[0.0, 0.0, 0.75], [-3.0, 4.0, 0.275], [3.0, -3.0, 3.5]]), np.array([0.3, 1.0, -2.0]))
    full, fast = scene.render(), scene.render(segmentation=False)
    for dev in smoke_cfg.devices:
        assert fast[dev.id].mask is None and fast[dev.id].bbox is None and fast[dev.id].visible is None
        np.testing.assert_array_equal(fast[dev.id].rgb, full[dev.id].rgb)
    assert any(full[d.id].visible.any() for d in smoke_cfg.devices)   # targets were in view: the pixels compared


@pytest.mark.slow
def test_variants_render_the_chosen_size(cfg, scene):
    """Each variant renders at its own size, maps to its target in the segmentation, and the parked ones are unseen."""
    from disac_ros.sim.motion import target_size

    pos = _open_positions(cfg)
    pixels = []
    for v in range(3):
        sizes = np.stack([target_size(t.type, t.scale[v]) for t in cfg.targets])
        p = pos.copy()
        p[:2, 2] = sizes[:2, 2] / 2                               # ground targets on the ground
        scene.set_targets(p, np.zeros(3), np.full(3, v))
        np.testing.assert_allclose(scene.target_centers(), p, atol=0.06)
        frames = scene.render()
        assert all(frames[d.id].visible[0] for d in cfg.devices), v
        if v == 2:                                  # the small ones at their largest (64 px: a few pixels each)
            assert all(any(frames[d.id].visible[n] for d in cfg.devices) for n in (1, 2))
        for f in frames.values():
            np.testing.assert_array_equal(f.pixel_count, [(f.mask == n).sum() for n in range(3)])
            assert set(np.unique(f.mask)) <= {-1, 0, 1, 2}
        pixels.append(np.array([frames[d.id].pixel_count[0] for d in cfg.devices]))
    # The car's variants (0.85, 1.0, 1.15): its image area grows about with the scale squared.
    assert (pixels[0] < pixels[1]).all() and (pixels[1] < pixels[2]).all()
    assert pixels[2].sum() > 1.4 * pixels[0].sum()
    # Every target's placed variant inside a building: no device sees any pixel of any target, so none of the
    # parked variants is in any view.
    hidden = np.array([[3.0, 3.0, 0.64], [-7.5, 6.0, 0.3], [3.0, 3.0, 3.0]])
    assert cfg.obstacles[0].position == (3.0, 3.0) and cfg.obstacles[1].position == (-7.5, 6.0)
    scene.set_targets(hidden, np.zeros(3), np.zeros(3, int))
    for dev_id, f in scene.render().items():
        assert not f.visible.any() and (f.mask == -1).all(), dev_id
    with pytest.raises(ValueError, match="variant 3"):
        scene.set_targets(pos, np.zeros(3), np.array([0, 3, 0]))
