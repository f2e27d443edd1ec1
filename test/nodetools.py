"""The nodes' parameter tables (``PARAMETERS``), checks of an in-process node (its declared parameters, its topics)
and a stand-in for the Genesis scene the bridge builds."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np


def _tables() -> dict[str, tuple]:
    """Each executable's parameter table (``PARAMETERS`` of its node module)."""
    from disac_ros.nodes import aggregator, channel, device_encoder, genesis_bridge

    return {m.__name__.rsplit(".", 1)[-1]: m.PARAMETERS for m in (genesis_bridge, device_encoder, channel, aggregator)}


def _declared(executable: str) -> set[str]:
    return {p.name for p in _tables()[executable]}


_INT64 = (-(2**63), 2**63 - 1)


def _assert_declared_as_table(node, table) -> None:
    """The node declared exactly its table: names, descriptions, read-only flags and ranges."""
    declared = set(node.list_parameters([], 0).names) - {"use_sim_time", "start_type_description_service"}
    assert declared == {p.name for p in table}
    for p, d in zip(table, node.describe_parameters([p.name for p in table]), strict=True):
        assert (d.name, d.description, d.read_only) == (p.name, p.description, p.read_only)
        if p.range is None:
            assert not d.floating_point_range and not d.integer_range, p.name
        elif isinstance(p.default, int):
            (r,) = d.integer_range
            expected = tuple(_INT64[i] if math.isinf(v) else v for i, v in enumerate(p.range))
            assert (r.from_value, r.to_value) == expected and not d.floating_point_range, p.name
        else:
            (r,) = d.floating_point_range
            assert (r.from_value, r.to_value) == p.range and not d.integer_range, p.name


def _topics(node) -> tuple[set[str], set[str]]:
    """(subscribed, published) resolved topic names of an in-process node."""
    return {s.topic_name for s in node.subscriptions}, {p.topic_name for p in node.publishers}


class FakeScene:
    """What the bridge uses of a GenesisScene, without Genesis: it records the placements."""

    def __init__(self, cfg, backend):
        self.cfg = cfg
        self.placed = []

    def intrinsics(self, device_id):
        return np.eye(3)

    def extrinsics(self, device_id):  # world -> camera: the world's axes, at the device
        out = np.eye(4)
        out[:3, 3] = -np.asarray(next(d.position for d in self.cfg.devices if d.id == device_id))
        return out

    def set_targets(self, positions, yaws, variants=None):
        self.placed.append((np.array(positions), np.array(yaws), None if variants is None else np.array(variants)))

    def render(self, depth=False, segmentation=True):
        self.segmentation = segmentation   # the bridge asks for none: it publishes images only
        cam = self.cfg.camera
        return {d.id: SimpleNamespace(rgb=np.zeros((cam.height, cam.width, 3), np.uint8), depth=None)
                for d in self.cfg.devices}

    def close(self):
        pass
