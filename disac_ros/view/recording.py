"""Messages of the live graph -> a Rerun recording: the conversion behind ``disac view`` (no rclpy node here).

:class:`ViewRecording` takes deserialized messages (rclpy's or the rosbags typestore's: the same fields) with their
topic and type, as a bag reader (:func:`log_bag`) or a subscriber (:mod:`disac_ros.view.live`) hands them over, and
logs each on the ``sim_time`` timeline at its header stamp. Entities:

* ``world``: the 3-D scene, z up. ``world/scene/<ns>/<kind>``: ``/scene/markers`` (devices with their viewing
  direction, obstacles, true targets); ``world/estimates/<ns>/<kind>``: ``/targets/markers`` (estimates beside the
  truth); ``world/targets``: ``/targets``, each estimate labelled with its class and contributing devices, with a
  line from each contributing device; ``world/ground``: the scene config's ground plane;
* ``world/<dev>/camera``: the camera's pose (:meth:`ViewRecording.pose`) and pinhole (``camera_info``), with
  ``image`` (``image_raw``) and the true (``truth``) and estimated (``estimates``) targets projected into it;
* ``radar/<dev>/range_doppler`` and ``radar/<dev>/angle``: the maps of the frame's echoes
  (:func:`disac_ros.view.maps.radar_maps`, summed over the echoes of one stamp);
* ``link/snr_db/<dev>``, ``link/payload_bytes/<dev>`` (``link/stats``) and ``timing/t_ft_ms/<dev>``,
  ``timing/t_se_ms/<dev>`` (``semantic/timing``, Eq. 14): time series.

A message on an unknown topic, of an unexpected type or malformed is counted in :attr:`ViewRecording.skipped`.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from disac_ros.ros.frames import WORLD_FRAME, camera_frame, device_frame
from disac_ros.stamps import stamp_of
from disac_ros.topics import (
    CAMERA_INFO,
    ECHO,
    IMAGE,
    LINK_STATS,
    SCENE_MARKERS,
    TARGET_MARKERS,
    TARGETS,
    TF_STATIC,
    TIMING,
    absolute,
)
from disac_ros.view import maps

TIMELINE = "sim_time"
TRUTH_RGB = (25, 230, 25)  # the truth spheres' colour of /targets/markers
GROUND_RGB = (92, 115, 79)

# topic (absolute, or per device relative to /<dev>/) -> (message type, handler method)
_GLOBAL = {absolute(TF_STATIC): ("tf2_msgs/msg/TFMessage", "_tf"),
           absolute(SCENE_MARKERS): ("visualization_msgs/msg/MarkerArray", "_scene_markers"),
           absolute(TARGET_MARKERS): ("visualization_msgs/msg/MarkerArray", "_target_markers"),
           absolute(TARGETS): ("disac_ros/msg/TargetStateArray", "_targets")}
_PER_DEVICE = {IMAGE: ("sensor_msgs/msg/Image", "_image"),
               CAMERA_INFO: ("sensor_msgs/msg/CameraInfo", "_camera_info"),
               ECHO: ("disac_ros/msg/RadarEcho", "_echo"),
               LINK_STATS: ("disac_ros/msg/LinkStats", "_link"),
               TIMING: ("disac_ros/msg/EncoderTiming", "_timing")}
#: The topics :class:`ViewRecording` draws and their message types: per device (relative to ``/<dev>/``), global.
DEVICE_TOPICS = {name: msgtype for name, (msgtype, _) in _PER_DEVICE.items()}
GLOBAL_TOPICS = {topic: msgtype for topic, (msgtype, _) in _GLOBAL.items()}


def _route(topic: str) -> tuple[str, str, str | None] | None:
    """(message type, handler, device or None) of a topic :class:`ViewRecording` draws; None for any other."""
    if topic in _GLOBAL:
        return (*_GLOBAL[topic], None)
    device, _, name = topic.lstrip("/").partition("/")
    return (*_PER_DEVICE[name], device) if name in _PER_DEVICE else None


def drawn_type(topic: str) -> str | None:
    """The message type :class:`ViewRecording` draws on ``topic`` (an absolute name); None if it draws nothing there."""
    route = _route(topic)
    return route[0] if route else None


def _class_rgb(label: str) -> list[int]:
    from disac_ros.ros.markers import CLASS_RGB

    return [round(255 * c) for c in CLASS_RGB.get(label, (0.6, 0.6, 0.6))]


def _rgba(color) -> list[int]:
    return [int(round(255 * min(max(v, 0.0), 1.0))) for v in (color.r, color.g, color.b, color.a)]


def _xyz(v) -> list[float]:
    return [float(v.x), float(v.y), float(v.z)]


def marker_entities(markers) -> dict[str, object]:
    """A MarkerArray's markers (frame ``world``, action ADD) as Rerun archetypes, one per ``<ns>/<kind>``."""
    import rerun as rr
    from visualization_msgs.msg import Marker

    kinds = {Marker.ARROW: "arrows", Marker.CUBE: "boxes", Marker.SPHERE: "spheres", Marker.CYLINDER: "cylinders",
             Marker.LINE_STRIP: "lines", Marker.LINE_LIST: "lines", Marker.TEXT_VIEW_FACING: "texts"}
    groups: dict[str, list] = defaultdict(list)
    for m in markers:
        if m.action == Marker.ADD and m.type in kinds and m.header.frame_id in (WORLD_FRAME, ""):
            if m.type != Marker.ARROW or len(m.points) == 2:  # arrows: the (start, end) form the graph publishes
                groups[f"{m.ns}/{kinds[m.type]}"].append(m)
    out = {}
    for path, ms in groups.items():
        kind = path.rsplit("/", 1)[1]
        colors = [_rgba(m.color) for m in ms]
        centers = [_xyz(m.pose.position) for m in ms]
        quats = [[m.pose.orientation.x, m.pose.orientation.y, m.pose.orientation.z, m.pose.orientation.w] for m in ms]
        scales = np.array([_xyz(m.scale) for m in ms])
        if kind == "boxes":
            out[path] = rr.Boxes3D(centers=centers, sizes=scales, quaternions=quats, colors=colors, fill_mode="solid")
        elif kind == "spheres":
            out[path] = rr.Ellipsoids3D(centers=centers, half_sizes=scales / 2, colors=colors, fill_mode="solid")
        elif kind == "cylinders":
            out[path] = rr.Cylinders3D(centers=centers, lengths=scales[:, 2], radii=scales[:, 0] / 2,
                                       quaternions=quats, colors=colors, fill_mode="solid")
        elif kind == "arrows":
            starts = [_xyz(m.points[0]) for m in ms]
            out[path] = rr.Arrows3D(origins=starts, vectors=np.subtract([_xyz(m.points[1]) for m in ms], starts),
                                    radii=scales[:, 0] / 2, colors=colors)
        elif kind == "lines":  # a LINE_LIST's points pair up; a LINE_STRIP's follow each other
            segments = [(k, [_xyz(p) for p in m.points[i:i + 2]]) for k, m in enumerate(ms)
                        for i in range(0, len(m.points) - 1, 2 if m.type == Marker.LINE_LIST else 1)]
            out[path] = rr.LineStrips3D([seg for _, seg in segments], radii=[scales[k, 0] / 2 for k, _ in segments],
                                        colors=[colors[k] for k, _ in segments])
        else:
            out[path] = rr.Points3D(centers, labels=[m.text for m in ms], colors=colors, radii=0.05,
                                    show_labels=True)
    return out


