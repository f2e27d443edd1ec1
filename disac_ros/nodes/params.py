"""Declaring a node's parameter table (:class:`disac_ros.live.params.Param` rows) and checking every value it gets.

The table is declared in one loop, with descriptors, and every value is checked at start and on every
``ros2 param set``.

Each row becomes a ``ParameterDescriptor`` with its description, ``read_only`` flag and range
(``floating_point_range`` for floats, ``integer_range`` for ints; an infinite bound is the type's limit), so
``ros2 param describe`` shows the table and rclpy itself refuses a read-only change, a value of another type or one
outside the range. :func:`declare_all` adds one set-parameters callback driven by the same table
(:func:`disac_ros.live.params.validate_changes`): it refuses, with the reason ``ros2 param set`` prints, anything
rclpy lets through (an infinite float of a half-open range, a row's own ``check``, the node's joint ``check``).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.exceptions import (
    InvalidParameterTypeException,
    InvalidParameterValueException,
    ParameterUninitializedException,
)
from rclpy.parameter import Parameter

from disac_ros.live.params import NoDefault, Param, validate_changes
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


def _plain(value):
    """A parameter value as the table's types have it (rclpy gives arrays as ``array.array`` or lists)."""
    return list(value) if isinstance(value, list | tuple) else value


def declare_all(node, table: Iterable[Param], check: Callable[[dict], None] | None = None,
                on_change: Callable[[dict], None] | None = None) -> dict[str, object]:
    """Declare every parameter of ``table`` on ``node``; returns name -> value (``None`` for an unset typed one).

    Values come from the params file and ``-p`` overrides where given, else the table's defaults. Every value is
    checked (:meth:`Param.validate`: type, finite, range, the row's check), then ``check(values)`` (the node's
    joint check, raising ``ValueError``); a refused value is a :class:`ConfigError` at start. The same checks
    run on every later change (a set-parameters callback): a refused change answers ``successful: false`` with the
    reason; an accepted one calls ``on_change(values)`` with every value after it, then updates the returned dict in
    place. A check or ``on_change`` that raises anything else refuses the change too (its message is the reason):
    the callback never raises into rclpy.
    """
    table = tuple(table)
    values: dict[str, object] = {}
    for param in table:
        default = _TYPES[param.default.type] if isinstance(param.default, NoDefault) else param.default
        try:
            node.declare_parameter(param.name, default, descriptor(param))
        except (InvalidParameterValueException, InvalidParameterTypeException) as exc:
            raise ConfigError(str(exc)) from exc
        try:
            values[param.name] = _plain(node.get_parameter(param.name).value)
        except ParameterUninitializedException:  # declared by type only and not set
            values[param.name] = None
    try:
        for param in table:
            param.validate(values[param.name])
        if check is not None:
            check(dict(values))
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc

    def on_set(params: list[Parameter]) -> SetParametersResult:
        try:
            new = validate_changes(table, values, {p.name: _plain(p.value) for p in params}, check)
            if on_change is not None:
                on_change(dict(new))
        except Exception as exc:  # any refusal is a reason, never an exception inside rclpy
            return SetParametersResult(successful=False, reason=str(exc) or type(exc).__name__)
        values.update(new)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(on_set)
    return values
