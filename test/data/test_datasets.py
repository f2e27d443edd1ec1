"""disac_ros.data.datasets: the torch datasets of a generated dataset, by split and device."""
from __future__ import annotations

import numpy as np
import pytest

from disac_ros.data import store
from disac_ros.data.crops import CROP_PX
from disac_ros.data.datasets import DeviceTargetDataset, MultiDeviceDataset

pytestmark = pytest.mark.slow


def test_torch_datasets(cfg, dataset):
    m = store.load_manifest(dataset)
    seen = {}
    for split in ("train", "val", "test"):
        ds = DeviceTargetDataset(dataset, split)
        seen[split] = {s for s, _, _ in ds.frames}
        assert seen[split] == set(m["splits"][split])
        if len(ds):
            x = ds[0]
            assert x["image"].shape == (3, CROP_PX, CROP_PX)                   # the target's radar-cued crop
            k, n = int(x["device"]), int(x["target"])
            (s, c, i), _, _ = ds.index[0]
            np.testing.assert_array_equal((x["image"].permute(1, 2, 0) * 255).round().byte().numpy(),
                                          ds.reader.file(s, c)["crop"][i, k, n])
            assert x["echo"].shape == (cfg.radar.num_chirps, cfg.radar.num_antennas, cfg.radar.num_samples)
            assert ((x["labels_norm"] > 0) & (x["labels_norm"] < 1)).all()
            assert np.allclose(ds.denormalize(x["labels_norm"]), x["labels"], atol=1e-4)
    assert not (seen["train"] & seen["test"]) and not (seen["train"] & seen["val"])
    one = DeviceTargetDataset(dataset, "train", devices=["device_2"])
    assert {int(one[i]["device"]) for i in range(len(one))} == {2}
    with pytest.raises(ValueError, match="unknown device"):
        DeviceTargetDataset(dataset, "train", devices=["device_9"])
    multi = MultiDeviceDataset(dataset, "train", center="device_1")
    x = multi[0]
    assert x["image"].shape[0] == len(cfg.devices) and x["devices"][0] == 1
    assert x["link_distance"][0] == 0


def test_samples_say_whether_their_radar_path_was_blocked(dataset):
    import h5py

    ds = DeviceTargetDataset(dataset, "train", devices=["device_1"])
    flags = [bool(ds[i]["blocked"]) for i in range(len(ds))]
    stored = []
    for (s, c, i), k, n in ds.index:
        with h5py.File(store.chunk_path(dataset, s, c)) as f:
            stored.append(bool(f["blocked"][i, k, n]))
    assert flags == stored