class ViewRecording:
    """Logs the graph's messages into a Rerun recording ``stream`` (anything with ``log`` and ``set_time``).

    ``scene``: a :class:`disac_ros.config.SceneConfig` whose ground plane is drawn (None: none).
    """

    def __init__(self, stream, scene=None):
        import rerun as rr

        self.rr, self.stream = rr, stream
        self.skipped: Counter = Counter()
        self.tf: dict[str, tuple[str, maps.Pose]] = {}          # child -> (parent, pose in the parent)
        self.views: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # device -> (position, viewing direction)
        self.cameras: dict[str, tuple[np.ndarray, int, int]] = {}  # device -> (K, width, height)
        self.truth: dict[int, tuple[np.ndarray, str]] = {}        # target id -> (world position, label)
        self.estimates: dict[int, tuple[np.ndarray, str, str]] = {}  # target id -> (world position, label, class)
        self._placed: dict[str, maps.Pose] = {}                   # camera poses logged
        self._radar: dict[str, tuple[int, np.ndarray]] = {}       # device -> (stamp, summed power)
        self._marker_paths: dict[str, set[str]] = defaultdict(set)
        self._series: set[str] = set()
        stream.log("world", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
        if scene is not None:
            sx, sy = scene.world.size
            stream.log("world/ground", rr.Boxes3D(centers=[(0, 0, -0.05)], sizes=[(sx, sy, 0.1)], colors=GROUND_RGB,
                                                  fill_mode="solid"), static=True)

    # -- dispatch ------------------------------------------------------------------------------------------------
    def log(self, topic: str, msgtype: str, msg) -> bool:
        """Log one message of ``topic`` (absolute name) and type ``msgtype``; False if it was skipped."""
        route = _route(topic)
        if route is None or route[0] != msgtype:
            self.skipped[f"{topic} ({msgtype})"] += 1
            return False
        args = (msg,) if route[2] is None else (route[2], msg)
        try:
            getattr(self, route[1])(*args)
        except (ValueError, IndexError, AttributeError) as exc:
            self.skipped[f"{topic}: {type(exc).__name__}: {exc}"[:160]] += 1
            return False
        return True

    def _at(self, stamp_ns: int) -> None:
        self.stream.set_time(TIMELINE, duration=np.timedelta64(int(stamp_ns), "ns"))

    # -- poses -----------------------------------------------------------------------------------------------------
    def pose(self, frame: str) -> maps.Pose | None:
        """World pose of frame ``<dev>`` or ``<dev>_camera``; None while unknown. The one source of poses here.

        From /tf_static when it links the frame to ``world``, else from the scene markers (the device's position and
        viewing direction; the camera's optical frame by :func:`disac_ros.view.maps.optical_pose`).
        """
        rotation, translation, current = np.eye(3), np.zeros(3), frame
        for _ in range(len(self.tf)):  # compose child -> parent up to the world (a loop in the tree ends it)
            if current == WORLD_FRAME or current not in self.tf:
                break
            current, (r, t) = self.tf[current]
            rotation, translation = r @ rotation, r @ translation + t
        if current == WORLD_FRAME and frame != WORLD_FRAME:
            return rotation, translation
        device = frame.removesuffix("_camera")
        if device not in self.views:
            return None
        position, direction = self.views[device]
        return maps.optical_pose(position, direction) if frame == camera_frame(device) else (np.eye(3), position)

    def _place_cameras(self) -> None:
        for device in self.cameras:
            pose = self.pose(camera_frame(device))
            placed = self._placed.get(device)
            if pose is not None and (placed is None or not (np.allclose(pose[0], placed[0])
                                                            and np.allclose(pose[1], placed[1]))):
                self.stream.log(f"world/{device}/camera", self.rr.Transform3D(translation=pose[1], mat3x3=pose[0]),
                                static=True)
                self._placed[device] = pose

    def _tf(self, msg) -> None:
        from scipy.spatial.transform import Rotation

        for t in msg.transforms:
            q, v = t.transform.rotation, t.transform.translation
            self.tf[t.child_frame_id] = (t.header.frame_id, (Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix(),
                                                             np.array(_xyz(v))))
        self._place_cameras()

    # -- the 3-D scene ---------------------------------------------------------------------------------------------
    def _markers(self, group: str, markers) -> None:
        self._at(stamp_of(markers[0]))
        entities = marker_entities(markers)
        for path in self._marker_paths[group] - set(entities):  # gone since the last array
            self.stream.log(f"world/{group}/{path}", self.rr.Clear(recursive=False))
        for path, archetype in entities.items():
            self.stream.log(f"world/{group}/{path}", archetype)
        self._marker_paths[group] = set(entities)

    def _scene_markers(self, msg) -> None:
        if not msg.markers:
            return
        by = defaultdict(dict)
        for m in msg.markers:
            by[m.ns][m.id] = m
        for i, arrow in by["device_view"].items():  # the device's label names it: "device_0 (center)"
            if i in by["device_labels"] and len(arrow.points) == 2:
                start, end = (np.array(_xyz(p)) for p in arrow.points)
                self.views[by["device_labels"][i].text.split()[0]] = (start, end - start)
        self.truth = {i: (np.array(_xyz(m.pose.position)), by["target_labels"][i].text if i in by["target_labels"]
                          else str(i)) for i, m in by["targets"].items()}
        self._markers("scene", msg.markers)
        self._place_cameras()
        self._project()

    def _target_markers(self, msg) -> None:
        if msg.markers:
            self._markers("estimates", msg.markers)

    def _targets(self, msg) -> None:
        from disac_ros.sim.labels import state_to_world

        self._at(stamp_of(msg))
        reference = self.pose(device_frame(msg.reference_device_id))
        if reference is None:
            raise ValueError(f"no pose of the reference device {msg.reference_device_id!r} yet")
        self.estimates = {}
        lines, colors = [], []
        for s in msg.targets:
            point = state_to_world(reference[1], s.distance, s.azimuth, s.pitch)
            self.estimates[s.target_id] = (point, f"est {s.target_id}: {s.label}", s.label)
            for dev in s.contributing_devices:
                pose = self.pose(device_frame(dev))
                if pose is not None:
                    lines.append([pose[1], point])
                    colors.append([*_class_rgb(s.label), 160])
        labels = [f"{s.label} from {', '.join(s.contributing_devices) or 'no device'}" for s in msg.targets]
        self.stream.log("world/targets", self.rr.Points3D([p for p, _, _ in self.estimates.values()], labels=labels,
                                                          colors=[_class_rgb(s.label) for s in msg.targets], radii=0.3,
                                                          show_labels=True))
        self.stream.log("world/targets/devices", self.rr.LineStrips3D(lines, colors=colors, radii=0.03))
        self._project()

    # -- cameras ---------------------------------------------------------------------------------------------------
    def _camera_info(self, device: str, msg) -> None:
        K = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
        known = self.cameras.get(device)
        if known is None or not np.allclose(known[0], K) or known[1:] != (msg.width, msg.height):
            self.cameras[device] = (K, int(msg.width), int(msg.height))
            self.stream.log(f"world/{device}/camera", self.rr.Pinhole(
                image_from_camera=K, resolution=[msg.width, msg.height], camera_xyz=self.rr.ViewCoordinates.RDF,
                image_plane_distance=2.0), static=True)
            self._place_cameras()

    def _image(self, device: str, msg) -> None:
        from disac_ros.ros.convert import msg_to_image

        self._at(stamp_of(msg))
        self.stream.log(f"world/{device}/camera/image", self.rr.Image(msg_to_image(msg)))

    def _project(self) -> None:
        """The current true and estimated targets projected into every camera with a pose (at the current time)."""
        for device, (K, width, height) in self.cameras.items():
            pose = self.pose(camera_frame(device))
            if pose is None:
                continue
            for name, points in (("truth", self.truth), ("estimates", self.estimates)):
                if not points:
                    continue
                pixels, inside = maps.to_pixels([v[0] for v in points.values()], K, pose, width, height)
                labels = [v[1] for v in points.values()]
                colors = [TRUTH_RGB if name == "truth" else _class_rgb(v[2]) for v in points.values()]
                keep = np.flatnonzero(inside)
                self.stream.log(f"world/{device}/camera/{name}", self.rr.Points2D(
                    pixels[keep], labels=[labels[i] for i in keep], colors=[colors[i] for i in keep],
                    radii=max(width, height) / 64, show_labels=False))  # labels on hover: the image stays visible

    # -- radar, link, timing ----------------------------------------------------------------------------------------
    def _echo(self, device: str, msg) -> None:
        stamp = stamp_of(msg)
        power = maps.radar_power(msg)
        last = self._radar.get(device)
        if last is not None and last[0] == stamp and last[1].shape == power.shape:
            power = power + last[1]  # the frame's other echoes (one per target)
        self._radar[device] = (stamp, power)
        rd, angle = maps.radar_maps(power)
        self._at(stamp)
        rows = max(1, rd.shape[1] // (2 * rd.shape[0]))  # a readable aspect even with one chirp
        self.stream.log(f"radar/{device}/range_doppler", self.rr.Image(maps.colorize(rd, rows)))
        self.stream.log(f"radar/{device}/angle", self.rr.Image(maps.colorize(angle)))

    def _scalar(self, path: str, device: str, value: float) -> None:
        if not np.isfinite(value):
            return
        if path not in self._series:
            self.stream.log(path, self.rr.SeriesLines(names=device), static=True)
            self._series.add(path)
        self.stream.log(path, self.rr.Scalars(float(value)))

    def _link(self, device: str, msg) -> None:
        self._at(stamp_of(msg))
        self._scalar(f"link/snr_db/{device}", device, msg.snr_db)
        self._scalar(f"link/payload_bytes/{device}", device, msg.payload_bytes)

    def _timing(self, device: str, msg) -> None:
        self._at(stamp_of(msg))
        self._scalar(f"timing/t_ft_ms/{device}", device, 1e3 * msg.feature_extraction_s)
        self._scalar(f"timing/t_se_ms/{device}", device, 1e3 * msg.encoding_s)


def bag_devices(topics) -> list[str]:
    """The device ids whose per-device topics appear among ``topics`` (absolute names), sorted."""
    return sorted({route[2] for route in map(_route, topics) if route is not None and route[2] is not None})


def log_bag(path, recording: ViewRecording) -> tuple[int, list[str]]:
    """Log every message of a rosbag2 bag that :class:`ViewRecording` draws, in log-time order.

    Returns the number logged and the bag's topics not drawn (``topic (type)``: other topics, or another type).
    """
    from disac_ros.ros.bags import bag_topics, load_typestore, read_bag

    topics = bag_topics(path)
    typestore = load_typestore(info.msgtype for info in topics.values())
    drawn = [t for t, info in topics.items() if drawn_type(t) == info.msgtype]
    count = sum(recording.log(m.topic, m.msgtype, typestore.deserialize_cdr(m.data, m.msgtype))
                for m in read_bag(path, drawn))
    return count, [f"{t} ({topics[t].msgtype})" for t in sorted(set(topics) - set(drawn))]


def blueprint(devices: list[str], world_size: tuple[float, float] = (60.0, 60.0)):
    """The default layout: the 3-D scene, the cameras, each radar's maps, and the link and timing series."""
    import rerun.blueprint as rrb

    sx, sy = world_size
    eye = rrb.EyeControls3D(position=(-0.6 * sx, -0.6 * sy, 0.4 * max(sx, sy)), look_target=(0.0, 0.0, 0.0),
                            eye_up=(0.0, 0.0, 1.0))
    series = [rrb.TimeSeriesView(origin=origin, name=name) for origin, name in (
        ("/link/snr_db", "link SNR [dB]"), ("/link/payload_bytes", "payload [bytes]"),
        ("/timing/t_ft_ms", "t_ft [ms] (Eq. 14)"), ("/timing/t_se_ms", "t_se [ms] (Eq. 14)"))]
    cameras = [rrb.Spatial2DView(origin=f"/world/{d}/camera", name=f"{d} camera") for d in devices]
    radars = [rrb.Horizontal(rrb.Spatial2DView(origin=f"/radar/{d}/range_doppler", name=f"{d} radar"),
                             rrb.Spatial2DView(origin=f"/radar/{d}/angle", name="angle"), column_shares=[3, 1])
              for d in devices]
    return rrb.Blueprint(
        rrb.Horizontal(
            rrb.Vertical(rrb.Spatial3DView(origin="/world", name="scene (world)", eye_controls=eye),
                         rrb.Horizontal(*series), row_shares=[3, 1]),
            rrb.Vertical(rrb.Grid(*cameras, grid_columns=2), rrb.Grid(*radars, grid_columns=2), row_shares=[3, 2]),
            column_shares=[3, 2]),
        rrb.BlueprintPanel(state="collapsed"), rrb.SelectionPanel(state="collapsed"),
        rrb.TimePanel(timeline=TIMELINE, state="collapsed"))
