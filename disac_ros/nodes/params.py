"""Declaring a node's parameter table (:class:`disac_ros.live.params.Param` rows) in one loop, with descriptors.

Each row becomes a ``ParameterDescriptor`` with its description, ``read_only`` flag and range
(``floating_point_range`` for floats, ``integer_range`` for ints; an infinite bound is the type's limit), so
``ros2 param describe`` shows the table.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import InvalidParameterValueException, ParameterUninitializedException
from rclpy.parameter import Parameter

from disac_ros.live.params import NoDefault, Param
from disac_ros.nodes.spin import ConfigError

_TYPES = {"string_array": Parameter.Type.STRING_ARRAY}
_INT64 = (-(2**63), 2**63 - 1)


def _int_bound(value: float, side: int) -> int:
    return _INT64[side] if math.isinf(value) else int(value)


def descriptor(param: Param) -> ParameterDescriptor:
    """The ROS descriptor of one table row."""
    out = ParameterDescriptor(description=param.description, read_only=param.read_only)
    if param.range is not None:
        low, high = param.range
        if isinstance(param.default, int):
            out.integer_range = [IntegerRange(from_value=_int_bound(low, 0), to_value=_int_bound(high, 1), step=1)]
        else:
            out.floating_point_range = [FloatingPointRange(from_value=float(low), to_value=float(high), step=0.0)]
    return out


def declare_all(node, table: Iterable[Param]) -> dict[str, object]:
    """Declare every parameter of ``table`` on ``node``; returns name -> value (``None`` for an unset typed one).

    Values come from the params file and ``-p`` overrides where given, else the table's defaults; one outside its
    range is a :class:`ConfigError`.
    """
    values = {}
    for param in table:
        default = _TYPES[param.default.type] if isinstance(param.default, NoDefault) else param.default
        try:
            node.declare_parameter(param.name, default, descriptor(param))
        except InvalidParameterValueException as exc:
            raise ConfigError(str(exc)) from exc
        try:
            values[param.name] = node.get_parameter(param.name).value
        except ParameterUninitializedException:  # declared by type only and not set
            values[param.name] = None
    return values
