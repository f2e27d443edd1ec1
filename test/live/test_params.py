"""disac_ros.live.params: every node's parameter table is made of well-formed Param rows."""
from __future__ import annotations

import pytest
from nodetools import _tables


def test_parameter_tables_are_well_formed():
    from disac_ros.live.params import NoDefault, Param

    for executable, table in _tables().items():
        names = [p.name for p in table]
        assert len(names) == len(set(names)), executable
        for p in table:
            assert p.description and isinstance(p, Param)
            numeric = isinstance(p.default, int | float) and not isinstance(p.default, bool | NoDefault)
            assert (p.range is not None) == numeric, f"{executable}.{p.name}: a number needs a range"
    with pytest.raises(ValueError, match="outside its range"):
        Param("x", 5.0, "d", (0.0, 1.0))
    with pytest.raises(ValueError, match="numeric default"):
        Param("x", "a", "d", (0.0, 1.0))


def test_every_row_refuses_a_wrong_type_a_non_finite_float_and_a_value_outside_its_range():
    """The ROS-free checks of every row of every table (what the nodes run at start and on `ros2 param set`)."""
    import math
    import re

    wrong = {"bool": "yes", "integer": 1.5, "double": 5, "string": 3, "string_array": ["a", 2]}
    for executable, table in _tables().items():
        for p in table:
            if p.range is not None:
                low, high = p.range
                assert math.isfinite(low) and math.isfinite(high), f"{executable}.{p.name}: a sane, finite range"
            default = None if p.kind == "string_array" else p.default
            p.validate(default)                                                 # the default is valid
            with pytest.raises(ValueError, match=f"^{p.name} must be a {p.kind}"):
                p.validate(wrong[p.kind])
            if p.kind == "double":
                for value in (math.nan, math.inf, -math.inf):
                    with pytest.raises(ValueError, match=f"^{p.name} must be finite"):
                        p.validate(value)
            if p.range is not None:
                step = 1 if p.kind == "integer" else 1.0
                shown = [str(v) if p.kind == "integer" else f"{v:g}" for v in p.range]
                for value in (p.range[0] - step, p.range[1] + step):
                    with pytest.raises(ValueError, match="^" + re.escape(f"{p.name} must be in [{shown[0]}, "
                                                                         f"{shown[1]}], got {value!r}")):
                        p.validate(value)


def test_validate_changes_keeps_read_only_rows_and_runs_the_checks():
    from disac_ros.live.params import Param, one_of, validate_changes

    table = (Param("mode", "a", "mode", read_only=False, check=one_of(("a", "b"))),
             Param("gain", 1.0, "gain", (0.0, 2.0), read_only=False), Param("seed", 0, "seed", (0, 9)))
    current = {"mode": "a", "gain": 1.0, "seed": 0}
    assert validate_changes(table, current, {"gain": 2.0, "use_sim_time": True}) == {**current, "gain": 2.0}
    with pytest.raises(ValueError, match="^seed is read-only"):
        validate_changes(table, current, {"seed": 3})
    with pytest.raises(ValueError, match=r"^mode must be one of a \| b, got 'c'"):
        validate_changes(table, current, {"mode": "c"})

    def joint(values):
        if values["mode"] == "b" and values["gain"] > 1.5:
            raise ValueError("gain: mode b needs gain <= 1.5")

    assert validate_changes(table, current, {"mode": "b"}, joint)["mode"] == "b"
    with pytest.raises(ValueError, match="mode b needs"):
        validate_changes(table, current, {"mode": "b", "gain": 2.0}, joint)
    assert current == {"mode": "a", "gain": 1.0, "seed": 0}                     # never changed in place
    with pytest.raises(ValueError, match="must be one of"):                   # a default its own check refuses
        Param("x", "c", "d", check=one_of(("a", "b")))
