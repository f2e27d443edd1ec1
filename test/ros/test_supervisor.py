"""disac_ros.ros.supervisor: what a node's process is started with."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from disac_ros.launch_description import available_cpus
from disac_ros.ros.supervisor import READY, child_preexec

AFFINITY = "import os, threading; t = threading.Thread(target=lambda: print(sorted(os.sched_getaffinity(0)))); " \
           "t.start(); t.join(); print(sorted(os.sched_getaffinity(0)))"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this OS")
def test_a_child_and_the_threads_it_starts_run_on_the_cpus_it_was_given():
    last = available_cpus()[-1]
    out = subprocess.run([sys.executable, "-c", AFFINITY], preexec_fn=child_preexec((last,)), capture_output=True,
                         text=True, check=True).stdout.split("\n")
    assert out[:2] == [f"[{last}]", f"[{last}]"]
    out = subprocess.run([sys.executable, "-c", AFFINITY], preexec_fn=child_preexec(), capture_output=True,
                         text=True, check=True).stdout.split("\n")
    assert out[1] == str(list(available_cpus()))


class _Spec:
    """A node the launcher starts as ``python -m <module>`` (a script of the test's, standing in for a node)."""

    def __init__(self, module: str, name: str):
        self.module, self.full_name, self.cpus = module, f"/{name}", ()

    def ros_arguments(self) -> list[str]:
        return []


SCRIPTS = {
    "spins": f"import time\nprint('[INFO] [node]: {READY} (1 node in this process)', flush=True)\ntime.sleep(60)\n",
    "hangs": "import time\nprint('loading a model...', flush=True)\ntime.sleep(60)\n",
    "dies": f"import sys, time\nprint('{READY}', flush=True)\ntime.sleep(0.5)\nsys.exit(3)\n",
}


def _launch(tmp_path, monkeypatch, *kinds, duration: float = 3.0):
    import io

    from disac_ros.ros.supervisor import Launcher

    for kind in SCRIPTS:
        (tmp_path / f"fake_{kind}.py").write_text(SCRIPTS[kind])
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    out = io.StringIO()
    launcher = Launcher([_Spec(f"fake_{k}", f"{k}_{i}") for i, k in enumerate(kinds)], grace=2.0, out=out)
    launcher.start()
    return launcher.supervise(duration), out.getvalue()


def test_a_graph_whose_nodes_all_spin_succeeds(tmp_path, monkeypatch):
    failed, text = _launch(tmp_path, monkeypatch, "spins", "spins")
    assert not failed and "every node is ready" in text and "FAILED" not in text


def test_a_node_that_never_becomes_ready_fails_the_graph_and_is_named(tmp_path, monkeypatch):
    failed, text = _launch(tmp_path, monkeypatch, "spins", "hangs")
    assert failed and "[launch] FAILED: hangs_1 never became ready" in text and "every node is ready" not in text


def test_a_node_that_dies_fails_the_graph_and_is_named(tmp_path, monkeypatch):
    failed, text = _launch(tmp_path, monkeypatch, "spins", "dies")
    assert failed and "dies_1 exited unexpectedly with status 3" in text and "FAILED: dies_1 died" in text
