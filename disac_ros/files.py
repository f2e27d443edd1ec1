"""Files written whole or not at all: to a temporary name beside the target, then renamed (stdlib only).

A reader (or a resumed run) therefore sees either the old content or the complete new one, never half a file;
the temporary name is hidden (``.NAME.<random>.tmp``), unique per writer, and removed when writing fails, so
several processes writing the same file at once each rename a complete file of their own (the last one wins)
instead of renaming each other's away. A cache that several processes may fill at once is filled under
:func:`locked`: the first to take the lock writes, the others wait, find it complete and read it.

    write_text_atomic(out / "report.md", text)
    write_json_atomic(run / "run.json", record)                          # indent 2, as json.dumps writes it
    write_json_atomic(out / "results.json", results, indent=1, strict=True)  # NaN -> null, newline at the end
    write_csv_atomic(out / "metrics.csv", rows)                          # rows: dicts with the same keys
    with atomic_path(path) as tmp:                                       # any other writer (savefig, torch.save)
        fig.savefig(tmp, format="png")
    with locked(run / "export"):                                         # one writer of a shared cache at a time
        if not complete(run / "export"):
            write(run / "export")
"""
from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

#: The lock file :func:`locked` takes in a folder.
LOCK_FILE = ".lock"


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to; renamed to ``path`` when the block ends normally.

    The parent folder is created; the temporary name is unique (``.NAME.<random>.tmp`` in the same folder, so the
    rename is atomic). On an exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def locked(folder: str | Path, timeout: float = -1) -> Iterator[Path]:
    """An exclusive lock on ``folder`` (``folder/.lock``, created with the folder) across processes.

    For caches several processes may fill at once (a run's export, a dataset's detection cache, a converted
    language model): take the lock, check again whether the cache is complete, write it only if not. ``timeout``
    seconds (negative: wait for ever) before ``filelock.Timeout``. The lock is released when the process dies.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / LOCK_FILE), timeout=timeout):
        yield folder


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
