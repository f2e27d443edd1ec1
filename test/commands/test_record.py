"""disac_ros.commands.record: ``disac record`` refuses an existing bag and a call without topics."""
from __future__ import annotations


def test_record_refuses_an_existing_bag(recorded, capsys):
    from disac_ros.cli import main

    bag = recorded["bag"]
    before = (bag / "metadata.yaml").stat().st_mtime_ns
    assert main(["record", "--topics", "/targets", "--out", str(bag)]) == 2
    assert "exists already" in capsys.readouterr().err
    assert (bag / "metadata.yaml").stat().st_mtime_ns == before
    assert main(["record", "--out", str(bag.with_name("other"))]) == 2  # no topics named
    assert "--topics" in capsys.readouterr().err
