"""disac_ros.files: files written whole or not at all, by several writers at once; caches filled by one."""
from __future__ import annotations

import multiprocessing as mp
import time

import pytest

from disac_ros.files import atomic_path, locked, write_text_atomic


def test_each_writer_gets_its_own_hidden_temporary_name_in_the_target_folder(tmp_path):
    target = tmp_path / "sub" / "a.json"
    with atomic_path(target) as first, atomic_path(target) as second:
        assert first != second and first.parent == second.parent == target.parent
        assert first.name.startswith(".a.json.") and first.name.endswith(".tmp")
        first.write_text("one")
        second.write_text("two")
    assert target.read_text() == "one"  # the outer block ends last: its content wins, nothing is lost
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.json"]


def test_a_failed_write_leaves_the_old_content_and_no_temporary_file(tmp_path):
    target = tmp_path / "a.txt"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer died")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def _write_many(path: str, text: str, barrier) -> None:
    barrier.wait(timeout=30)
    for _ in range(50):
        write_text_atomic(path, text)


def test_processes_writing_one_file_at_once_all_succeed_and_leave_a_whole_file(tmp_path):
    ctx = mp.get_context("fork")
    target, barrier = tmp_path / "shared.txt", ctx.Barrier(4)
    texts = [str(i) * 10_000 for i in range(4)]
    procs = [ctx.Process(target=_write_many, args=(str(target), t, barrier)) for t in texts]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert target.read_text() in texts and sorted(p.name for p in tmp_path.iterdir()) == ["shared.txt"]


def _hold(folder: str, log: str, barrier) -> None:
    barrier.wait(timeout=30)
    with locked(folder):
        with open(log, "a") as f:
            f.write("in\n")
        time.sleep(0.2)
        with open(log, "a") as f:
            f.write("out\n")


def test_the_lock_admits_one_process_at_a_time(tmp_path):
    ctx = mp.get_context("fork")
    log, barrier = tmp_path / "log", ctx.Barrier(3)
    procs = [ctx.Process(target=_hold, args=(str(tmp_path / "cache"), str(log), barrier)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert log.read_text() == "in\nout\n" * 3  # never two "in" in a row
    assert (tmp_path / "cache" / ".lock").exists()
