"""disac_ros.live.stride: the frames a stride keeps, and the stride a center asks for from its load."""
from __future__ import annotations

import pytest

from disac_ros.live.stride import STRIDES, StrideAdvisor, frame_index, kept, on_stride
from disac_ros.stamps import NS


def test_every_node_keeps_the_same_frames():
    period = 0.4  # the default scene's 2.5 frames per s
    stamps = [int(round(k * period * NS)) + jitter for k in range(12) for jitter in (0, 3)]  # ns-rounding jitter
    assert [frame_index(s, period) for s in stamps[::2]] == list(range(12))
    kept = [frame_index(s, period) for s in stamps if on_stride(s, period, 3)]
    assert kept == [0, 0, 3, 3, 6, 6, 9, 9]
    assert all(on_stride(s, period, 1) for s in stamps) and all(on_stride(s, 0.0, 3) for s in stamps)
    # a fractional stride: 4 frames in 5 at 1.25, 2 in 3 at 1.5, spread evenly
    assert [k for k in range(10) if on_stride(int(k * period * NS), period, 1.25)] == [0, 2, 3, 4, 5, 7, 8, 9]
    assert [k for k in range(9) if on_stride(int(k * period * NS), period, 1.5)] == [0, 2, 3, 5, 6, 8]
    assert all(sum(on_stride(int(k * period * NS), period, stride) for k in range(960)) == 960 / stride
               for stride in STRIDES)


def _run(advisor: StrideAdvisor, rate: float, service_s, seconds: int, start: float = 0.0,
         complete=lambda k, stride: True, disturbed: bool = False) -> list[float]:
    """``seconds`` updates a second apart with ``rate`` center frames per s, served in ``service_s(stride)``; frame
    ``k`` of a second is served with all its collaborators when ``complete(k, stride)``; the frames served are those
    :func:`kept` keeps (frame ``k`` of a second is frame ``t * rate + k``); every update is told ``disturbed``."""
    strides = []
    for t in range(seconds):
        for k in range(int(rate)):
            advisor.offered()
            if kept(int(start + t) * int(rate) + k, advisor.stride):
                advisor.served(service_s(advisor.stride), complete=complete(k, advisor.stride))
        strides.append(advisor.update(start + t + 1.0, disturbed=disturbed))
    return strides


def test_a_center_that_keeps_up_asks_every_frame():
    advisor = StrideAdvisor()
    assert _run(advisor, 4, lambda k: 0.15, 10) == [1] * 10     # load 0.6 < 0.95


def test_a_center_just_over_its_capacity_asks_for_a_fine_step_rather_than_half_the_frames():
    """5 frames/s: at 0.2 s each (load 1.0) it serves newest first at stride 1; at 0.26 s (load 1.3) it asks for 4
    frames in 5 (1.25), where an integer stride would have halved its rate to 2.5 per s."""
    assert _run(StrideAdvisor(), 5, lambda k: 0.2, 10) == [1] * 10
    assert set(_run(StrideAdvisor(), 5, lambda k: 0.26, 10)[1:]) == {1.25}


def test_overload_raises_the_stride_at_once_and_it_falls_back_slowly_without_oscillating():
    advisor = StrideAdvisor(hold=3)
    # 8 frames/s, 0.2 s each while the devices encode every frame, 0.15 s once they encode fewer: load 1.6 -> 1.5
    # (1.6 / 0.95 = 1.68, nearest 1.5)
    strides = _run(advisor, 8, lambda k: 0.2 if k == 1 else 0.15, 10)
    assert strides[0] == 1 and set(strides[1:]) == {1.5}  # 8 * 0.15 / 0.76 = 1.58, nearest 1.5: stays
    # the offered rate halves: 4 * 0.15 / 0.76 rounds to 1, so the stride falls a step after every 3 updates
    strides = _run(advisor, 4, lambda k: 0.15, 8, start=10.0)
    assert strides[:2] == [1.5, 1.5] and strides[-1] == 1 and sorted(strides, reverse=True) == strides
    assert 1.25 in strides


def test_the_stride_is_bounded_and_bad_settings_are_refused():
    advisor = StrideAdvisor(max_stride=4)
    assert _run(advisor, 20, lambda k: 1.0, 3)[-1] == 4
    advisor.served(float("nan"))   # ignored
    advisor.reset()
    assert advisor.stride == 1 and advisor.update(100.0) == 1
    with pytest.raises(ValueError):
        StrideAdvisor(utilisation=0.0)


