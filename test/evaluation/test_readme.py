"""disac_ros.evaluation.readme: the README's results are what the committed files give, and nothing else."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from disac_ros.evaluation import readme

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _generated(path: Path) -> list[str]:
    return [name for name, _, _ in readme._spans(path.read_text())]


def test_every_generated_section_matches_its_committed_files():
    """`disac report --readme --check` on the committed tree: a figure that differs from its JSON fails here."""
    for path in DOCUMENTS:
        assert readme.stale(path, ROOT) == [], f"run `{readme.COMMAND} {path.relative_to(ROOT)}`"


def test_every_section_appears_in_a_document():
    shown = {name for path in DOCUMENTS for name in _generated(path)}
    assert shown == set(readme.SECTIONS)


def _copy_results(tmp_path: Path) -> Path:
    for folder in ("results/bench", "results/soak", "results/default"):
        dst = tmp_path / folder
        dst.mkdir(parents=True)
        for f in (ROOT / folder).glob("*.json"):
            shutil.copy(f, dst / f.name)
    return tmp_path


def test_a_section_that_disagrees_with_its_json_is_found_and_rewritten(tmp_path):
    root = _copy_results(tmp_path)
    doc = tmp_path / "README.md"
    doc.write_text("intro 1\n" + readme.marker("graph") + "\n| stale | table |\n<!-- end generated: graph -->\ntail\n")
    assert readme.stale(doc, root) == ["graph"]
    assert readme.update(doc, root) == ["graph"]
    assert readme.stale(doc, root) == []
    text = doc.read_text()
    assert text.startswith("intro 1\n") and text.endswith("<!-- end generated: graph -->\ntail\n")
    # an edited measurement changes the table, so the committed text is stale again
    name = readme.GRAPH_FILES[0][0]
    d = json.loads((root / readme.BENCH / name).read_text())
    before = f"| {d['results'][0]['targets_per_s']:.2f} |"
    assert before in text
    d["results"][0]["targets_per_s"] = 1.234
    (root / readme.BENCH / name).write_text(json.dumps(d))
    assert readme.stale(doc, root) == ["graph"]
    assert "| 1.23 |" in readme.render("graph", root)


def test_a_benchmark_file_without_a_description_is_refused(tmp_path):
    root = _copy_results(tmp_path)
    shutil.copy(root / readme.BENCH / readme.GRAPH_FILES[0][0], root / readme.BENCH / "graph-new.json")
    with pytest.raises(ValueError, match="graph-new.json"):
        readme.render("graph", root)


def test_a_missing_end_marker_is_an_error(tmp_path):
    doc = tmp_path / "README.md"
    doc.write_text(readme.marker("soak") + "\ntext\n")
    with pytest.raises(ValueError, match="end marker"):
        readme.stale(doc, ROOT)


def _typed_figures(section: str) -> list[str]:
    """Numbers in ``section`` outside generated blocks, code, links and names that carry digits."""
    text = re.sub(r"<!-- generated: ([\w-]+) .*?<!-- end generated: \1 -->", "", section, flags=re.S)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)                       # link targets
    text = re.sub(r"\b(ROS 2|Eqs?\. [\d-]+|issue #?\d+|[Ss]tage [12]|Sec\. [\w.-]+|Figs?\. [\d-]+)", "", text)
    return re.findall(r"(?<![\w.-])\d+(?:[.,]\d+)*(?![\w-])", text)


@pytest.mark.parametrize("title", ["## Results (honest)", "## Status"])
def test_results_and_status_hold_no_typed_figures(title):
    """Every figure of these sections is generated: a number typed by hand outside a generated block fails."""
    text = (ROOT / "README.md").read_text()
    start = text.index(title)
    end = text.find("\n## ", start + len(title))
    assert _typed_figures(text[start:end]) == []


def test_typed_figures_are_found():
    assert _typed_figures("accuracy 89.0 % on ROS 2, `--rate 10`, Eq. 59, [x](a/1.md), SmolLM2") == ["89.0"]
