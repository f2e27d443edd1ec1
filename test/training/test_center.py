"""disac_ros.training.center with the trainer and the world's probes: the test split is read by the final
evaluation only. Every chunk file a smoke training run and the probes open is recorded; none may be of a test
sequence, and no dataset of the test split may be built. The evaluation then encodes the collaborators' test codes
on demand."""
from __future__ import annotations

import shutil

import pytest

from disac_ros.data import datasets, store
from disac_ros.data.detections import dataset_estimates

pytestmark = pytest.mark.slow


@pytest.fixture
def recorder(monkeypatch):
    """Record the sequence of every chunk file opened and the split of every dataset built."""
    read: dict[str, list] = {"sequences": [], "splits": []}
    open_chunk, build = store.ChunkReader.file, datasets._Indexed.__init__

    def file(self, sequence, chunk):
        read["sequences"].append(int(sequence))
        return open_chunk(self, sequence, chunk)

    def init(self, root, split):
        read["splits"].append(split)
        build(self, root, split)

    monkeypatch.setattr(store.ChunkReader, "file", file)
    monkeypatch.setattr(datasets._Indexed, "__init__", init)
    return read


def test_training_and_probing_read_no_test_sequence(smoke_data, tmp_path, recorder):
    from safetensors.torch import load_file

    from disac_ros.cli import main
    from disac_ros.data.probes import PROBE_SPLIT, run_probes
    from disac_ros.runs import Run
    from disac_ros.training.center import CenterSide, split_codes_path

    data = tmp_path / "data"
    shutil.copytree(smoke_data, data)
    manifest = store.load_manifest(data)
    test = set(manifest["splits"]["test"])
    assert test and not test & (set(manifest["splits"]["train"]) | set(manifest["splits"]["val"]))
    dataset_estimates(data, manifest)  # the label-free radar front end of every echo, cached once per dataset
    recorder["sequences"].clear()

    run = tmp_path / "run"
    assert main(["train", "--data", str(data), "--out", str(run), "--preset", "smoke", "--no-progress"]) == 0
    probes = run_probes(data, manifest)
    assert probes["split"] == PROBE_SPLIT == "val" and probes["sequences"] == len(manifest["splits"]["val"])
    assert {"train", "val"} <= set(recorder["splits"]) and recorder["sequences"]
    assert "test" not in recorder["splits"], "training or probing built a dataset of the test split"
    read_test = sorted(set(recorder["sequences"]) & test)
    assert not read_test, f"training or probing read test sequences {read_test}"
    collaborators = Run(run).collaborators(Run(run).center)
    for device in collaborators:  # the hand-over holds no test sample
        keys = load_file(str(run / "handover" / device / "codes.safetensors"))["keys"]
        assert not set(keys[:, 0].tolist()) & test
        assert not split_codes_path(Run(run), device, "test").exists()

    # the final evaluation: the collaborators encode their test samples when it first asks for them
    part = CenterSide(Run(run), data).split("test")
    assert {k[0] for k in part.keys} == test and part.codes.shape[:2] == (len(part.keys), len(collaborators))
    assert set(recorder["splits"]) >= {"test"} and set(recorder["sequences"]) & test
    path = split_codes_path(Run(run), collaborators[0], "test")
    stamp = path.stat().st_mtime_ns
    again = CenterSide(Run(run), data).split("test")   # kept, not encoded again
    assert path.stat().st_mtime_ns == stamp and bool((again.codes == part.codes).all())