def test_work_on_frames_then_superseded_counts_as_load():
    """Work on frames begun and then superseded raises the service time of the frames served (0.1 -> 0.1375 s with
    0.15 s of it per second beside 4 served), and enough of it raises the stride."""
    idle, busy = StrideAdvisor(), StrideAdvisor()
    for t in range(3):
        for advisor in (idle, busy):
            for k in range(8):
                advisor.offered()
                if k % 2 == 0:
                    advisor.served(0.1)
        for _ in range(3):
            busy.worked(0.05)
        idle.update(t + 1.0), busy.update(t + 1.0)
    assert idle.stride == 1 and busy.service_s == pytest.approx(0.1375)
    assert busy.stride == 1.25  # load 8 x 0.1375 = 1.1, over 0.95: 1.16, nearest 1.25
    for _ in range(3):
        busy.worked(1.0)
    busy.offered(8)
    busy.served(0.1)
    assert busy.update(4.0) > 1.25


def _run_congested(advisor, seconds, incomplete_every, start, disturbed=False):
    """12 frames/s served in 0.08 s, one in ``incomplete_every`` (every one: 1, none: 0) incomplete."""
    return _run(advisor, 12, lambda k: 0.08, seconds, start,
                complete=lambda k, stride: incomplete_every == 0 or k % incomplete_every != 0, disturbed=disturbed)


def test_frames_served_without_their_collaborators_raise_the_stride_and_hold_it():
    """Devices that cannot keep up leave the center's frames incomplete and cheap (load 12 x 0.08 = 0.96: stride 1
    by load alone); more than a quarter incomplete is congestion: a step up per update, no step down while over a
    twentieth are; all complete again, it falls after the hold (each stride was congested once)."""
    assert _run_congested(StrideAdvisor(), 4, 0, 0.0) == [1] * 4
    congested = StrideAdvisor(congestion_hold=12)
    assert _run_congested(congested, 3, 1, 0.0) == [1, 1.25, 1.5]  # every frame incomplete (first update: no load)
    assert _run_congested(congested, 6, 12, 3.0) == [1.5] * 6       # one in 12 incomplete: held, not lowered
    assert _run_congested(congested, 4, 0, 9.0)[-1] < 1.5           # all complete again: lowered after the hold


def test_a_congested_stride_is_not_given_up_while_the_rate_stays():
    """A center whose load leaves out its devices' work (nodes sharing one process): at stride 1 the devices miss
    its frames, at 2 they keep up and its load (8 x 0.09) asks for 1 again. Congested at 1.5 a second time, it keeps
    2 for the hold instead of going back and forth every few updates, and gives it up when the offered rate halves."""
    def run(advisor, seconds, rate=8, start=0.0):   # the devices keep up with 4 frames/s
        return _run(advisor, rate, lambda k: 0.09, seconds, start, complete=lambda k, stride: rate / stride <= 4)

    advisor = StrideAdvisor(congestion_hold=30)
    strides = run(advisor, 25)
    assert strides[:4] == [1, 1.25, 1.5, 2] and strides.count(1.5) == 2 and set(strides[10:]) == {2}  # one probe
    assert run(StrideAdvisor(congestion_hold=0), 25).count(1.5) > 3   # without the memory: back and forth
    assert run(advisor, 9, rate=4, start=25.0)[-1] == 1                 # half the rate: lowered after the hold


def test_frames_incomplete_while_malformed_input_is_dropped_are_not_congestion():
    """The same incomplete frames that raise the stride (the test above) raise nothing while the graph drops
    malformed input: a device that lost its frames to bad input is not a device too busy for them."""
    assert _run_congested(StrideAdvisor(), 10, 1, 0.0, disturbed=True) == [1] * 10
    assert _run_congested(StrideAdvisor(), 10, 1, 0.0)[-1] > 1


def test_the_stride_is_what_the_load_needs_soon_after_a_disturbance_ends():
    """Congestion remembered during a burst (here: before the advisor learnt of it) is forgotten once the graph has
    been quiet for ``quiet`` updates: the stride is back to the load's within ``quiet + 2`` updates, where without
    the disturbance it stays held above for ``congestion_hold`` updates."""
    advisor = StrideAdvisor(congestion_hold=30, quiet=2)
    _run_congested(advisor, 8, 1, 0.0)                                  # congested: raised, congested again: held
    during = _run_congested(advisor, 5, 1, 8.0, disturbed=True)         # the malformed burst the nodes report
    after = _run_congested(advisor, 12, 0, 13.0)                        # quiet again, every frame complete
    assert min(during) > 1.5                                            # what the burst left behind
    assert after[3:] == [1] * (len(after) - 3), after                   # the load's (0.96) within quiet + 2
    never_told = StrideAdvisor(congestion_hold=30)
    _run_congested(never_told, 13, 1, 0.0)
    assert _run_congested(never_told, 12, 0, 13.0)[-1] > 1     # the memory of congestion holds it
