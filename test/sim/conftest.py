"""Fixtures of the simulation tests: the smoke preset's scene config, once per module."""
from __future__ import annotations

import pytest

from disac_ros.config import load_scene


@pytest.fixture(scope="module")
def cfg():
    return load_scene(preset="smoke")
