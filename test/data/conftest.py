"""Fixtures of the dataset tests: the smoke preset's config."""
from __future__ import annotations

import pytest


@pytest.fixture
def cfg(smoke_cfg):
    return smoke_cfg
