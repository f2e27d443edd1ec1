"""disac_ros.nodes.genesis_bridge, in-process (with a stand-in scene): it declares its table and its topics."""
from __future__ import annotations

import numpy as np
from nodetools import _assert_declared_as_table, _topics


def test_genesis_bridge_declares_its_table(rclpy_context, monkeypatch):
    from rclpy.parameter import Parameter

    import disac_ros.sim.scene
    from disac_ros.nodes.genesis_bridge import PARAMETERS, GenesisBridge

    class FakeScene:
        def __init__(self, cfg, backend):
            self.cfg = cfg

        def intrinsics(self, device_id):
            return np.eye(3)

        def close(self):
            pass

    monkeypatch.setattr(disac_ros.sim.scene, "GenesisScene", FakeScene)
    node = GenesisBridge(parameter_overrides=[Parameter("preset", value="smoke"), Parameter("num_devices", value=2)])
    try:
        _assert_declared_as_table(node, PARAMETERS)
        assert {"/clock", "/device_1/camera/image_raw", "/device_1/camera/camera_info", "/device_1/radar/echo",
                "/ground_truth/targets", "/scene/markers"} <= _topics(node)[1]
    finally:
        node.close()
        node.destroy_node()
