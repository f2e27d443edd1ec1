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


def test_a_manifest_from_before_the_world_digest_gets_both_digests(tmp_path):
    from disac_ros.config import load_scene

    cfg = load_scene(preset="smoke", overrides={"seed": 7})
    old_digest = "0123456789abcdef"  # what a digest over the whole config, seed and sizes included, looked like
    (tmp_path / "manifest.json").write_text(json.dumps({"format_version": store.FORMAT_VERSION,
                                                        "config_digest": old_digest,
                                                        "config": cfg.model_dump(mode="json")}))
    manifest = store.load_manifest(tmp_path)
    assert store.dataset_identity(manifest) == {"config_digest": cfg.digest(), "dataset_digest": cfg.dataset_digest(),
                                                "seed": 7}
