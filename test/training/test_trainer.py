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
    from disac_ros.data.crops import model_image_shape

    manifest = store.load_manifest(data)
    return DeviceModel(model_cfg, image_size=model_image_shape(manifest)[:2],
                       echo_shape=store.input_shapes(manifest)[1])


def test_lr_warms_up_then_decays():
    factors = [trainer.lr_factor(i, 100, 0.1) for i in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[9:], factors[10:], strict=False)) and factors[-1] < 0.05


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
        where = run / ("center" if d == "device_0" else "stage1") / d
        assert (where / "model.safetensors").exists()
        rows = (where / "metrics.csv").read_text().splitlines()
        assert rows[0].startswith("epoch,train_loss") and len(rows) == 2 and "val_loss" in rows[0]
    assert not (run / "stage1" / "device_0").exists(), "the only center never trains through the link"
    for d in devices[1:]:
        codes = load_file(str(run / "handover" / d / "codes.safetensors"))
        assert codes["codes"].shape[1:] == (4, 8) and torch.isfinite(codes["codes"]).all()
        assert (run / "handover" / d / "decoder.safetensors").exists()
    assert (run / "stage2" / "model.safetensors").exists()
    # The hand-over holds codes and decoder weights only: nothing shaped like an image or an echo.
    for path in (run / "handover").rglob("*.safetensors"):
        for name, tensor in load_file(str(path)).items():
            assert tensor.dim() < 4 or tensor.shape[-1] != 3, f"{path}:{name} looks like image data"


def test_the_centers_own_model_has_no_link(run):
    weights = load_file(str(run / "center" / "device_0" / "model.safetensors"))
    assert weights and not any(k.startswith(("encoder.", "decoder.", "channel.")) for k in weights)
    linked = load_file(str(run / "stage1" / "device_1" / "model.safetensors"))
    assert any(k.startswith("encoder.") for k in linked)


def test_stage2_starts_equal_to_the_centers_single_device_model(smoke_data, run):
    from disac_ros.models.llm_disac import CenterModel
    from disac_ros.training.center import CenterSide

    side = CenterSide(Run(run), smoke_data)
    part = side.split("val")
    torch.manual_seed(0)
    model = CenterModel.starting_from(side.center_model).eval()
    assembled = side.predict(model, part, 20.0)          # every collaborator decoded and attended to
    idx = torch.arange(len(part))
    ds = datasets.DeviceTargetDataset(smoke_data, "val", devices=["device_0"])
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=len(ds))))
    with torch.no_grad():
        direct = side.center_model.predict(batch["image"], batch["echo"], batch["detection"])
    torch.testing.assert_close(torch.from_numpy(assembled.pred), direct["regression"][idx], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(torch.from_numpy(assembled.logits), direct["logits"][idx], rtol=1e-5, atol=1e-5)


def test_a_batch_with_every_collaborator_dropped_has_a_finite_loss(smoke_data, run):
    from disac_ros.models.llm_disac import CenterModel
    from disac_ros.training.center import CenterSide

    side = CenterSide(Run(run), smoke_data)
    part = side.split("train")
    idx = torch.arange(min(8, len(part)))
    model = CenterModel.starting_from(side.center_model).train()
    mask = torch.zeros(len(idx), len(side.decoders), dtype=torch.bool)
    pred = model(part.center_features[idx], side.decode(part, idx, torch.full(mask.shape, 10.0)), mask,
                 side.poses, side.detection(part, idx))
    loss, _ = trainer.SensingLoss()(pred, part.labels_norm[idx], part.class_id[idx])
    assert torch.isfinite(loss)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_the_best_validation_checkpoint_is_kept(smoke_data, tmp_path, monkeypatch):
    """Validation losses 3, 1, 2 (then patience 1 stops): the kept weights are epoch 2's, not epoch 3's."""
    cfg = load_section("train", "smoke", {"epochs_stage1": 4, "patience": 1})
    losses = iter([3.0, 1.0, 2.0, 5.0])
    saved = {}
    real = checkpoint.save_weights

    def remember(model, path, config):
        saved["epoch"] = epoch["n"]
        real(model, path, config)

    epoch = {"n": 0}
    real_loss = trainer.Predictions.loss

    def scripted(self, loss_fn):
        real_loss(self, loss_fn)
        epoch["n"] += 1
        return next(losses)

    monkeypatch.setattr(trainer.Predictions, "loss", scripted)
    monkeypatch.setattr(trainer, "save_weights", remember)
    model_cfg = load_section("model", "smoke", {"scheme": "sm-sd-rf"})
    history = trainer.train_stage1(smoke_data, tmp_path / "r", "device_0", model_cfg, cfg, progress=False)
    assert [h["best"] for h in history] == [1, 1, 0] and history[-1]["early_stop"] == 1
    assert saved["epoch"] == 2
    rows = (tmp_path / "r" / "stage1" / "device_0" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 4 and trainer._finished(tmp_path / "r" / "stage1" / "device_0", 4)


def test_stage2_never_reads_collaborators_raw_data(smoke_data, run, model_cfg, train_cfg, monkeypatch, tmp_path):
    seen = set()
    real = datasets._Indexed._device_sample

    def spy(self, f, i, k, n, key):
        seen.add(self.device_ids[k])
        return real(self, f, i, k, n, key)

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
    assert (out / "center" / "device_2" / "model.safetensors").exists(), "the new center's own model, no link"
    assert (out / "stage1" / "device_0" / "model.safetensors").exists(), "device_0 now collaborates: linked"
    # the default center's stage 2 is untouched
    torch.testing.assert_close(load_file(str(out / "stage2" / "model.safetensors")),
                               load_file(str(run / "stage2" / "model.safetensors")), rtol=0, atol=0)
