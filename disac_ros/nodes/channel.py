"""``channel``: the wireless links from the collaborators to the aggregation center (Eqs. 8-10).

For every collaborator k in ``devices`` it subscribes to ``<k>/semantic/tx`` and publishes ``<k>/semantic/rx``:
the code after modulation, ``y = H c + n`` and demodulation, exactly as training applies the channel
(:func:`disac_ros.models.link.transmit_codes`), with the link's SNR and distance filled in, and ``<k>/link/stats``
(``LinkStats``, the code's stamp and target): payload bytes and bits, SNR, distance, gain, N_0, Shannon rate
(Eq. 9) and delay (Eq. 10).

Link model (:mod:`disac_ros.models.link`). The distance d_k is the 3-D distance between device k and the center at
their surveyed poses (what training prompts the decoder with); the gain uses the true distance. The SNR at sim
time t is ``snr_db`` (``snr_profile: constant``) or ``snr_db + snr_amplitude_db * sin(2 pi t / snr_period_s)``
(``sine``); it is the SNR at the reference distance. The power gain is
``H_k = (reference_distance_m / d_k) ** path_loss_exponent``, so the link's received SNR is
``snr(t) + 10 log10 H_k``; exponent 0 (the default) is the paper's pure AWGN channel, H = 1, where every link has
the configured SNR. The receiver knows H_k and equalises, so the decoder sees the code
plus noise at the link's SNR, as in training. Eq. (9) uses ``P / N_0 = 10^(snr(t)/10)``, ``bandwidth_hz`` and
``power_w``. The writable parameters of :data:`PARAMETERS` (SNR, its profile, bandwidth, power, ``lossless``) can be
changed at run time (``ros2 param set``), checked with :func:`disac_ros.models.link.check_link` (a refused value
answers with the reason, the link keeps its settings).

Nothing a publisher sends ends the channel: a code from another device, with an insane stamp, a bad layout
(:func:`disac_ros.live.checks.code_layout`: empty, odd, too large, a count that does not match, an unknown dtype
or payload) or non-finite values is counted and dropped; so is a code whose link budget or received values are
not all finite (``nonfinite_output``: an extreme link, never published).
"""
from __future__ import annotations

import zlib
from collections import defaultdict

import numpy as np
import torch
from rclpy.clock import Clock, ClockType
from rclpy.node import Node

from disac_ros.live.checks import code_layout, finite_array, header_stamp
from disac_ros.live.drops import DropLog, Dropped, classify_error, guarded
from disac_ros.live.params import NUM_THREADS, PRESET, STRING_ARRAY, Param, one_of, scene_config
from disac_ros.models.link import (
    BANDWIDTH_HZ,
    POWER_W,
    SNR_PROFILES,
    SNR_RANGE_DB,
    check_link,
    link_budget,
    link_distances,
    path_gain,
    snr_at,
    transmit_codes,
)
from disac_ros.msg import LinkStats, SemanticCode
from disac_ros.nodes.diagnostics import Diagnostics
from disac_ros.nodes.loading import load_scene_config, set_torch_threads
from disac_ros.nodes.params import declare_all
from disac_ros.nodes.spin import ConfigError, exit_process, spin
from disac_ros.ros.convert import code_to_msg, msg_to_code, stats_to_msg, to_seconds
from disac_ros.ros.qos import RELIABLE_QOS
from disac_ros.topics import LINK_STATS, RX, TX, device_topic

