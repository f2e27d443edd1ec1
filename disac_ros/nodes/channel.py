"""``channel``: the wireless links from the collaborators to the aggregation center (Eqs. 8-10).

For every collaborator k in ``devices`` it subscribes to ``/<k>/semantic/tx`` and publishes
``/<k>/semantic/rx``: the code after modulation, ``y = H c + n`` and demodulation, exactly as training applies
the channel (:func:`disac_ros.pipeline.transmit_codes`), with the link's SNR and distance filled in, and
``/<k>/link/stats`` (std_msgs/Float64MultiArray, fields :data:`disac_ros.pipeline.LINK_STATS_FIELDS`, named in
``layout.dim[0].label``): payload bytes and bits, SNR, distance, gain, N_0, Shannon rate (Eq. 9) and delay (Eq. 10).

Link model. The distance d_k is the 3-D distance between device k and the center in the scene config (what
training prompts the decoder with). The SNR at sim time t is ``snr_db`` (``snr_profile: constant``) or
``snr_db + snr_amplitude_db * sin(2 pi t / snr_period_s)`` (``sine``); it is the SNR at the reference distance.
The power gain is ``H_k = (reference_distance_m / d_k) ** path_loss_exponent``, so the link's received SNR is
``snr(t) + 10 log10 H_k``; exponent 0 (the default) is the paper's pure AWGN channel, H = 1, where every link
has the configured SNR. The receiver knows H_k and equalises, so the decoder sees the code plus noise at the
link's SNR, as in training. Eq. (9) uses ``P / N_0 = 10^(snr(t)/10)``, ``bandwidth_hz`` and ``power_w``.
The SNR, its profile, bandwidth, power and ``lossless`` can be changed at run time (``ros2 param set``).
"""
from __future__ import annotations

import zlib
from collections import defaultdict

import numpy as np
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.parameter import Parameter

from disac_ros.nodes.common import (
    RELIABLE_QOS,
    ConfigError,
    declare,
    labeled_array,
    link_stats_topic,
    rx_topic,
    spin,
    tx_topic,
    warn_drop,
)
from disac_ros.pipeline import (
    LINK_STATS_FIELDS,
    NS,
    SNR_PROFILES,
    DropLog,
    classify_error,
    link_statistics,
    path_gain,
    snr_at,
    transmit_codes,
)


