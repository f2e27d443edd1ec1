"""disac_ros.nodes.container: several nodes in one process keep their own names and parameters, all of them spin,
and SIGINT ends the process within 2 s with status 0; a malformed node list is refused."""
from __future__ import annotations

import math
import signal
import subprocess
import sys
import time

import pytest
from procs import start

from disac_ros.launch_description import ContainerSpec, NodeSpec
from disac_ros.topics import DIAGNOSTICS, RX, TX, absolute, device_topic

pytestmark = pytest.mark.slow


def _channel(name: str, device: str, snr_db: float) -> NodeSpec:
    return NodeSpec("channel", name, parameters={"preset": "smoke", "center": "device_0", "devices": [device],
                                                 "snr_db": snr_db}, use_sim_time=False)


def _code(device: str):
    from disac_ros.msg import SemanticCode

    msg = SemanticCode(device_id=device, target_id=0, length=4, dim=8, dtype=0, symbols=[0.5] * 32,
                       snr_db=math.nan, distance_m=math.nan, payload_bytes=0)
    msg.header.stamp.sec = 7
    return msg


@pytest.mark.parametrize("executor", ["single", "multi"])
def test_two_nodes_in_one_process_keep_their_parameters_spin_and_stop_on_sigint(rclpy_context, executor):
    from diagnostic_msgs.msg import DiagnosticArray
    from disac_ros.msg import SemanticCode
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node

    from disac_ros.ros.qos import RELIABLE_QOS

    spec = ContainerSpec((_channel("link_a", "device_1", 5.0), _channel("link_b", "device_2", 15.0)), executor)
    proc, lines = start([sys.executable, "-m", spec.module, *spec.ros_arguments(), "--log-level", "info"])
    node = Node("container_probe")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    snr: dict[str, str] = {}
    received: dict[str, int] = {"device_1": 0, "device_2": 0}
    node.create_subscription(DiagnosticArray, DIAGNOSTICS, lambda m: snr.update(
        {s.name: {kv.key: kv.value for kv in s.values}.get("snr_db_reference") for s in m.status}), 10)
    pubs = {}
    for device in received:
        pubs[device] = node.create_publisher(SemanticCode, absolute(device_topic(device, TX)), RELIABLE_QOS)
        node.create_subscription(SemanticCode, absolute(device_topic(device, RX)),
                                 lambda m, d=device: received.__setitem__(d, received[d] + 1), RELIABLE_QOS)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (all(received.values()) and {"/link_a", "/link_b"} <= set(snr)):
            for device, pub in pubs.items():
                pub.publish(_code(device))
            executor.spin_once(timeout_sec=0.2)
            assert proc.poll() is None, "\n".join(lines)
        assert all(received.values()), f"both nodes forward their link: {received}\n" + "\n".join(lines)
        assert snr.get("/link_a") == "5" and snr.get("/link_b") == "15", snr  # each its own parameters
        names = {name for name, _ in node.get_node_names_and_namespaces()}
        assert {"link_a", "link_b"} <= names
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        status = proc.wait(timeout=10)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
        node.destroy_node()
    assert status == 0, "\n".join(lines)
    assert took < 2.0, f"the container took {took:.2f} s to stop after SIGINT"
    assert not any("Traceback" in line for line in lines), "\n".join(lines)


def test_a_malformed_node_list_is_refused():
    from disac_ros.launch_description import EXECUTABLES
    from disac_ros.nodes.container import NODE_CLASSES, parse_nodes

    assert set(NODE_CLASSES) == set(EXECUTABLES)  # every executable of the graph can be composed

    spec = ContainerSpec((_channel("link_a", "device_1", 5.0),))
    assert parse_nodes(spec.nodes_json()) == [("channel", spec.nodes[0].ros_arguments())]
    for bad, reason in (("[", "not JSON"), ("[]", "non-empty"), ('[{"executable": "rm"}]', "one of"),
                        ('[{"executable": "channel", "arguments": [1]}]', "strings")):
        with pytest.raises(ValueError, match=reason):
            parse_nodes(bad)
    for argv in (["[]"], [spec.nodes_json(), "--executor", "many"]):
        out = subprocess.run([sys.executable, "-m", "disac_ros.nodes.container", *argv], capture_output=True,
                             text=True)
        assert out.returncode == 2 and ("non-empty" in out.stderr or "invalid choice" in out.stderr), out.stderr