PARAMETERS = (
    scene_config("device positions give the link distances"),
    PRESET,
    Param("devices", STRING_ARRAY,
          "collaborators whose links to simulate (unset: every device but the center; ['']: none)"),
    Param("center", "", "aggregation center (empty: the scene's first device)"),
    Param("snr_db", 20.0, "link SNR at the reference distance [dB]", SNR_RANGE_DB, read_only=False),
    Param("snr_profile", "constant", f"time variation of the SNR: {' | '.join(SNR_PROFILES)}", read_only=False,
          check=one_of(SNR_PROFILES)),
    Param("snr_amplitude_db", 0.0, "sine profile: amplitude [dB] (snr_db +- amplitude within the snr_db range)",
          (-75.0, 75.0), read_only=False),
    Param("snr_period_s", 10.0, "sine profile: period [sim s]", (0.01, 1e6), read_only=False),
    Param("bandwidth_hz", BANDWIDTH_HZ, "bandwidth B_k per link, Eq. (9) [Hz]", (1.0, 1e12), read_only=False),
    Param("power_w", POWER_W, "transmit power P_k, Eq. (9) [W]", (1e-12, 1e6), read_only=False),
    Param("path_loss_exponent", 0.0, "H_k = (reference_distance_m / d_k)^exponent; 0: pure AWGN (H = 1)",
          (0.0, 10.0)),
    Param("reference_distance_m", 1.0, "distance at which the link SNR equals snr_db [m]", (1e-3, 1e6)),
    Param("lossless", False, "pass codes unchanged (the w/o SC loss baseline)", read_only=False),
    Param("seed", 0, "seed of the channel noise (with the device, stamp and target)", (0, 2**32 - 1)),
    NUM_THREADS,
)
#: The parameters ``ros2 param set`` changes while the channel runs.
RUNTIME = tuple(p.name for p in PARAMETERS if not p.read_only)


def check_runtime(values: dict) -> None:
    """Raise ``ValueError`` naming the first invalid link parameter among the :data:`RUNTIME` ``values``."""
    check_link(values["snr_db"], values["snr_profile"], values["snr_amplitude_db"], values["snr_period_s"],
               values["bandwidth_hz"], values["power_w"])


