"""Devices on separate hosts (issue 16): the center and one collaborator in two Linux network namespaces.

Host A (namespace ``disac_a_<pid>``) runs the bridge, the channel, the aggregator and an observer of ``/targets``;
host B (``disac_b_<pid>``) runs only device_1's encoder. A veth pair joins them (10.213.0.1/24 - 10.213.0.2/24, with
the multicast route DDS discovery needs); the namespaces have nothing else, so everything device_1's encoder
receives (its camera and echoes) and sends (its codes) crosses the veth. DDS is forced onto UDPv4
(``FASTDDS_BUILTIN_TRANSPORTS=UDPv4``: no shared-memory transport, which would not cross hosts) with discovery over
the subnet (``ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET``). The test sees ``/targets`` with device_1 among the
contributing devices and the veth's byte counters showing the traffic. The namespaces and the veth are made and
removed by the test; it needs root (``ip netns``) and is skipped without it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from procs import start, stop

pytestmark = pytest.mark.slow

FIRST_REMOTE_TARGETS_S = 300   # includes Genesis' kernel compilation with a cold cache
OBSERVER = """
import json, sys, rclpy
from disac_ros.msg import TargetStateArray
from disac_ros.ros.qos import RELIABLE_QOS
rclpy.init()
node = rclpy.create_node("observer")
def seen(msg):
    devices = sorted({d for t in msg.targets for d in t.contributing_devices})
    print(json.dumps({"n": len(msg.targets), "devices": devices}), flush=True)
node.create_subscription(TargetStateArray, "/targets", seen, RELIABLE_QOS)
print("observer ready", flush=True)
rclpy.spin(node)
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _counters(ns: str, dev: str) -> dict[str, int]:
    out = {}
    for what in ("rx_bytes", "tx_bytes"):
        text = subprocess.run(["ip", "netns", "exec", ns, "cat", f"/sys/class/net/{dev}/statistics/{what}"],
                              check=True, capture_output=True, text=True).stdout
        out[what] = int(text)
    return out


@pytest.fixture
def hosts():
    """Two network namespaces joined by a veth pair: {"a": (ns, dev, address), "b": ...}; removed afterwards."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("network namespaces need root and iproute2 (ip)")
    pid = os.getpid() % 100_000
    a, b = ((f"disac_{side}_{pid}", f"dv{side}{pid}", f"10.213.0.{i}") for i, side in ((1, "a"), (2, "b")))
    made = []
    try:
        for ns, _, _ in (a, b):
            _ip("netns", "add", ns)
            made.append(ns)
        _ip("link", "add", a[1], "type", "veth", "peer", "name", b[1])
        for ns, dev, address in (a, b):
            _ip("link", "set", dev, "netns", ns)
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up", "multicast", "on")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", dev)  # DDS discovery is multicast
    except subprocess.CalledProcessError as exc:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        pytest.skip(f"cannot make network namespaces here: {exc.stderr.strip()}")
    yield {"a": a, "b": b}
    for ns in made:  # deleting a namespace deletes its end of the veth, and so the pair
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_a_collaborator_on_another_host_feeds_the_center(hosts, smoke_run, monkeypatch):
    from disac_ros.launch_description import describe
    from disac_ros.ros.transport import PROFILE_VARIABLES

    monkeypatch.setenv("FASTDDS_BUILTIN_TRANSPORTS", "UDPv4")
    for variable in PROFILE_VARIABLES:  # the graph's profile (shared memory too) gives way to the UDP choice
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "SUBNET")
    monkeypatch.delenv("ROS_LOCALHOST_ONLY", raising=False)
    specs = {s.full_name: s for s in describe(preset="smoke", num_devices=2, run=smoke_run)}
    assert set(specs) == {"/genesis_bridge", "/device_1/device_encoder", "/channel", "/aggregator"}
    (ns_a, dev_a, _), (ns_b, dev_b, _) = hosts["a"], hosts["b"]

    def on(ns: str, cmd: list[str]):
        return start(["ip", "netns", "exec", ns, *cmd])

    def node(name: str) -> list[str]:
        return [sys.executable, "-m", specs[name].module, *specs[name].ros_arguments()]

    procs = []
    try:
        observer, seen = on(ns_a, [sys.executable, "-c", OBSERVER])
        procs.append(observer)
        procs += [on(ns_a, node(n))[0] for n in ("/genesis_bridge", "/channel", "/aggregator")]
        encoder, encoder_lines = on(ns_b, node("/device_1/device_encoder"))
        procs.append(encoder)
        before = {ns: _counters(ns, dev) for ns, dev in ((ns_a, dev_a), (ns_b, dev_b))}
        deadline, remote = time.monotonic() + FIRST_REMOTE_TARGETS_S, []
        while not remote:
            assert time.monotonic() < deadline, \
                f"no /targets with device_1 on host A; observer: {seen[-5:]}; encoder: {encoder_lines[-10:]}"
            for p in procs:
                assert p.poll() is None, f"a node exited with {p.returncode}; encoder: {encoder_lines[-10:]}"
            remote = [m for m in (json.loads(line) for line in seen if line.startswith("{"))
                      if "device_1" in m["devices"]]
            time.sleep(0.5)
        assert remote[0]["n"] == 3 and remote[0]["devices"] == ["device_0", "device_1"]
        after = {ns: _counters(ns, dev) for ns, dev in ((ns_a, dev_a), (ns_b, dev_b))}
        # B received device_1's sensors (an image of 64 x 64 x 3 bytes and 3 echoes per frame) and sent its codes
        assert after[ns_b]["rx_bytes"] - before[ns_b]["rx_bytes"] > 64 * 64 * 3
        assert after[ns_b]["tx_bytes"] - before[ns_b]["tx_bytes"] > 3 * 32 * 4
        assert after[ns_a]["rx_bytes"] - before[ns_a]["rx_bytes"] == pytest.approx(
            after[ns_b]["tx_bytes"] - before[ns_b]["tx_bytes"], rel=0.05, abs=20_000)  # one wire, two ends
    finally:
        for p in reversed(procs):
            stop(p, timeout=20)
