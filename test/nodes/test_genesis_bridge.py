"""disac_ros.nodes.genesis_bridge, in-process (with a stand-in scene): its table, its topics, and its live sequences
(the dataset's motion model, drawn by the generator's own function with live seeds)."""
from __future__ import annotations

import numpy as np
import pytest
from nodetools import FakeScene, _assert_declared_as_table, _topics


@pytest.fixture
def bridge(rclpy_context, monkeypatch):
    import disac_ros.sim.scene
    from disac_ros.nodes.genesis_bridge import GenesisBridge

    monkeypatch.setattr(disac_ros.sim.scene, "GenesisScene", FakeScene)
    nodes = []

    def make(**params):
        from rclpy.parameter import Parameter

        overrides = [Parameter("preset", value="smoke"), Parameter("num_devices", value=2)]
        overrides += [Parameter(k, value=v) for k, v in params.items()]
        node = GenesisBridge(parameter_overrides=overrides)
        node.timer.cancel()                 # the test steps it by hand
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        node.close()
        node.destroy_node()


def test_genesis_bridge_declares_its_table(bridge):
    from disac_ros.nodes.genesis_bridge import PARAMETERS

    node = bridge()
    _assert_declared_as_table(node, PARAMETERS)
    assert {"/clock", "/device_1/camera/image_raw", "/device_1/camera/camera_info", "/device_1/radar/echo",
            "/ground_truth/targets", "/scene/markers"} <= _topics(node)[1]
    assert node.resample_every_s == node.cfg.dataset.duration      # default -1: the dataset's sequence duration


def test_live_sequences_are_the_generators_function_with_live_seeds(bridge):
    from disac_ros.nodes.genesis_bridge import LIVE_SEED_OFFSET
    from disac_ros.sim.motion import frame_times, sequence_trajectories

    node = bridge(seed=7)
    cfg = node.cfg
    per_sequence = cfg.dataset.frames_per_sequence
    times = frame_times(cfg)
    for i in range(3):
        expected = sequence_trajectories(cfg, 7, LIVE_SEED_OFFSET + i)
        dataset = sequence_trajectories(cfg, 7, i)
        for f, t in enumerate(times):
            positions, velocities, yaws, trajs, sequence, local = node._targets_at(i * per_sequence + f)
            assert sequence == i and local == f
            np.testing.assert_array_equal(positions, [tr.position(t) for tr in expected])
            np.testing.assert_array_equal(velocities, [tr.velocity(t) for tr in expected])
            np.testing.assert_array_equal(yaws, [tr.yaw(t) for tr in expected])
            assert [tr.variant for tr in trajs] == [tr.variant for tr in expected]
        assert not np.allclose([tr.start for tr in dataset], [tr.start for tr in expected])  # never the dataset's


def test_step_places_the_drawn_variants(bridge):
    from disac_ros.nodes.genesis_bridge import LIVE_SEED_OFFSET
    from disac_ros.sim.motion import sequence_trajectories

    node = bridge(resample_every_s=0.0)            # one endless sequence
    for _ in range(3):
        node.step()
    expected = sequence_trajectories(node.cfg, node.seed, LIVE_SEED_OFFSET)
    assert len(node.scene.placed) == 3
    for k, (positions, _yaws, variants) in enumerate(node.scene.placed):
        t = k / node.fps
        np.testing.assert_array_equal(positions, [tr.position(t) for tr in expected])
        np.testing.assert_array_equal(variants, [tr.variant for tr in expected])
    assert node._targets_at(10**4)[-2:] == (0, 10**4)  # never resampled
    assert node.scene.segmentation is False               # no segmentation pass for images alone


def test_the_bridge_senses_a_scene_state_as_the_generator_did(rclpy_context, smoke_cfg, smoke_scene, smoke_data,
                                                               smoke_run, monkeypatch, published):
    """Issue 15: with ``sequence_offset`` 0 the bridge replays dataset sequence 0; every frame's image, echoes and
    labels equal what the generator wrote for it (the same trajectories, render, camera and radar noise). Issue 29:
    the live encoder's camera input (``SensingDevice.inputs``: the radar-cued crops of the published image around
    its own detections of the published echoes) is the generator's stored crops, pixel for pixel, and the
    published image's thumbnail is the stored one."""
    from rclpy.parameter import Parameter

    import disac_ros.sim.scene
    from disac_ros.data import crops, store
    from disac_ros.inference import SensingDevice
    from disac_ros.nodes.genesis_bridge import GenesisBridge
    from disac_ros.ros.convert import msg_to_echo, msg_to_image

    monkeypatch.setattr(disac_ros.sim.scene, "GenesisScene", lambda cfg, backend: smoke_scene)
    node = GenesisBridge(parameter_overrides=[Parameter("preset", value="smoke"),
                                              Parameter("sequence_offset", value=0)])
    node.timer.cancel()
    try:
        ids = [d.id for d in node.cfg.devices]
        images = {d: published(node.image_pubs[d]) for d in ids}
        echoes = {d: published(node.echo_pubs[d]) for d in ids}
        truth = published(node.truth_pub)
        chunk = store.ChunkReader(smoke_data).file(0, 0)
        frames = len(chunk["frame_index"])
        for _ in range(frames):
            node.step()
        N = len(node.cfg.targets)
        assert node.cfg.camera.crop and "image" not in chunk   # the dataset keeps crops and thumbnails
        for k, d in enumerate(ids):
            live_images = np.stack([msg_to_image(m) for m in images[d]])
            live_echoes = np.stack([msg_to_echo(m) for m in echoes[d]]).reshape(frames, N, *chunk["echo"].shape[3:])
            np.testing.assert_array_equal(live_echoes, chunk["echo"][:, k], err_msg=f"{d}'s echoes")
            np.testing.assert_array_equal(np.stack([crops.thumbnail(im) for im in live_images]),
                                          chunk["thumbnail"][:, k], err_msg=f"{d}'s images")
            if k == 0:
                continue  # the center encodes nothing; its crops are the aggregator's, the same function
            encoder = SensingDevice.load(smoke_run, d)
            for f in range(frames):
                image, _, _ = encoder.inputs(d, live_images[f], live_echoes[f])
                live_crops = (image.permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)
                np.testing.assert_array_equal(live_crops, chunk["crop"][f, k], err_msg=f"{d}'s crops, frame {f}")
        labels = np.array([[[t.distance, t.azimuth, t.pitch, t.radial_velocity] for t in m.targets] for m in truth])
        np.testing.assert_allclose(labels, chunk["labels"][:, 0], rtol=1e-6, atol=1e-6)  # float32 in the dataset
    finally:
        node.scene = None  # the session's scene: not the bridge's to close
        node.destroy_node()
