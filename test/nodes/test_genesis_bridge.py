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
            positions, velocities, yaws, trajs, sequence = node._targets_at(i * per_sequence + f)
            assert sequence == i
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
    assert node._targets_at(10**4)[-1] == 0        # never resampled
