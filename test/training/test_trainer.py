"""disac_ros.training.trainer: two-stage training on the smoke dataset: learning, layout, hand-over, privacy, resume,
schemes and other centers."""
from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import load_file

from disac_ros import checkpoint
from disac_ros.config import load_section
from disac_ros.data import datasets, store
from disac_ros.models.llm_disac import DeviceModel
from disac_ros.runs import Run
from disac_ros.training import trainer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def train_cfg():
    return load_section("train", "smoke")


def device_model(model_cfg, data):
    image, echo = store.input_shapes(store.load_manifest(data))
    return DeviceModel(model_cfg, image_size=image[0], echo_shape=echo)


def test_device_model_learns(smoke_data, model_cfg):
    torch.manual_seed(0)
    ds = datasets.DeviceTargetDataset(smoke_data, "train", devices=["device_0"])
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=8)))
    model = device_model(model_cfg, smoke_data)
    loss_fn = trainer.SensingLoss()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    snr = torch.full((8,), 25.0)

    def loss():
        return loss_fn(model(batch["image"], batch["echo"], snr, batch["link_distance"]), batch["labels_norm"],
                       batch["class_id"])[0]

    model.eval()
    with torch.no_grad():
        before = float(loss())
    model.train()
    for _ in range(15):
        opt.zero_grad()
        loss().backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        after = float(loss())
    assert after < 0.7 * before, f"loss {before:.3f} -> {after:.3f}"


def test_run_layout_and_metrics(run):
    devices = ["device_0", "device_1", "device_2", "device_3"]
    for d in devices:
        assert (run / "stage1" / d / "model.safetensors").exists()
        rows = (run / "stage1" / d / "metrics.csv").read_text().splitlines()
        assert rows[0].startswith("epoch,train_loss") and len(rows) == 2
    for d in devices[1:]:
        codes = load_file(str(run / "handover" / d / "codes.safetensors"))
        assert codes["codes"].shape[1:] == (4, 8) and torch.isfinite(codes["codes"]).all()
        assert (run / "handover" / d / "decoder.safetensors").exists()
    assert (run / "stage2" / "model.safetensors").exists()
    # The hand-over holds codes and decoder weights only: nothing shaped like an image or an echo.
    for path in (run / "handover").rglob("*.safetensors"):
        for name, tensor in load_file(str(path)).items():
            assert tensor.dim() < 4 or tensor.shape[-1] != 3, f"{path}:{name} looks like image data"


def test_stage2_never_reads_collaborators_raw_data(smoke_data, run, model_cfg, train_cfg, monkeypatch, tmp_path):
    seen = set()
    real = datasets._Indexed._device_sample

    def spy(self, f, i, k, n):
        seen.add(self.device_ids[k])
        return real(self, f, i, k, n)

    monkeypatch.setattr(datasets._Indexed, "_device_sample", spy)
    out = tmp_path / "run"
    shutil.copytree(run, out)
    shutil.rmtree(out / "stage2")
    trainer.train_stage2(smoke_data, out, model_cfg, train_cfg, progress=False)
    assert seen == {"device_0"}, f"stage 2 read raw samples of {sorted(seen)}"


def test_resumed_stage2_equals_uninterrupted(smoke_data, run, model_cfg, tmp_path, monkeypatch):
    cfg = load_section("train", "smoke", {"epochs_stage2": 2})
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        shutil.copytree(run, out)
        shutil.rmtree(out / "stage2")
        (out / "run.json").unlink()  # the copied run was made with one stage-2 epoch
    trainer.train_stage2(smoke_data, a, model_cfg, cfg, progress=False)

    real_fit_save = checkpoint.save_weights
    calls = {"n": 0}

    def killed_after_first_epoch(model, path, config):
        real_fit_save(model, path, config)
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "save_weights", killed_after_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        trainer.train_stage2(smoke_data, b, model_cfg, cfg, progress=False)
    monkeypatch.setattr(trainer, "save_weights", real_fit_save)
    trainer.train_stage2(smoke_data, b, model_cfg, cfg, progress=False)
    wa, wb = load_file(str(a / "stage2" / "model.safetensors")), load_file(str(b / "stage2" / "model.safetensors"))
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=0, atol=0, msg=k)


def test_single_device_scheme_trains_the_center_only(smoke_data, tmp_path):
    from disac_ros.cli import main

    out = tmp_path / "sd"
    assert main(["train", "--data", str(smoke_data), "--out", str(out), "--preset", "smoke", "--scheme", "sm-sd-rf",
                 "--no-progress"]) == 0
    assert [p.name for p in (out / "stage1").iterdir()] == ["device_0"]
    assert not (out / "handover").exists() and not (out / "stage2").exists()
    weights = load_file(str(out / "stage1" / "device_0" / "model.safetensors"))
    assert not any(k.startswith(("rvfn.cv.", "decoder.", "encoder.")) for k in weights), "RF-only, no link"


def test_stage2_at_another_center_hands_over_the_first_device(smoke_data, run, tmp_path, capsys):
    from disac_ros.cli import main

    out = tmp_path / "run"
    shutil.copytree(run, out)
    assert not (out / "handover" / "device_0").exists(), "the default center keeps its feature"
    assert main(["train", "--data", str(smoke_data), "--out", str(out), "--preset", "smoke", "--stage", "2",
                 "--center", "device_9", "--no-progress"]) != 0
    assert "unknown --center ['device_9']" in capsys.readouterr().err
    assert main(["train", "--data", str(smoke_data), "--out", str(out), "--preset", "smoke", "--stage", "2",
                 "--center", "device_2", "--no-progress"]) == 0
    assert (out / "handover" / "device_0" / "codes.safetensors").exists()
    assert not Run(out).handover_stale("device_0")
    assert (out / "stage2-device_2" / "model.safetensors").exists()
    # the default center's stage 2 is untouched
    torch.testing.assert_close(load_file(str(out / "stage2" / "model.safetensors")),
                               load_file(str(run / "stage2" / "model.safetensors")), rtol=0, atol=0)
