"""The paper's published numbers, copied from Sec. V of ``../shared/reference/llm-disac-paper.md``.

Source: *Large Language Model-Driven Distributed Integrated Multimodal Sensing and Semantic Communications*
(LLM-DiSAC), Sec. V-B, Table III ("Comparison results of multimodal vs. unimodal and multi-device vs. single-device
sensing") and the transmission-size paragraph of Sec. V-B1. The paper does not state the link SNR of Table III nor
the units of its RMSE; its Eq. (59) defines predictions in (0, 1), so we compare Table III with our metrics on
normalised values. Nothing here is computed: these are the paper's numbers, typed once, for comparison.
"""
from __future__ import annotations

#: Table III column order: (metric key as in :func:`disac_ros.metrics.sensing_metrics`, column title).
TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("nmse_db_distance", "NMSE distance [dB]"), ("rmse_distance", "RMSE distance"),
    ("nmse_db_azimuth", "NMSE azimuth [dB]"), ("rmse_azimuth", "RMSE azimuth"),
    ("nmse_db_pitch", "NMSE pitch [dB]"), ("rmse_pitch", "RMSE pitch"),
    ("nmse_db_radial_velocity", "NMSE velocity [dB]"), ("rmse_radial_velocity", "RMSE velocity"),
    ("accuracy", "Accuracy [%]"),
)

#: Table III rows in the paper's order: scheme id (``disac_ros.config.SCHEMES``) -> paper label.
SCHEME_LABELS: dict[str, str] = {
    "sm-sd-rf": "SM-SD (RF)", "sm-sd-cv": "SM-SD (CV)", "mm-sd": "MM-SD", "sm-md-rf": "SM-MD (RF)",
    "sm-md-cv": "SM-MD (CV)", "llm-disac": "LLM-DiSAC", "llm-disac-lossless": "LLM-DiSAC (w/o SC loss)",
}

#: Decoder variants of Sec. V-B1 (Figs. 5-7): decoder kind -> paper label. The paper's LLM is LLaMA-3; ours is the
#: LLaMA-architecture SmolLM2-135M (truncated) unless a run sets ``model.decoder_path``.
DECODER_LABELS: dict[str, str] = {
    "llama": "LLM-DiSAC (LLaMA-family)", "gpt2": "LLM-DiSAC (with GPT-2)", "lstm": "LLM-DiSAC (with LSTM)",
    "gru": "LLM-DiSAC (with GRU)",
}

_T3 = {  # scheme: NMSE d, RMSE d, NMSE az, RMSE az, NMSE pitch, RMSE pitch, NMSE v, RMSE v, accuracy [%]
    "sm-sd-rf": (-11.442, 0.166, -24.300, 0.035, -21.344, 0.042, -6.659, 0.284, 91.60),
    "sm-sd-cv": (-9.237, 0.168, -26.194, 0.026, -9.925, 0.146, -6.518, 0.287, 33.75),
    "mm-sd": (-11.298, 0.166, -26.788, 0.027, -24.305, 0.029, -6.736, 0.237, 92.07),
    "sm-md-rf": (-11.549, 0.157, -28.694, 0.023, -26.751, 0.029, -7.102, 0.214, 97.02),
    "sm-md-cv": (-9.313, 0.167, -28.642, 0.023, -12.774, 0.141, -7.121, 0.213, 36.67),
    "llm-disac": (-11.699, 0.154, -29.060, 0.023, -27.046, 0.029, -7.302, 0.212, 98.21),
    "llm-disac-lossless": (-11.970, 0.153, -29.758, 0.022, -27.882, 0.029, -7.339, 0.204, 99.80),
}

#: Table III of the paper: scheme -> {metric key: value}; accuracy as a fraction (the paper prints percent).
TABLE_III: dict[str, dict[str, float]] = {
    scheme: {key: (v / 100.0 if key == "accuracy" else v) for (key, _), v in zip(TABLE_COLUMNS, row, strict=True)}
    for scheme, row in _T3.items()
}

#: Sec. V-B1: bytes of one set of visual + RF data sent conventionally vs as the semantic code.
PAPER_RAW_BYTES = 1_370_112
PAPER_SEMANTIC_BYTES = 100_352
PAPER_REDUCTION_PERCENT = 92.67

#: Sec. V-A2: the evaluation SNRs (the link's bandwidth and power are in :mod:`disac_ros.models.link`).
EVAL_SNRS_DB: tuple[float, ...] = (0.0, 10.0, 15.0, 20.0, 25.0)

#: The targets for LLM-DiSAC on our default preset (= the paper's Table III row), and the payload ratio bound.
TARGETS: dict[str, float] = {k: TABLE_III["llm-disac"][k] for k in
                             ("accuracy", "nmse_db_distance", "nmse_db_azimuth", "nmse_db_pitch",
                              "nmse_db_radial_velocity")}
MAX_PAYLOAD_PERCENT = 100.0 * PAPER_SEMANTIC_BYTES / PAPER_RAW_BYTES  # 7.32 %: "at most 7.33 %" of the raw bytes

#: Table III's orderings (Sec. V-B2): (better scheme, worse scheme, what the comparison shows).
ORDERINGS: tuple[tuple[str, str, str], ...] = (
    ("mm-sd", "sm-sd-rf", "multi-modal beats single-modal (single device, vs RF)"),
    ("mm-sd", "sm-sd-cv", "multi-modal beats single-modal (single device, vs CV)"),
    ("llm-disac", "sm-md-rf", "multi-modal beats single-modal (multi-device, vs RF)"),
    ("llm-disac", "sm-md-cv", "multi-modal beats single-modal (multi-device, vs CV)"),
    ("sm-md-rf", "sm-sd-rf", "multi-device beats single-device (RF)"),
    ("sm-md-cv", "sm-sd-cv", "multi-device beats single-device (CV)"),
    ("llm-disac", "mm-sd", "multi-device beats single-device (multi-modal)"),
    ("llm-disac-lossless", "llm-disac", "the lossless channel is the upper bound"),
)
