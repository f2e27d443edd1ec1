"""Transformer-based aggregation model, TRAM (paper Sec. IV-D, Fig. 2 (c), Algorithm 4 lines 1-2).

``TRAM(center [B, L, d], collaborators [B, K, L_k, d], mask [B, K] | None) -> S_agg [B, L, d]``: the aggregation
center's feature queries every collaborator's feature, the per-collaborator attention outputs are summed, and
the result refines the center's feature. The prediction (Alg. 4 line 3) is :class:`~disac_ros.models.heads.
MultiTaskHead`.
"""
from __future__ import annotations

import torch
from torch import nn


class AggregationAttentionLayer(nn.Module):
    """One layer l of Eqs. (41)-(43), with a residual connection and LayerNorm.

    For each collaborator k: ``Q = s^(l) W_Q``, ``K_k = s_k W_K``, ``V_k = s_k W_V`` (41) and
    ``F_k = MultiHeadAttn(Q, K_k, V_k)`` (42), one shared :class:`torch.nn.MultiheadAttention` for all k
    (the K collaborators are batched as B*K attention problems). Eq. (43) sums the ``F_k`` over the collaborators
    that are present. As printed, Eq. (43) *replaces* the center's feature by that sum, which would drop the
    center's own information and be undefined for K = 0; here the sum updates it instead, as in a transformer
    cross-attention sub-layer (post-norm)::

        s^(l+1) = LayerNorm(s^(l) + Dropout(sum_k mask_k F_k))

    The paper has no feed-forward sub-layer in TRAM, so none is added. Summation makes the layer invariant to the
    order of the collaborators; an absent one (mask False) contributes exactly nothing - its features are zeroed
    before attention too, so NaN/garbage in a missing slot cannot leak into outputs or gradients. With no
    collaborator present the layer reduces to ``LayerNorm(s^(l))``.

    ``zero_init=True`` (what the model config's default ``tram_residual: zero_init`` builds): the sub-layer is
    pre-norm and starts at the identity,
    ``s^(l+1) = s^(l) + Dropout(sum_k mask_k MHA(LN(s^(l)), LN(s_k)))`` with the attention's output projection
    W_O zero-initialised, so before stage 2 trains TRAM passes the center's feature through unchanged and the
    assembled model equals the center's single-device model; collaborators then add what they know.
    """

    def __init__(self, d: int, num_heads: int, dropout: float = 0.0, zero_init: bool = False):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, num_heads, dropout=dropout, batch_first=True)  # W_Q, W_K, W_V, W_O
        self.dropout = nn.Dropout(dropout)
        self.zero_init = zero_init
        self.norm = nn.LayerNorm(d)
        if zero_init:
            self.norm_k = nn.LayerNorm(d)
            nn.init.zeros_(self.attn.out_proj.weight)
            nn.init.zeros_(self.attn.out_proj.bias)

    def forward(self, s: torch.Tensor, collaborators: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, K, L_k, d = collaborators.shape
        if K == 0:
            return s if self.zero_init else self.norm(s)
        L = s.shape[1]
        keep = mask[:, :, None, None]                                                   # [B, K, 1, 1]
        s_k = torch.where(keep, collaborators, 0.0)
        q = self.norm(s) if self.zero_init else s
        if self.zero_init:
            s_k = self.norm_k(s_k)
        s_k = s_k.reshape(B * K, L_k, d)
        query = q[:, None].expand(B, K, L, d).reshape(B * K, L, d)
        F_k, _ = self.attn(query, s_k, s_k, need_weights=False)                       # Eqs. (41)-(42)
        aggregated = torch.where(keep, F_k.view(B, K, L, d), 0.0).sum(dim=1)           # Eq. (43): [B, L, d]
        if self.zero_init:
            return s + self.dropout(aggregated)
        return self.norm(s + self.dropout(aggregated))


class TRAM(nn.Module):
    """TRAM, Eqs. (41)-(44): L stacked :class:`AggregationAttentionLayer` then ``Dropout(LayerNorm(.))`` (44).

    ``forward(center [B, L, d], collaborators [B, K, L_k, d], mask [B, K] bool or None) -> S_agg [B, L, d]``.
    K may be anything >= 0 at run time (including 0: then S_agg = Dropout(LN(LN(...LN(center)))), well
    defined and still a function of the center's feature), L_k may differ from L, ``mask`` True marks a
    collaborator whose feature arrived (None: all present). The output is invariant to the order of the
    collaborators, and a masked-out collaborator is equivalent to removing it.

    ``zero_init=True``: zero-initialised residual layers (see :class:`AggregationAttentionLayer`) and no Eq. (44)
    (the head normalises its input, Eq. 45), so TRAM starts as the identity on the center's feature and, with
    every collaborator masked, stays it. ``False`` is the printed form.
    """

    def __init__(self, d: int, num_layers: int = 2, num_heads: int = 4, dropout: float = 0.1, zero_init: bool = False):
        super().__init__()
        self.d, self.zero_init = d, zero_init
        self.layers = nn.ModuleList(AggregationAttentionLayer(d, num_heads, dropout, zero_init)
                                    for _ in range(num_layers))
        self.norm = nn.LayerNorm(d)          # Eq. (44)
        self.dropout = nn.Dropout(dropout)   # Eq. (44)

    def forward(self, center: torch.Tensor, collaborators: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        if center.dim() != 3 or center.shape[-1] != self.d:
            raise ValueError(f"center must be [B, L, d] = [*, *, {self.d}], got {list(center.shape)}")
        B = center.shape[0]
        if collaborators.dim() != 4 or collaborators.shape[0] != B or collaborators.shape[-1] != self.d:
            raise ValueError(f"collaborators must be [B, K, L_k, d] = [{B}, *, *, {self.d}], "
                             f"got {list(collaborators.shape)}")
        K = collaborators.shape[1]
        if mask is None:
            mask = torch.ones(B, K, dtype=torch.bool, device=center.device)
        elif mask.dtype != torch.bool or tuple(mask.shape) != (B, K):
            raise ValueError(f"mask must be bool [B, K] = [{B}, {K}], got {str(mask.dtype).removeprefix('torch.')} "
                             f"{list(mask.shape)}")
        s = center
        for layer in self.layers:
            s = layer(s, collaborators, mask)   # Eqs. (41)-(43)
        return s if self.zero_init else self.dropout(self.norm(s))  # Eq. (44): S_agg [B, L, d]
