"""pip metadata for disac_ros; ROS 2 users build the same package with colcon (see README).

The exact, tested versions are pinned in requirements.txt, which scripts/bootstrap.sh installs; ROS 2 users
install requirements-core.txt (the same pins without ROS 2 wheels) beside their ROS installation.
"""
from setuptools import find_packages, setup

setup(
    name="disac_ros",
    version="0.1.0",
    description="LLM-DiSAC distributed RF-visual sensing and semantic communication on ROS 2",
    license="Apache-2.0",
    python_requires=">=3.11",  # the venv is 3.11 (requirements.lock); Jazzy's Ubuntu 24.04 runs 3.12
    packages=find_packages(include=["disac_ros", "disac_ros.*"]),
    install_requires=[
        "numpy", "pyyaml", "torch", "torchvision", "transformers", "peft", "timm", "gguf",
        "genesis-world", "rosbags", "h5py", "safetensors", "tqdm", "matplotlib",
    ],
    entry_points={"console_scripts": [
        "disac = disac_ros.cli:main",
        # The live graph's nodes, prefixed on PATH; `ros2 run disac_ros <node>` uses scripts/nodes/ (CMakeLists.txt)
        "disac-genesis-bridge = disac_ros.nodes.genesis_bridge:main",
        "disac-device-encoder = disac_ros.nodes.device_encoder:main",
        "disac-channel = disac_ros.nodes.channel:main",
        "disac-aggregator = disac_ros.nodes.aggregator:main",
        "disac-container = disac_ros.nodes.container:main",
    ]},
)