class Channel(Node):
    def __init__(self, **kwargs):
        super().__init__("channel", **kwargs)
        from disac_ros.config import CONFIG_DIR, load_scene

        scene_config = declare(self, "scene_config", str(CONFIG_DIR / "scene.yaml"),
                               "scene YAML: device positions give the link distances", read_only=True)
        preset = declare(self, "preset", "", "preset applied to the scene (empty: none)", read_only=True)
        devices = declare(self, "devices", Parameter.Type.STRING_ARRAY,
                          "collaborators whose links to simulate (unset: every device but the center; ['']: none)",
                          read_only=True)
        center = declare(self, "center", "", "aggregation center (empty: the scene's first device)", read_only=True)
        self.snr_db = declare(self, "snr_db", 20.0, "link SNR at the reference distance [dB]")
        self.snr_profile = declare(self, "snr_profile", "constant",
                                   f"time variation of the SNR: {' | '.join(SNR_PROFILES)}")
        self.snr_amplitude_db = declare(self, "snr_amplitude_db", 0.0, "sine profile: amplitude [dB]")
        self.snr_period_s = declare(self, "snr_period_s", 10.0, "sine profile: period [sim s]")
        self.bandwidth_hz = declare(self, "bandwidth_hz", 1000.0, "bandwidth B_k per link, Eq. (9) [Hz]")
        self.power_w = declare(self, "power_w", 1.0, "transmit power P_k, Eq. (9) [W]")
        self.exponent = declare(self, "path_loss_exponent", 0.0,
                                "H_k = (reference_distance_m / d_k)^exponent; 0: pure AWGN (H = 1)", read_only=True)
        self.reference_m = declare(self, "reference_distance_m", 1.0,
                                   "distance at which the link SNR equals snr_db [m]", read_only=True)
        self.lossless = declare(self, "lossless", False, "pass codes unchanged (the w/o SC loss baseline)")
        seed = self.seed = declare(self, "seed", 0, "seed of the channel noise (with the device, stamp and target)",
                                   read_only=True)
        threads = declare(self, "num_threads", 1, "torch CPU threads (0: torch's default)", read_only=True)
        try:
            cfg = load_scene(scene_config or None, preset or None)
            snr_at(0.0, self.snr_db, self.snr_profile, self.snr_amplitude_db, self.snr_period_s)
            if not (self.bandwidth_hz > 0 and self.power_w > 0):
                raise ValueError(f"bandwidth_hz ({self.bandwidth_hz}) and power_w ({self.power_w}) must be > 0")
        except (ValueError, FileNotFoundError) as exc:
            raise ConfigError(str(exc)) from exc
        positions = {d.id: np.asarray(d.position, dtype=np.float64) for d in cfg.devices}
        self.center = center or cfg.devices[0].id
        self.devices = [d for d in devices if d] if devices is not None else [d for d in positions if d != self.center]
        for k in [self.center, *self.devices]:
            if k not in positions:
                raise ConfigError(f"unknown device {k!r}: the scene has {list(positions)}")
        if self.center in self.devices:
            raise ConfigError(f"{self.center} is the center; it has no link to itself")
        self.distance = {k: float(np.linalg.norm(positions[k] - positions[self.center])) for k in self.devices}
        try:
            self.gain = {k: path_gain(d, self.reference_m, self.exponent) for k, d in self.distance.items()}
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        import torch

        from disac_ros.msg import SemanticCode

        if threads > 0:
            torch.set_num_threads(threads)
        torch.manual_seed(seed)
        from std_msgs.msg import Float64MultiArray

        self.rx_pubs = {k: self.create_publisher(SemanticCode, rx_topic(k), RELIABLE_QOS) for k in self.devices}
        self.stats_pubs = {k: self.create_publisher(Float64MultiArray, link_stats_topic(k), RELIABLE_QOS)
                           for k in self.devices}
        for k in self.devices:
            self.create_subscription(SemanticCode, tx_topic(k), lambda msg, k=k: self.on_code(k, msg), RELIABLE_QOS)
        self.add_on_set_parameters_callback(self._on_parameters)
        self.drops = DropLog()
        self._stats: dict[str, list[dict]] = defaultdict(list)
        self.create_timer(10.0, self.summary, clock=Clock(clock_type=ClockType.STEADY_TIME))
        links = ", ".join(f"{k}: {self.distance[k]:.1f} m, H {self.gain[k]:.3g}" for k in self.devices)
        self.get_logger().info(f"links to {self.center}: {links}; SNR {self.snr_db:g} dB ({self.snr_profile}), "
                               f"B {self.bandwidth_hz:g} Hz, P {self.power_w:g} W")

    _RUNTIME = {"snr_db": "snr_db", "snr_profile": "snr_profile", "snr_amplitude_db": "snr_amplitude_db",
                "snr_period_s": "snr_period_s", "bandwidth_hz": "bandwidth_hz", "power_w": "power_w",
                "lossless": "lossless"}

    def _on_parameters(self, params):
        """``ros2 param set /channel snr_db 5.0`` (and the other link parameters) take effect at once."""
        from rcl_interfaces.msg import SetParametersResult

        new = {name: getattr(self, attr) for name, attr in self._RUNTIME.items()}
        new.update({p.name: p.value for p in params if p.name in self._RUNTIME})
        try:
            snr_at(0.0, new["snr_db"], new["snr_profile"], new["snr_amplitude_db"], new["snr_period_s"])
            if not (new["bandwidth_hz"] > 0 and new["power_w"] > 0):
                raise ValueError("bandwidth_hz and power_w must be > 0")
        except ValueError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        for name, attr in self._RUNTIME.items():
            setattr(self, attr, new[name])
        return SetParametersResult(successful=True)

    def on_code(self, device_id: str, msg) -> None:
        import torch

        from disac_ros.ros.convert import code_to_msg, msg_to_code

        if msg.device_id != device_id:
            return warn_drop(self, self.drops, "unknown_device",
                             f"code from {msg.device_id!r} on {device_id}'s link")
        try:
            code = msg_to_code(msg)
        except ValueError as exc:
            return warn_drop(self, self.drops, classify_error(str(exc)), f"code of {device_id}: {exc}")
        t = msg.header.stamp.sec + msg.header.stamp.nanosec / NS
        snr_ref = snr_at(t, self.snr_db, self.snr_profile, self.snr_amplitude_db, self.snr_period_s)
        gain = self.gain[device_id]
        stats = link_statistics(msg.payload_bytes or code.size * 4, snr_ref, gain, self.bandwidth_hz, self.power_w)
        # The noise of a code depends on (seed, device, stamp, target) only, so a replayed bag gets the same noise.
        key = f"{self.seed}/{device_id}/{msg.header.stamp.sec}/{msg.header.stamp.nanosec}/{msg.target_id}"
        generator = torch.Generator().manual_seed(zlib.crc32(key.encode()))
        received = transmit_codes(code[None], stats["snr_db"], gain, self.lossless, generator=generator)[0]
        out = code_to_msg(received, device_id, msg.target_id, msg.header.stamp, msg.header.frame_id,
                          snr_db=stats["snr_db"], distance_m=self.distance[device_id])
        out.dtype, out.payload_bytes = msg.dtype, msg.payload_bytes or out.payload_bytes
        stats.update(stamp_s=t, target_id=float(msg.target_id), distance_m=self.distance[device_id])
        # Statistics first: the aggregator may aggregate as soon as the last code of a frame arrives.
        self.stats_pubs[device_id].publish(labeled_array(LINK_STATS_FIELDS, stats))
        self.rx_pubs[device_id].publish(out)
        self._stats[device_id].append(stats)
        self.get_logger().debug(f"{device_id} t={t:.3f} s target {msg.target_id}: SNR {stats['snr_db']:.1f} dB, "
                                f"{stats['rate_bps']:.0f} bit/s, t_com {1e3 * stats['delay_s']:.1f} ms")

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
    raise SystemExit(main())
