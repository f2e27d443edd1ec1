"""Files written whole or not at all: to a temporary name beside the target, then renamed (stdlib only).

A reader (or a resumed run) therefore sees either the old content or the complete new one, never half a file;
the temporary name is hidden (``.NAME.tmp``) and removed when writing fails.

    write_text_atomic(out / "report.md", text)
    write_json_atomic(run / "run.json", record)                          # indent 2, as json.dumps writes it
    write_json_atomic(out / "results.json", results, indent=1, strict=True)  # NaN -> null, newline at the end
    write_csv_atomic(out / "metrics.csv", rows)                          # rows: dicts with the same keys
    with atomic_path(path) as tmp:                                       # any other writer (savefig, torch.save)
        fig.savefig(tmp, format="png")
"""
from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to; renamed to ``path`` when the block ends normally.

    The parent folder is created. On an exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def json_safe(value):
    """NaN and inf become null (recursively, keys as strings) so the JSON is strict."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_json_atomic(path: str | Path, data, indent: int = 2, strict: bool = False) -> None:
    """Write ``data`` as JSON so that ``path`` either keeps its old content or has the complete new one.

    ``strict``: NaN and infinities are written as null (:func:`json_safe`), so every JSON reader accepts the file,
    and the text ends with a newline (the evaluation's result files); otherwise exactly ``json.dumps``'s text.
    """
    text = json.dumps(json_safe(data), indent=indent) + "\n" if strict else json.dumps(data, indent=indent)
    write_text_atomic(path, text)


def write_csv_atomic(path: str | Path, rows: list[dict]) -> None:
    """Write ``rows`` (dicts with the keys of the first row, which are the columns) as CSV with a header line."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
