"""The DDS transport of every process of the graph: Fast DDS with a shared-memory segment that holds a frame.

Fast DDS (``rmw_fastrtps_cpp``, the Jazzy default) gives each participant a 512 KB shared-memory segment; one
frame of the default scene is a ~1 MB burst from one publisher, whose first messages were then lost by
best-effort subscribers (``config/fastdds.xml`` says what was measured). :func:`use_graph_profile` points Fast DDS
at that profile; it must run before the process's first ``rclpy.init``.
"""
from __future__ import annotations

import os

from disac_ros.config import CONFIG_DIR

#: The profile file (8 MB segment), installed with the package's config.
PROFILE = CONFIG_DIR / "fastdds.xml"
#: Fast DDS 2.x reads the first, 3.x the second.
PROFILE_VARIABLES = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
#: Variables by which a user chooses the transports: any of them set, the profile is not used.
USER_CHOICES = (*PROFILE_VARIABLES, "FASTDDS_BUILTIN_TRANSPORTS")
_FAST_DDS = ("", "rmw_fastrtps_cpp", "rmw_fastrtps_dynamic_cpp")


def use_graph_profile(environ=os.environ) -> str | None:
    """Point Fast DDS at :data:`PROFILE`; returns its path, or None where the user's choice stands.

    Nothing changes when another RMW is selected (``RMW_IMPLEMENTATION``) or the transports are chosen already (a
    profile file, or ``FASTDDS_BUILTIN_TRANSPORTS``, e.g. ``UDPv4`` between hosts). Child processes inherit the
    variables.
    """
    if environ.get("RMW_IMPLEMENTATION", "") not in _FAST_DDS or any(environ.get(v) for v in USER_CHOICES):
        return None
    for variable in PROFILE_VARIABLES:
        environ[variable] = str(PROFILE)
    return str(PROFILE)
