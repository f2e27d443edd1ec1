"""disac_ros.data.store: a directory without a complete manifest is a clear error."""
from __future__ import annotations

import json

import pytest

from disac_ros.data import store

pytestmark = pytest.mark.slow


def test_missing_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a complete dataset"):
        store.load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format_version": 99}))
    with pytest.raises(ValueError, match="format_version"):
        store.load_manifest(tmp_path)
