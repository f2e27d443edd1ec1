"""disac_ros.live.window: the aggregation center's CollaboratorWindow waits for its collaborators, boundedly."""
from __future__ import annotations

import math

import numpy as np
import pytest
from livetools import IMAGE, FakeClock, N, echo

from disac_ros.live.drops import Dropped
from disac_ros.live.pairing import Frame
from disac_ros.live.window import CollaboratorWindow
from disac_ros.stamps import NS


def frame_at(s: float) -> Frame:
    return Frame(int(s * NS), IMAGE, np.stack([echo()] * N))


def send(window, device: str, s: float, snr: float = 10.0, dist: float = 30.0):
    out = []
    for n in range(N):
        out += window.add_code(device, int(s * NS), n, np.full((4, 8), n, np.float32), snr, dist)
    return out


def test_frame_is_released_when_every_collaborator_arrived():
    clock = FakeClock()
    w = CollaboratorWindow(["device_1", "device_2"], N, window_s=0.5, clock=clock)
    assert send(w, "device_1", 1.0) == []  # codes before the center frame are buffered
    assert w.add_frame(frame_at(1.0)) == []
    ready = send(w, "device_2", 1.0)
    assert len(ready) == 1 and not ready[0].timed_out
    assert sorted(ready[0].received) == ["device_1", "device_2"]
    rx = ready[0].received["device_1"]
    assert rx.codes.shape == (N, 4, 8) and rx.snr_db == 10.0 and rx.distance_m == 30.0
    assert [float(rx.codes[n].mean()) for n in range(N)] == [0.0, 1.0, 2.0]
    with pytest.raises(Dropped) as exc:
        send(w, "device_2", 1.0)
    assert exc.value.reason == "late"


def test_window_bounds_the_wait_and_a_dead_collaborator_is_not_waited_for():
    clock = FakeClock()
    w = CollaboratorWindow(["device_1", "device_2"], N, window_s=0.5, dead_after_s=3.0, clock=clock)
    for s in (1.0, 2.0):
        w.add_frame(frame_at(s))
        send(w, "device_1", s)
        assert len(send(w, "device_2", s)) == 1
    # device_2 dies: frame 3 waits at most the window, with device_1 only
    w.add_frame(frame_at(3.0))
    assert send(w, "device_1", 3.0) == []
    clock.t += 0.3
    assert w.poll() == []
    clock.t += 0.3
    (ready,) = w.poll()
    assert ready.timed_out and list(ready.received) == ["device_1"]
    # once device_2 has been silent for dead_after_s, frames no longer wait for it
    clock.t += 3.0
    assert send(w, "device_1", 4.0) == []  # device_1's codes come first this time
    assert w.live() == ["device_1"]
    (ready,) = w.add_frame(frame_at(4.0))
    assert not ready.timed_out and list(ready.received) == ["device_1"]
    # it is waited for again as soon as it is back
    send(w, "device_2", 5.0)
    assert w.live() == ["device_1", "device_2"]


def test_window_rejects_unknown_devices_and_codes_without_a_link():
    w = CollaboratorWindow(["device_1"], N, clock=FakeClock())
    with pytest.raises(Dropped) as exc:
        w.add_code("device_9", NS, 0, np.zeros((4, 8), np.float32), 10.0, 30.0)
    assert exc.value.reason == "unknown_device"
    with pytest.raises(Dropped) as exc:
        w.add_code("device_1", NS, 0, np.zeros((4, 8), np.float32), math.nan, 30.0)
    assert exc.value.reason == "invalid"
    w.add_frame(frame_at(10.0))
    with pytest.raises(Dropped) as exc:
        w.add_code("device_1", 5 * NS, 0, np.zeros((4, 8), np.float32), 10.0, 30.0)
    assert exc.value.reason == "stale"


def test_window_without_collaborators_releases_at_once_and_in_order():
    w = CollaboratorWindow([], N, clock=FakeClock())
    assert [r.frame.stamp for r in w.add_frame(frame_at(1.0))] == [NS]
    with pytest.raises(Dropped):
        w.add_frame(frame_at(0.5))


def test_a_complete_frame_does_not_wait_behind_an_older_incomplete_one():
    """device_2 skipped frame 1 (its keep-last queue replaced it) and delivered frame 2: frame 2 is released as soon
    as it is complete, frame 1 is overtaken (counted, never released after it), not held for frame 1's window."""
    clock = FakeClock()
    w = CollaboratorWindow(["device_1", "device_2"], N, window_s=0.5, clock=clock)
    w.add_frame(frame_at(0.5))
    send(w, "device_1", 0.5)
    assert len(send(w, "device_2", 0.5)) == 1                  # both have delivered before
    w.add_frame(frame_at(1.0))
    send(w, "device_1", 1.0)                                  # device_2 never sends 1.0
    w.add_frame(frame_at(2.0))
    assert send(w, "device_1", 2.0) == []
    clock.t += 0.1
    (ready,) = send(w, "device_2", 2.0)
    assert ready.frame.stamp == 2 * NS and not ready.timed_out and sorted(ready.received) == ["device_1", "device_2"]
    assert w.discarded == 1 and not w.holds(NS)
    clock.t += 1.0
    assert w.poll() == []                                     # frame 1.0 is gone, never released late
    with pytest.raises(Dropped) as exc:
        send(w, "device_2", 1.0)
    assert exc.value.reason == "late"
