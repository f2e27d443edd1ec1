"""disac_ros.live.pairing: the FrameAssembler pairs one device's image and echoes by stamp, and drops the rest."""
from __future__ import annotations

import numpy as np
import pytest
from livetools import IMAGE, N, echo

from disac_ros.live.drops import Dropped
from disac_ros.live.pairing import FrameAssembler
from disac_ros.stamps import NS


def test_pairs_image_and_all_echoes_of_one_stamp_in_any_order():
    fa = FrameAssembler(N)
    assert fa.add_echo(5 * NS, 2, echo(2)) is None
    assert fa.add_image(5 * NS, IMAGE) is None
    assert fa.add_echo(6 * NS, 0, echo(9)) is None  # another stamp interleaved
    assert fa.add_echo(5 * NS, 0, echo(0)) is None
    frame = fa.add_echo(5 * NS, 1, echo(1))
    assert frame is not None and frame.stamp == 5 * NS
    assert frame.echoes.shape == (N, 1, 2, 3) and frame.echoes.dtype == np.complex64
    assert [float(frame.echoes[n].real.mean()) for n in range(N)] == [0.0, 1.0, 2.0]
    assert fa.pending == 1  # stamp 6 still waits


def test_out_of_order_duplicate_and_stale_stamps_are_dropped():
    fa = FrameAssembler(N, stale_after_s=2.0)
    fa.add_image(10 * NS, IMAGE)
    for n in range(N):
        fa.add_echo(10 * NS, n, echo())
    with pytest.raises(Dropped) as exc:
        fa.add_image(10 * NS, IMAGE)
    assert exc.value.reason == "duplicate"
    with pytest.raises(Dropped) as exc:
        fa.add_echo(9 * NS, 0, echo())
    assert exc.value.reason == "out_of_order"
    with pytest.raises(Dropped) as exc:  # 3 s behind the newest stamp seen
        fa.add_image(7 * NS, IMAGE)
    assert exc.value.reason == "stale"
    with pytest.raises(Dropped) as exc:  # the clock (sim time) is the reference too
        FrameAssembler(N, stale_after_s=2.0).add_image(1 * NS, IMAGE, now_ns=5 * NS)
    assert exc.value.reason == "stale"
    with pytest.raises(Dropped) as exc:
        fa.add_echo(11 * NS, 7, echo())
    assert exc.value.reason == "unknown_target"


def test_a_stamp_far_ahead_of_the_clock_is_dropped_and_does_not_poison_later_frames():
    fa = FrameAssembler(N, stale_after_s=2.0)
    with pytest.raises(Dropped) as exc:  # e.g. sec = 2^31 - 1 from a broken publisher
        fa.add_image((2**31 - 1) * NS, IMAGE, now_ns=5 * NS)
    assert exc.value.reason == "future"
    assert fa.add_image(6 * NS, IMAGE, now_ns=5 * NS) is None  # one frame period ahead of /clock is fine
    for n in range(N - 1):
        fa.add_echo(6 * NS, n, echo(), now_ns=5 * NS)
    assert fa.add_echo(6 * NS, N - 1, echo(), now_ns=5 * NS).stamp == 6 * NS


def test_buffer_is_bounded_and_a_completed_frame_discards_older_ones():
    fa = FrameAssembler(N, max_pending=2)
    for s in (1, 2, 3):
        fa.add_image(s * NS, IMAGE)
    assert fa.pending == 2 and fa.discarded == 1
    for n in range(N):
        frame = fa.add_echo(3 * NS, n, echo())
    assert frame.stamp == 3 * NS and fa.pending == 0 and fa.discarded == 2
    with pytest.raises(Dropped):
        fa.add_image(2 * NS, IMAGE)  # can never be emitted after 3


def test_frames_that_never_arrived_are_counted_as_skipped_with_a_known_frame_period():
    fa = FrameAssembler(N, frame_period_s=0.5)

    def complete(stamp):
        fa.add_image(stamp, IMAGE)
        return [fa.add_echo(stamp, n, echo()) for n in range(N)][-1]

    assert complete(1 * NS).stamp == NS
    fa.add_echo(NS + NS // 2, 0, echo())          # 1.5 s: partly received, then overtaken
    # 2.0 s and 2.5 s never arrive
    assert complete(3 * NS).stamp == 3 * NS
    assert fa.discarded == 1 and fa.skipped == 2
    assert complete(3 * NS + NS // 2) is not None and fa.skipped == 2   # the next frame: nothing missing
    assert FrameAssembler(N).skipped == 0                               # period unknown: not counted
