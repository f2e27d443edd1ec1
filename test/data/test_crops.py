"""disac_ros.data.crops: the radar-cued crop is centred on the target the radar detected, black outside the image,
never upsampled, and a rendered target sits in the middle of its crop."""
from __future__ import annotations

import numpy as np
import pytest

from disac_ros.data import crops, detections


def test_windows_follow_the_cue_and_the_range_and_never_upsample():
    cue = np.array([[0.0, 0.0, 1.0], [0.5, -0.5, 1.0], [0.9, 0.9, 0.0], [0.0, 0.0, 1.0]])
    rng = np.array([10.0, 100.0, 10.0, np.nan])
    w = crops.crop_windows(cue, rng, focal_px=1000.0, image_size=(1280, 720), default_range=30.0)
    side = round(1000 * crops.CROP_M / 10)                                   # 3 m at 10 m: 300 px
    assert w[0].tolist() == [640 - side // 2, 360 - side // 2, side]
    assert w[1, 2] == crops.CROP_PX                                           # 30 px at 100 m: native 64 instead
    assert w[1, 0] + crops.CROP_PX / 2 == pytest.approx(960, abs=1) and w[1, 1] + crops.CROP_PX / 2 == 180
    for row in (2, 3):  # no valid cue, or no finite range: the image centre at the view's range
        assert w[row].tolist() == [640 - 50, 360 - 50, 100]


def test_a_crop_is_the_window_black_outside_the_image_and_area_averaged():
    image = np.zeros((90, 160, 3), np.uint8)
    image[40:50, 70:80] = 255
    native = crops.crop(image, (43, 13, crops.CROP_PX))                       # a native window: the pixels
    np.testing.assert_array_equal(native, image[13:77, 43:107])
    edge = crops.crop(image, (-32, -32, crops.CROP_PX))                       # a quarter inside, the rest black
    assert not edge[:32].any() and not edge[:, :32].any()
    np.testing.assert_array_equal(edge[32:, 32:], image[:32, :32])
    big = crops.crop(image, (10, -20, 2 * crops.CROP_PX))                     # twice the side: halved by area
    assert big.shape == (crops.CROP_PX, crops.CROP_PX, 3)
    assert big.astype(float).sum() == pytest.approx(image.astype(float).sum() / 4, rel=1e-6)


@pytest.mark.slow
def test_a_rendered_target_is_centred_in_the_crop_of_its_detection(smoke_cfg, smoke_scene):
    """Genesis renders the car in front of device_0; the crop around the radar-style estimate of its centre
    (exact array-frame range and angles, projected through the rig) holds the car's pixels at its middle."""
    cfg = smoke_cfg
    k, dev = 0, cfg.devices[0]
    pose = detections.device_pose(cfg, k, known=False)
    car = pose.position + np.array([1.0, 0.0, 0.0]) @ pose.rotation * 20.0
    car[2] = 0.75
    away = np.array([[40.0, 40.0, 0.5], [-40.0, 40.0, 3.0]])                  # the dog and the drone off stage
    smoke_scene.set_targets(np.vstack([car, away]), np.zeros(3))
    view = smoke_scene.render()[dev.id]
    assert view.visible[0]
    slant, az, pitch, _ = pose.local(car[None])
    est = np.zeros((1, len(detections.FIELDS)))
    for name, value in (("detected", 1.0), ("slant_range", slant[0]), ("azimuth_local", az[0]),
                        ("pitch_local", pitch[0])):
        est[0, detections.FIELDS.index(name)] = value
    intrinsics, extrinsics = smoke_scene.intrinsics(dev.id), smoke_scene.extrinsics(dev.id)
    mask = np.repeat((view.mask == 0)[..., None], 3, axis=-1).astype(np.uint8) * 255   # the car's pixels, white
    cropped = crops.device_crops(mask, est, cfg, k, intrinsics, extrinsics)[0, ..., 0]
    ys, xs = np.nonzero(cropped > 127)
    middle = (crops.CROP_PX - 1) / 2
    assert len(xs) > 20
    assert abs(xs.mean() - middle) < 4 and abs(ys.mean() - middle) < 4      # the car's centroid at the middle
    rgb = crops.device_crops(view.rgb, est, cfg, k, intrinsics, extrinsics)
    assert rgb.shape == (1, crops.CROP_PX, crops.CROP_PX, 3) and rgb.dtype == np.uint8
