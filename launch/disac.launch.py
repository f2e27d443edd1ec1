"""ROS 2 launch file of the live LLM-DiSAC graph for N devices.

    ros2 launch disac_ros disac.launch.py num_devices:=4 preset:=default run:=/path/to/run [rviz:=true] [compose:=true]
        [cpus:=auto]

The node list comes from ``disac_ros.launch_description.describe``, the function ``disac launch`` calls too, so the
two launchers start the same executables with the same parameters: each node's defaults (its ``PARAMETERS`` table),
overridden by ``params_file`` (default: the package's ``config/disac.yaml``), with the per-launch values on top.
"""
import os  # noqa: I001 (ruff takes the launch package for the repository's launch/ folder)
import tempfile

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from disac_ros.launch_description import CPU_LAYOUTS, PACKAGE, ContainerSpec, compose, describe, place
from disac_ros.ros import rviz


def _share(*parts: str) -> str:
    return os.path.join(get_package_share_directory(PACKAGE), *parts)


def launch_nodes(context, *args, **kwargs):
    """Evaluate the launch arguments and turn the shared description into launch_ros Node actions."""

    def value(name: str) -> str:
        return LaunchConfiguration(name).perform(context)

    described = describe(scene_config=value("scene_config") or _share("config", "scene.yaml"),
                         preset=value("preset") or None,
                         num_devices=int(value("num_devices")),
                         run=value("run") or None,
                         params_file=value("params_file") or _share("config", "disac.yaml"),
                         use_sim_time=value("use_sim_time").lower() in ("true", "1", "yes"),
                         bridge=value("bridge").lower() in ("true", "1", "yes"))
    executor = {"true": "single", "1": "single", "yes": "single", "single": "single", "multi": "multi"}.get(
        value("compose").lower())
    placed = place(described, value("cpus"))
    specs = compose(placed, executor=executor) if executor else placed
    nodes = [Node(package=PACKAGE, executable=spec.executable, arguments=spec.arguments(), output="screen",
                  emulate_tty=True)  # no name: a process-wide __node remap would rename every node inside
             if isinstance(spec, ContainerSpec) else
             Node(package=PACKAGE, executable=spec.executable, name=spec.name, namespace=spec.namespace or None,
                  parameters=[spec.params_file, spec.all_parameters()] if spec.params_file else
                  [spec.all_parameters()], prefix=spec.prefix(),
                  output="screen", emulate_tty=True)
             for spec in specs]
    if value("rviz").lower() in ("true", "1", "yes"):  # RViz with one camera per launched device
        devices = [spec.namespace for spec in described if spec.executable == "device_encoder"]
        center = next(spec.parameters.get("center", "") for spec in described if spec.executable == "aggregator")
        config = rviz.write(tempfile.mkstemp(prefix="disac-", suffix=".rviz")[1], [center, *devices])
        nodes.append(Node(package="rviz2", executable="rviz2", name="rviz2", arguments=["-d", str(config)],
                          parameters=[{"use_sim_time": value("use_sim_time").lower() in ("true", "1", "yes")}]))
    return nodes


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription([
        DeclareLaunchArgument("num_devices", default_value="4",
                              description="use the first N devices of the scene (the first is the center)"),
        DeclareLaunchArgument("preset", default_value="default",
                              description="scene preset (smoke, default, paper); must match the run"),
        DeclareLaunchArgument("run", default_value="",
                              description="trained run directory (empty: runs/<preset>-<digest>, as disac demo)"),
        DeclareLaunchArgument("params_file", default_value="",
                              description="ROS 2 params file of the nodes (empty: the package's config/disac.yaml)"),
        DeclareLaunchArgument("scene_config", default_value="",
                              description="scene YAML (empty: the package's config/scene.yaml)"),
        DeclareLaunchArgument("use_sim_time", default_value="true",
                              description="nodes follow /clock from genesis_bridge"),
        DeclareLaunchArgument("bridge", default_value="true",
                              description="start genesis_bridge (false: sensors and /clock from `ros2 bag play`)"),
        DeclareLaunchArgument("compose", default_value="false",
                              description="run the encoders, channel and aggregator in one process: false, true "
                                          "(= single: a single-threaded executor) or multi"),
        DeclareLaunchArgument("cpus", default_value=CPU_LAYOUTS[0], choices=list(CPU_LAYOUTS),
                              description="none: the OS places the nodes; auto: the aggregator alone on the first "
                                          "CPU, the other nodes on the rest (one machine hosting the whole graph)"),
        DeclareLaunchArgument("rviz", default_value="false",
                              description="also start RViz2 (config/disac.rviz's displays, one camera per device)"),
        OpaqueFunction(function=launch_nodes),
    ])
