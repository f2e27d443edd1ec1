"""What the evaluation tests expect of a metrics dictionary: its keys."""
from __future__ import annotations

PARAMS = ("distance", "azimuth", "pitch", "radial_velocity")
KEYS = {"accuracy", *(f"{m}_{p}" for m in ("nmse_db", "rmse") for p in PARAMS)}
