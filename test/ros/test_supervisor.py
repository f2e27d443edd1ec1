"""disac_ros.ros.supervisor: what a node's process is started with."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from disac_ros.launch_description import available_cpus
from disac_ros.ros.supervisor import child_preexec

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
