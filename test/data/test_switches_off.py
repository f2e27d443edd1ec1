"""With every switch of the outdoor world off (``clutter.model: none``, survey errors 0, ``radar.detector: fixed``) the
generator's labels, echoes, losses and RCS draws and the classical estimates are those of the world before it, bit
for bit: SHA-256 of two frames of two sequences of each preset, computed on commit ff22151 (the last one without
clutter) with the same calls but the new keywords."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from disac_ros.config import load_scene
from disac_ros.data.generate import frame_sensing
from disac_ros.sim.estimators import classical_estimates
from disac_ros.sim.motion import sequence_trajectories
from disac_ros.sim.radar import ArrayPose

BEFORE = {"smoke": "3719f73ee7e83429870b913f4475352b94f4dd45856a1e21ee82ceff07a5c461",
          "default": "6aa8e264380ddf45fada1dec694ebc94f8c863c3fbb3c45e8e0664b4e095a904"}
OFF = {"clutter": {"model": "none"}, "survey": {"position_sigma_m": 0.0, "heading_sigma_deg": 0.0},
       "radar": {"detector": "fixed"},   # the camera's switches too (they leave echoes and labels alone):
       "camera": {"crop": False, "width": 128, "height": 128, "fov": 55.0}, "conditions": {"sensor_noise": "low_light"}}


def _digest(cfg) -> str:
    h = hashlib.sha256()
    for seq in range(2):
        trajs = sequence_trajectories(cfg, cfg.seed, seq)
        for f in range(2):
            t = f / cfg.dataset.fps
            pos, vel = np.stack([tr.position(t) for tr in trajs]), np.stack([tr.velocity(t) for tr in trajs])
            s = frame_sensing(cfg, pos, vel, np.arctan2(vel[:, 1], vel[:, 0]), np.stack([tr.size for tr in trajs]),
                              np.random.default_rng([cfg.seed, seq, f]))
            for a in (s.labels, s.echoes, s.loss_db, s.building, s.target, s.rcs):
                h.update(np.ascontiguousarray(a).tobytes())
            known = cfg.surveyed()
            for k, d in enumerate(known.devices):
                pose = ArrayPose.from_device(d.position, d.lookat, cfg.radar.boresight)
                e = classical_estimates(s.echoes[k], cfg.radar, pose, np.zeros(3))   # radar.detector
                for name in ("detected", "peak_snr_db", "distance", "azimuth", "pitch", "radial_velocity", "rcs_db"):
                    h.update(np.ascontiguousarray(getattr(e, name)).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("preset", sorted(BEFORE))
def test_every_switch_off_reproduces_the_earlier_world(preset):
    cfg = load_scene(preset=preset, overrides=OFF)
    assert cfg.surveyed() is cfg
    assert _digest(cfg) == BEFORE[preset]


def test_the_default_world_differs_from_the_earlier_one():
    """The hashes above can fail: with clutter on (and the survey errors that do not enter echoes) they change."""
    cfg = load_scene(preset="smoke", overrides={"survey": OFF["survey"], "radar": OFF["radar"]})
    assert cfg.clutter.model == "scene"
    assert _digest(cfg) != BEFORE["smoke"]
