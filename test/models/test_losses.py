"""disac_ros.models.losses: the sensing loss (Eqs. 47-52), with fixed or learned (uncertainty) weights."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from disac_ros.models.losses import SensingLoss


def _pred(b=4, classes=3):
    return {"regression": torch.rand(b, 4, requires_grad=True), "logits": torch.randn(b, classes, requires_grad=True)}


def test_default_loss_is_50_mse_plus_ce():
    pred, labels, cls = _pred(), torch.rand(4, 4), torch.tensor([0, 1, 2, 1])
    total, log = SensingLoss()(pred, labels, cls)
    mse = [F.mse_loss(pred["regression"][:, i], labels[:, i]) for i in range(4)]
    diff = pred["regression"][:, 1] - labels[:, 1]
    mse[1] = (torch.remainder(diff + 0.5, 1.0) - 0.5).square().mean()          # azimuth on the circle
    ce = F.cross_entropy(pred["logits"], cls)
    torch.testing.assert_close(total, 50 * sum(mse) + ce)
    assert set(log) == {"distance", "azimuth", "pitch", "velocity", "class", "total"}
    assert log["pitch"] == pytest.approx(mse[2].item()) and log["class"] == pytest.approx(ce.item())
    total.backward()
    assert pred["regression"].grad.abs().sum() > 0 and pred["logits"].grad.abs().sum() > 0
    custom, _ = SensingLoss(weights=(1, 2, 3, 4, 5))(pred, labels, cls)
    torch.testing.assert_close(custom, sum((i + 1) * m for i, m in enumerate(mse)) + 5 * ce)
    assert not list(SensingLoss().parameters())


def test_uncertainty_loss_is_trainable():
    loss_fn = SensingLoss(uncertainty=True)
    params = list(loss_fn.parameters())
    assert len(params) == 1 and params[0].shape == (5,) and params[0].requires_grad
    pred, labels, cls = _pred(), torch.rand(4, 4), torch.tensor([0, 1, 2, 1])
    total, log = loss_fn(pred, labels, cls)
    fixed, _ = SensingLoss()(pred, labels, cls)  # starts at the fixed weights, plus the log-variance term
    torch.testing.assert_close(total, fixed + 0.5 * loss_fn.log_vars.sum())
    assert log["weight_distance"] == pytest.approx(50.0, rel=1e-4) and log["weight_class"] == pytest.approx(1.0)
    total.backward()
    assert loss_fn.log_vars.grad.abs().min() > 0
    opt = torch.optim.SGD(loss_fn.parameters(), lr=1e-3)
    before = loss_fn.log_vars.detach().clone()
    opt.step()
    assert not torch.equal(before, loss_fn.log_vars.detach())


def test_loss_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\[B, 4\] = \[4, 4\]"):
        SensingLoss()(_pred(), torch.rand(4, 3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="class_id"):
        SensingLoss()(_pred(), torch.rand(4, 4), torch.zeros(4, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="weights"):
        SensingLoss(weights=(1, 1, 1, 1))


def test_azimuth_error_is_taken_on_the_circle():
    loss = SensingLoss()
    labels = torch.tensor([[0.5, 0.01, 0.5, 0.5]])
    across_the_seam = {"regression": torch.tensor([[0.5, 0.99, 0.5, 0.5]]), "logits": torch.zeros(1, 3)}
    _, terms = loss(across_the_seam, labels, torch.tensor([0]))
    assert terms["azimuth"] == pytest.approx(0.02**2, rel=1e-4)
