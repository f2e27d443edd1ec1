"""Subcommands of the ``disac`` command line (see :mod:`disac_ros.cli`)."""
