"""disac_ros.deploy and the two halves of disac_ros.inference: each side carries only what it runs (issue 14).

On the session's smoke run (LLM-DiSAC, 4 devices): the device artifact holds RVFN + encoder only, the center's no
collaborator's RVFN; the halves give the same codes and estimates as the run's own models; a tampered, mismatched
or stale artifact is refused with the field or the command named.
"""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from disac_ros.deploy import ARTIFACT_FILE, DEVICE_PARTS, center_folder, export, read_artifact, resolve
from disac_ros.inference import AggregationCenter, Received, SensingDevice
from disac_ros.runs import WEIGHTS, Run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(smoke_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    return Run(smoke_run), out, export(smoke_run, out)


def _frame(run: Run, seed: int = 0):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, run.image_shape, dtype=np.uint8)
    n = len(run.target_classes)
    echoes = (rng.normal(size=(n, *run.echo_shape)) + 1j * rng.normal(size=(n, *run.echo_shape))).astype(np.complex64)
    return image, echoes


def test_each_side_carries_only_its_half(exported):
    run, out, written = exported
    collaborators = run.collaborators()
    assert set(written) == {*collaborators, center_folder("device_0")} and len(collaborators) >= 2
    for k in collaborators:
        names = set(load_file(str(written[k] / ARTIFACT_FILE)))
        assert names and all(n.startswith(DEVICE_PARTS) for n in names), sorted(names)[:5]
        assert not [n for n in names if "decoder" in n or "tram" in n or n.startswith("head.")]
    center = load_file(str(written[center_folder("device_0")] / ARTIFACT_FILE))
    assert {n.split(".")[0] for n in center} == {"own", "tram", "decoder"}
    # no tensor of a collaborator's RVFN is in the center's artifact, under any name
    center_bytes = {t.numpy().tobytes() for t in center.values() if t.numel() > 16}
    for k in collaborators:
        rvfn = {n: t for n, t in load_file(str(run.stage1_dir(k) / WEIGHTS)).items() if n.startswith("rvfn.")}
        assert rvfn and not [n for n, t in rvfn.items() if t.numel() > 16 and t.numpy().tobytes() in center_bytes]


def test_the_halves_give_what_the_run_gives(exported):
    """Codes and estimates from the exported artifacts equal those of the run's own models on the same inputs."""
    from disac_ros.data.detections import DeviceDetector
    from disac_ros.models.link import relative_poses

    run, out, _ = exported
    image, echoes = _frame(run)
    n = len(run.target_classes)

    def detection(k):
        return torch.from_numpy(DeviceDetector(run.manifest, k)(echoes))

    device = SensingDevice.load(out, "device_1")
    codes = device.encode(image, echoes)
    img, _, det = device.inputs("device_1", image, echoes)   # the radar-cued crops (data/crops.py) and detections
    assert img.shape == (n, 3, *run.model_image_shape[:2]) and torch.equal(det, detection("device_1"))
    with torch.no_grad():
        reference = run.load_device_model("device_1").encode(img, torch.from_numpy(echoes), detection("device_1"))
    np.testing.assert_array_equal(codes, reference.numpy())

    center = AggregationCenter.load(out)
    received = {"device_1": Received(codes, snr_db=15.0, distance_m=40.0)}
    estimates = center.aggregate(image, echoes, received)
    with torch.no_grad():
        own = run.load_center_features("device_0")
        img, _, det = center.inputs("device_0", image, echoes)
        feats = own.features(img, torch.from_numpy(echoes), det)
        decoded = run.load_decoder("device_1")(torch.from_numpy(codes), torch.full((n,), 15.0), torch.full((n,), 40.0))
        poses = torch.from_numpy(relative_poses(run.scene, "device_0", ["device_1"]))
        pred = run.load_center_model("device_0")(feats, decoded[:, None], None, poses, own.head_input(det))
    np.testing.assert_allclose([e.class_probabilities for e in estimates],
                               torch.softmax(pred["logits"], -1).numpy(), rtol=0, atol=1e-6)
    assert [e.contributing_devices for e in estimates] == [["device_0", "device_1"]] * n
    # in pieces, as the live center does: the same; a code decoded early with another link is decoded again
    for early in (received["device_1"], Received(codes, snr_db=3.0, distance_m=40.0)):
        partial = center.start(image, echoes)
        partial.add("device_1", early)
        assert partial.finish(received) == estimates and partial.busy_s > 0
    # a run directory works too: exported on the fly into RUN/export, the same estimates
    from_run = AggregationCenter.load(run.path).aggregate(image, echoes, received)
    assert [e.distance for e in from_run] == [e.distance for e in estimates]


