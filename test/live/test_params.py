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