class Channel(Node):
    def __init__(self, **kwargs):
        super().__init__("channel", **kwargs)
        self.drops = DropLog(logger=self.get_logger())
        values = declare_all(self, PARAMETERS, check=check_runtime, on_change=self._on_parameters)
        self.link = {name: values[name] for name in RUNTIME}
        self.seed = values["seed"]
        cfg = load_scene_config(values["scene_config"], values["preset"])
        self.center = values["center"] or cfg.devices[0].id
        devices = values["devices"]
        self.devices = [d for d in devices if d] if devices is not None else \
            [d.id for d in cfg.devices if d.id != self.center]
        if self.center in self.devices:
            raise ConfigError(f"{self.center} is the center; it has no link to itself")
        try:
            self.distance = link_distances(cfg, self.center, self.devices)   # surveyed: what the prompt is told
            self.gain = {k: path_gain(d, values["reference_distance_m"], values["path_loss_exponent"])
                         for k, d in link_distances(cfg, self.center, self.devices, known=False).items()}
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        set_torch_threads(values["num_threads"])
        torch.manual_seed(self.seed)

        self.rx_pubs = {k: self.create_publisher(SemanticCode, device_topic(k, RX), RELIABLE_QOS) for k in self.devices}
        self.stats_pubs = {k: self.create_publisher(LinkStats, device_topic(k, LINK_STATS), RELIABLE_QOS)
                           for k in self.devices}
        for k in self.devices:
            self.create_subscription(SemanticCode, device_topic(k, TX), lambda msg, k=k: self.on_code(k, msg),
                                     RELIABLE_QOS)
        self._stats: dict[str, list[dict]] = defaultdict(list)
        self.forwarded: dict[str, int] = {k: 0 for k in self.devices}
        self._last: dict[str, dict] = {}
        self.diagnostics = Diagnostics(self, self._diagnostics, lambda: {f"codes.{k}": n for k, n in
                                                                         self.forwarded.items()}, self.drops)
        self.create_timer(10.0, self.summary, clock=Clock(clock_type=ClockType.STEADY_TIME))
        links = ", ".join(f"{k}: {self.distance[k]:.1f} m, H {self.gain[k]:.3g}" for k in self.devices)
        self.get_logger().info(f"links to {self.center}: {links}; SNR {self.link['snr_db']:g} dB "
                               f"({self.link['snr_profile']}), B {self.link['bandwidth_hz']:g} Hz, "
                               f"P {self.link['power_w']:g} W")

    def _on_parameters(self, values: dict) -> None:
        """``ros2 param set /channel snr_db 5.0`` (and the other :data:`RUNTIME` parameters) take effect at once.

        Called by :func:`declare_all` after the change passed the table and :func:`check_runtime`.
        """
        self.link = {name: values[name] for name in RUNTIME}

    @guarded
    def on_code(self, device_id: str, msg) -> None:
        if msg.device_id != device_id:
            return self.drops.warn("unknown_device", f"code from {msg.device_id!r} on {device_id}'s link")
        try:
            header_stamp(msg)
            payload = code_layout(msg.length, msg.dim, len(msg.symbols), msg.dtype, msg.payload_bytes)
            code = msg_to_code(msg)
        except Dropped as exc:
            return self.drops.warn(exc.reason, f"code of {device_id}: {exc}")
        except ValueError as exc:
            return self.drops.warn(classify_error(str(exc)), f"code of {device_id}: {exc}")
        link = self.link
        t = to_seconds(msg.header.stamp)
        gain = self.gain[device_id]
        # The noise of a code depends on (seed, device, stamp, target) only, so a replayed bag gets the same noise.
        key = f"{self.seed}/{device_id}/{msg.header.stamp.sec}/{msg.header.stamp.nanosec}/{msg.target_id}"
        generator = torch.Generator().manual_seed(zlib.crc32(key.encode()))
        try:
            snr_ref = snr_at(t, link["snr_db"], link["snr_profile"], link["snr_amplitude_db"], link["snr_period_s"])
            stats = link_budget(payload, snr_ref, gain, link["bandwidth_hz"], link["power_w"])
            finite_array(np.array(list(stats.values())), f"link budget of {device_id} at {snr_ref:g} dB")
            received = transmit_codes(code[None], stats["snr_db"], gain, link["lossless"], generator=generator)[0]
            finite_array(received, f"code of {device_id} after the channel at {stats['snr_db']:g} dB")
        except Dropped as exc:
            return self.drops.warn(exc.reason, str(exc))
        except ValueError as exc:
            return self.drops.warn("invalid", f"code of {device_id} at t={t:.3f} s: {exc}")
        out = code_to_msg(received, device_id, msg.target_id, msg.header.stamp, msg.header.frame_id,
                          snr_db=stats["snr_db"], distance_m=self.distance[device_id])
        out.dtype, out.payload_bytes = msg.dtype, payload
        # Statistics first: the aggregator may aggregate as soon as the last code of a frame arrives.
        self.stats_pubs[device_id].publish(stats_to_msg(device_id, msg.header.stamp, msg.header.frame_id,
                                                        msg.target_id, self.distance[device_id], stats))
        self.rx_pubs[device_id].publish(out)
        self._stats[device_id].append(stats)
        self._last[device_id] = stats
        self.forwarded[device_id] += 1
        self.get_logger().debug(f"{device_id} t={t:.3f} s target {msg.target_id}: SNR {stats['snr_db']:.1f} dB, "
                                f"{stats['rate_bps']:.0f} bit/s, t_com {1e3 * stats['delay_s']:.1f} ms")

    def _diagnostics(self) -> dict:
        out = {"snr_db_reference": self.link["snr_db"], "snr_profile": self.link["snr_profile"]}
        for k, stats in self._last.items():
            out.update({f"snr_db.{k}": stats["snr_db"], f"payload_bytes.{k}": stats["payload_bytes"],
                        f"rate_bps.{k}": stats["rate_bps"], f"delay_ms.{k}": 1e3 * stats["delay_s"]})
        return out

    @guarded
    def summary(self) -> None:
        parts = []
        for k, rows in self._stats.items():
            if rows:
                parts.append(f"{k}: {len(rows)} codes, SNR {np.mean([r['snr_db'] for r in rows]):.1f} dB, "
                             f"{np.mean([r['rate_bps'] for r in rows]):.0f} bit/s, "
                             f"t_com {1e3 * np.mean([r['delay_s'] for r in rows]):.0f} ms per code")
        if parts or self.drops.counts:
            self.get_logger().info("; ".join(parts) + f"; dropped: {self.drops.summary()}")
        self._stats.clear()


def main(args: list[str] | None = None) -> int:
    return spin(Channel, args)


if __name__ == "__main__":
    exit_process(main())