def test_a_tampered_or_mismatched_artifact_is_refused_with_the_field_named(exported, tmp_path):
    run, out, written = exported
    with pytest.raises(ValueError, match="'device_id'"):
        read_artifact(written["device_1"], "device", device_id="device_2")
    with pytest.raises(ValueError, match="'kind'"):
        read_artifact(written[center_folder("device_0")], "device")
    folder = tmp_path / "tampered"
    shutil.copytree(written["device_1"], folder)
    path = folder / ARTIFACT_FILE
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
    tensors = load_file(str(path))
    name = sorted(tensors)[0]
    tensors[name] = tensors[name] + 1
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ValueError, match="tensors_sha256"):
        SensingDevice.load(folder, "device_1")
    from disac_ros.config import load_scene

    other = load_scene(preset="default")
    with pytest.raises(ValueError, match="digest"):
        SensingDevice.load(out, "device_1").check_scene(other)


def test_a_stale_hand_over_is_refused_and_a_run_is_exported_again_when_newer(smoke_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(smoke_run, copy, ignore=shutil.ignore_patterns("export"))
    run = Run(copy)
    folder = resolve(copy, "device", "device_1")                  # exported on the fly
    assert folder == copy / "export" / "device_1" and (folder / ARTIFACT_FILE).is_file()
    weights = run.stage1_dir("device_1") / WEIGHTS
    later = (folder / ARTIFACT_FILE).stat().st_mtime + 10
    os.utime(weights, (later, later))                             # retrained after the hand-over
    with pytest.raises(ValueError, match=r"hand-over of device_1 .* --stage 2"):
        export(run)
    with pytest.raises(ValueError, match="hand-over of device_1"):
        resolve(copy, "device", "device_1")
    with pytest.raises(ValueError, match="not a collaborator"):
        resolve(copy, "device", "device_0")


def test_disac_launch_takes_exported_artifacts_and_refuses_another_scene(exported):
    """``disac launch --run`` accepts a folder of exported artifacts as the nodes do, checked like a run."""
    from disac_ros.commands.launch import check_run_scene
    from disac_ros.config import load_scene

    run, out, _ = exported
    smoke = load_scene(preset="smoke")
    check_run_scene(out, smoke, 3)
    check_run_scene(run.path, smoke, 3)
    with pytest.raises(ValueError):
        check_run_scene(out, load_scene(preset="default"), 3)


def _resolve_and_read(run_dir: str, side: str, barrier, results) -> None:
    """One node's start-up: resolve its side of a run (exporting it if needed) and read the artifact."""
    try:
        barrier.wait(timeout=60)
        kind = "center" if side.startswith("center") else "device"
        folder = resolve(run_dir, kind, None if kind == "center" else side)
        results.put((side, "ok", read_artifact(folder, kind).meta["tensors_sha256"]))
    except Exception as exc:  # reported to the test, which names it
        results.put((side, "error", f"{type(exc).__name__}: {exc}"))


def test_nodes_starting_at_once_on_a_run_without_export_all_load_the_same_artifacts(smoke_run, tmp_path):
    """Three encoders and the aggregator (plus a second of each) resolve the run at the same moment, five times.

    Every one must load, and every round must give the same artifacts: one process exports under the lock, the
    others wait and read what it wrote (with a shared temporary name, a writer renamed another's file away).
    """
    import multiprocessing as mp

    run_dir = tmp_path / "run"
    shutil.copytree(smoke_run, run_dir, ignore=shutil.ignore_patterns("export"))
    sides = [*Run(run_dir).collaborators(), "center"]
    ctx = mp.get_context("fork")
    digests: dict[str, set] = {side: set() for side in sides}
    for _ in range(5):
        shutil.rmtree(run_dir / "export", ignore_errors=True)
        starters = sides * 2
        barrier, results = ctx.Barrier(len(starters)), ctx.Queue()
        procs = [ctx.Process(target=_resolve_and_read, args=(str(run_dir), s, barrier, results)) for s in starters]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert [o for o in outcomes if o[1] != "ok"] == []
        for side, _, digest in outcomes:
            digests[side].add(digest)
        assert not list((run_dir / "export").rglob("*.tmp")), "a temporary file was left behind"
    assert all(len(d) == 1 for d in digests.values()), digests
