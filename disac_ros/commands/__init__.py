"""Subcommands of the ``disac`` command line (see :mod:`disac_ros.cli`)."""
from __future__ import annotations

import argparse
from types import ModuleType


def parse(command: ModuleType, argv: list[str]) -> argparse.Namespace:
    """The arguments ``disac <command> argv`` would get, for one command calling another.

    Parsed by the command's own ``add_arguments``, so a new option's default reaches every caller.
    """
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(argv)
