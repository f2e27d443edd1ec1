"""Supervised multi-task sensing loss, Eqs. (47)-(52) (stage 1) and Eq. (54) (stage 2), paper Sec. IV-E.

``SensingLoss(pred, labels_norm [B, 4], class_id [B]) -> (total, {term: float})`` with ``pred`` the
:class:`~disac_ros.models.heads.MultiTaskHead` output. The fixed-weight loss is the paper's; the
uncertainty-weighted variant is the one MMSense uses (Kendall, Gal and Cipolla, CVPR 2018).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

TERMS = ("distance", "azimuth", "pitch", "velocity", "class")


class SensingLoss(nn.Module):
    """``L = l_1 L_d + l_2 L_a + l_3 L_p + l_4 L_v + l_5 L_i`` (Eqs. 47 / 54).

    ``L_d, L_a, L_p, L_v`` are the batch-mean squared errors of the normalised distance, azimuth, pitch and radial
    velocity (Eqs. 48-51; the azimuth error is taken on the circle, wrapped into [-1/2, 1/2) of a turn, so a device
    that looks along +-pi is not penalised a whole turn for a target just across the seam; labels in (0, 1), so
    the default ``l_1..l_4 = 50`` balances them against the cross-entropy ``L_i``, Eq. 52, with ``l_5 = 1``).

    ``uncertainty=True``: homoscedastic-uncertainty weighting with a learnable log-variance ``s_i`` per term::

        L = sum_i c_i exp(-s_i) L_i + s_i / 2,    c_i = 1/2 for the regressions, 1 for the cross-entropy

    (``1/(2 sigma^2) L + log sigma`` and ``1/sigma^2 L + log sigma``). The ``s_i`` start at ``log(c_i / l_i)`` so
    the initial effective weights ``c_i exp(-s_i)`` equal ``weights``; they then adapt (optimum
    ``c_i exp(-s_i) = 1/(2 L_i)``). This total can be negative. The ``s_i`` are parameters of this module: give
    them to the optimizer (and keep them in checkpoints).
    """

    def __init__(self, weights: Sequence[float] = (50.0, 50.0, 50.0, 50.0, 1.0), uncertainty: bool = False):
        super().__init__()
        if len(weights) != len(TERMS) or any(w <= 0 for w in weights):
            raise ValueError(f"weights must be {len(TERMS)} positive numbers ({', '.join(TERMS)}), got {weights}")
        self.uncertainty = uncertainty
        self.register_buffer("weights", torch.tensor([float(w) for w in weights]), persistent=False)
        self.register_buffer("c", torch.tensor([0.5, 0.5, 0.5, 0.5, 1.0]), persistent=False)
        if uncertainty:
            self.log_vars = nn.Parameter(torch.log(self.c / self.weights))  # s_i
        else:
            self.register_parameter("log_vars", None)

    def effective_weights(self) -> torch.Tensor:
        """The weight on each term [5]: ``weights``, or ``c_i exp(-s_i)`` for the uncertainty variant."""
        return self.c * torch.exp(-self.log_vars) if self.uncertainty else self.weights

    def forward(self, pred: dict[str, torch.Tensor], labels_norm: torch.Tensor,
                class_id: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        regression, logits = pred["regression"], pred["logits"]
        B = regression.shape[0]
        if tuple(regression.shape) != (B, 4) or tuple(labels_norm.shape) != (B, 4):
            raise ValueError(f"pred['regression'] and labels_norm must be [B, 4] = [{B}, 4], "
                             f"got {list(regression.shape)} and {list(labels_norm.shape)}")
        if logits.dim() != 2 or logits.shape[0] != B or tuple(class_id.shape) != (B,):
            raise ValueError(f"pred['logits'] must be [B, num_classes] and class_id [B] with B = {B}, "
                             f"got {list(logits.shape)} and {list(class_id.shape)}")
        err = regression.float() - labels_norm.float()
        err[:, 1] = torch.remainder(err[:, 1] + 0.5, 1.0) - 0.5                # azimuth: a circle, one turn = 1
        mse = err.square().mean(dim=0)                                          # Eqs. (48)-(51): [4]
        ce = F.cross_entropy(logits.float(), class_id.long())                  # Eq. (52)
        terms = torch.cat([mse, ce[None]])                                     # [5]
        weights = self.effective_weights()
        total = (weights * terms).sum()                                        # Eq. (47) / (54)
        if self.uncertainty:
            total = total + 0.5 * self.log_vars.sum()
        values = torch.cat([terms, total[None], weights]).detach().cpu().tolist()  # one device sync
        log = dict(zip(TERMS, values[:5], strict=True))
        log["total"] = values[5]
        if self.uncertainty:
            log.update({f"weight_{t}": w for t, w in zip(TERMS, values[6:], strict=True)})
        return total, log
