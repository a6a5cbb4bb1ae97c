"""Atomic output: every file is written to a temporary file in the output directory and renamed
into place only after all of them are complete, so an interrupted run leaves no partial
``train.parquet`` / ``test.parquet`` / ``report.json`` (temporary files are removed on failure).

>>> import tempfile, pyarrow.parquet as pq
>>> d = tempfile.mkdtemp()
>>> paths = write_outputs(d, {"train.parquet": [], "test.parquet": []}, {"ok": True})
>>> pq.read_table(paths["train.parquet"]).num_rows
0
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from .rows import EXTRA_FIELDS

BATCH_ROWS = 4096  # rows converted to Arrow at a time, to bound memory on the 60k-record corpus

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
ROW_SCHEMA = pa.schema([
    ("data_source", pa.string()),
    ("prompt", pa.list_(MESSAGE)),
    ("ability", pa.string()),
    ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
    ("extra_info", pa.struct([(k, getattr(pa, t)()) for k, t, _ in EXTRA_FIELDS])),
])


def write_parquet(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> None:
    """Write rows with the fixed :data:`ROW_SCHEMA`, in batches."""
    with pq.ParquetWriter(str(path), ROW_SCHEMA) as writer:
        for start in range(0, len(rows), BATCH_ROWS):
            writer.write_table(pa.Table.from_pylist(list(rows[start : start + BATCH_ROWS]), schema=ROW_SCHEMA))
        if not rows:
            writer.write_table(ROW_SCHEMA.empty_table())


def _temp_path(out_dir: Path, name: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    return Path(tmp)


def write_outputs(
    out_dir: str | os.PathLike, parquet: Mapping[str, Sequence[Mapping[str, Any]]], report: Mapping[str, Any]
) -> dict[str, str]:
    """Write ``{file name: rows}`` parquet files and ``report.json`` atomically; returns final paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    temps: dict[str, Path] = {}
    try:
        for name, rows in parquet.items():
            temps[name] = _temp_path(out, name)
            write_parquet(rows, temps[name])
        temps["report.json"] = _temp_path(out, "report.json")
        temps["report.json"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        final = {}
        for name, tmp in temps.items():  # all complete: rename into place
            os.replace(tmp, out / name)
            final[name] = str(out / name)
        return final
    finally:
        for tmp in temps.values():
            if tmp.exists():
                tmp.unlink()


def existing_outputs(out_dir: str | os.PathLike, names: Iterable[str]) -> list[str]:
    return [n for n in names if (Path(out_dir) / n).exists()]
