"""``compare`` and ``merge-metrics``: two metrics files side by side, or BFCL categories of one run
combined, refused when their manifests say the numbers were produced differently.

Every metrics JSON (``score``, ``bfcl``, ``bfcl-official``) carries a manifest
(:mod:`toolzero_verl.eval.manifest`). ``compare`` needs the two files to agree on every field of
:data:`~toolzero_verl.eval.manifest.SETTINGS` (format, reward, sampling, chat template, data and its
hashes, versions), names each field that differs and exits 2 otherwise; ``--ignore FIELD`` accepts a
difference on purpose, and the output says so. ``merge-metrics`` combines BFCL files that cover
disjoint categories of one model and step: the settings must agree except which data files were
read, and a file read by both must have the same hash.

What a kind of metrics file offers is a :class:`MetricsKind` in :data:`KINDS` (numbers to compare,
and for BFCL kinds how to merge), so a new kind is one entry, not another branch.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from toolzero_verl.eval import leaderboard
from toolzero_verl.eval import manifest as mf
from toolzero_verl.eval.paths import InputError, input_file, output_file

# Settings two BFCL files of one run may differ in when merged (they read different category files).
MERGE_MAY_DIFFER = ("data.files",)


@dataclass(frozen=True)
class MetricsKind:
    """How to read numbers from one kind of metrics file, and (if possible) merge several."""

    numbers: Callable[[Mapping[str, Any]], dict[str, float | None]]
    merge: Callable[[Sequence[Mapping[str, Any]]], dict[str, Any]] | None = None


def _score_numbers(m: Mapping[str, Any]) -> dict[str, float | None]:
    out: dict[str, float | None] = {"accuracy": _get(m, "overall", "accuracy")}
    for key, value in (_get(m, "overall", "components") or {}).items():
        out[f"mean {key}"] = value
    out["parse failure rate"] = _get(m, "overall", "parse_failure_rate")
    for group in ("by_data_source", "by_category"):
        for name, stats in (m.get(group) or {}).items():
            out[f"{group.removeprefix('by_')} {name}"] = stats.get("accuracy") if isinstance(stats, Mapping) else None
    return out


def _bfcl_numbers(m: Mapping[str, Any]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for cat, r in (m.get("categories") or {}).items():
        out[cat] = r.get("accuracy") if isinstance(r, Mapping) else None
    for group in ("summary_v4", "summary_v3"):
        summary = m.get(group) or {}
        for section, values in summary.items():
            if isinstance(values, Mapping):
                for k, v in values.items():
                    out[f"{group.removeprefix('summary_')} {section} {k}"] = v
            elif isinstance(values, (int, float)) and not isinstance(values, bool):
                out[f"{group.removeprefix('summary_')} {section}"] = values
    return out


def _merge_bfcl(files: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Union of the categories (disjoint, checked by the caller) with the summaries recomputed."""
    categories: dict[str, Any] = {}
    for m in files:
        categories.update(m.get("categories") or {})
    merged: dict[str, Any] = {"categories": categories, "summary_v3": leaderboard.v3_summary(categories)}
    if files[0].get("manifest", {}).get("kind") == "bfcl-official":
        merged["summary_v4"] = leaderboard.v4_summary(categories)
    return merged


def _get(m: Mapping[str, Any], *path: str) -> Any:
    node: Any = m
    for p in path:
        node = node.get(p) if isinstance(node, Mapping) else None
    return node


KINDS: dict[str, MetricsKind] = {
    "score": MetricsKind(_score_numbers),
    "bfcl": MetricsKind(_bfcl_numbers, _merge_bfcl),
    "bfcl-official": MetricsKind(_bfcl_numbers, _merge_bfcl),
}


def load_metrics(path: str | Path) -> dict[str, Any]:
    """A metrics JSON with a manifest, or :class:`InputError` naming the file."""
    p = input_file(path, "metrics file")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{p}: not JSON ({str(exc)[:100]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("manifest"), dict):
        raise InputError(f"{p}: not a toolzero-eval metrics file (no manifest); re-run score/bfcl/bfcl-official")
    kind = data["manifest"].get("kind")
    if kind not in KINDS:
        raise InputError(f"{p}: unknown metrics kind {kind!r}; known: {', '.join(KINDS)}")
    return data


def refuse_if_different(paths: Sequence[str], files: Sequence[Mapping[str, Any]], keys: Sequence[str],
                        ignore: Sequence[str], what: str) -> list[mf.Difference]:
    """Raise :class:`InputError` naming every differing field of ``keys`` (except ``ignore``); returns the
    ignored differences so the caller can print them."""
    first = files[0]["manifest"]
    ignored: list[mf.Difference] = []
    for path, other in zip(paths[1:], files[1:]):
        diffs = mf.differences(first, other["manifest"], keys)
        problems = [d for d in diffs if d.key not in ignore]
        ignored += [d for d in diffs if d.key in ignore]
        if problems:
            detail = "; ".join(d.describe((paths[0], path)) for d in problems)
            raise InputError(f"refusing to {what}: the manifests differ in what changes the number: {detail} "
                             "(--ignore FIELD accepts a difference on purpose)")
    return ignored


def compare(paths: Sequence[str], ignore: Sequence[str] = ()) -> tuple[str, dict[str, Any]]:
    """The comparison table (text) and its JSON, or :class:`InputError` when the settings differ."""
    a, b = (load_metrics(p) for p in paths)
    ignored = refuse_if_different(paths, [a, b], mf.SETTINGS, ignore, "compare")
    kind = KINDS[a["manifest"]["kind"]]
    na, nb = kind.numbers(a), kind.numbers(b)
    names = list(na) + [k for k in nb if k not in na]
    rows = [(k, na.get(k), nb.get(k)) for k in names]
    subject = [f"{p}: model {_get(m, 'manifest', 'generation', 'model', 'path') or 'unknown'}, "
               f"step {_get(m, 'manifest', 'generation', 'model', 'training_step')}" for p, m in zip(paths, (a, b))]
    width = max([len(k) for k in names] + [6])
    lines = subject + [f"{'metric':<{width}}  {'A':>8}  {'B':>8}  {'B-A':>8}", "-" * (width + 30)]
    for k, x, y in rows:
        delta = y - x if _num(x) and _num(y) else None
        lines.append(f"{k:<{width}}  {_pct(x)}  {_pct(y)}  {_pct(delta, signed=True)}")
    if ignored:
        lines.append("compared despite these differences (--ignore): " + "; ".join(d.describe() for d in ignored))
    result = {"files": list(paths), "kind": a["manifest"]["kind"], "ignored_differences": [vars(d) for d in ignored],
              "metrics": {k: {"a": x, "b": y} for k, x, y in rows}}
    return "\n".join(lines), result


def merge_metrics(paths: Sequence[str], ignore: Sequence[str] = (),
                  argv: Sequence[str] | None = None) -> dict[str, Any]:
    """BFCL metrics files of one model and step over disjoint categories, combined into one."""
    files = [load_metrics(p) for p in paths]
    kind_name = files[0]["manifest"]["kind"]
    kind = KINDS[kind_name]
    if kind.merge is None:
        raise InputError(f"{paths[0]}: {kind_name} metrics cannot be merged; merge-metrics combines BFCL category "
                         "results (bfcl, bfcl-official)")
    keys = [k for k in mf.SETTINGS if k not in MERGE_MAY_DIFFER] + list(mf.SUBJECT)
    ignored = refuse_if_different(paths, files, keys, ignore, "merge")
    seen: dict[str, str] = {}
    for path, m in zip(paths, files):
        for cat in m.get("categories") or {}:
            if cat in seen:
                raise InputError(f"refusing to merge: category {cat} is in both {seen[cat]} and {path}")
            seen[cat] = path
    data_files: dict[str, str] = {}
    for path, m in zip(paths, files):
        for name, digest in (_get(m, "manifest", "data", "files") or {}).items():
            if data_files.setdefault(name, digest) != digest:
                raise InputError(f"refusing to merge: data file {name} has a different hash in {path}")
    merged = kind.merge(files)
    manifest = dict(files[0]["manifest"])
    manifest["data"] = {**(manifest.get("data") or {}), "files": data_files, "categories": sorted(seen)}
    manifest["merged_from"] = [{"path": str(p), "command": _get(m, "manifest", "command")}
                               for p, m in zip(paths, files)]
    manifest["ignored_differences"] = [vars(d) for d in ignored]
    manifest["command"] = mf.command_line(argv)
    return {**merged, "manifest": manifest}


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _pct(x: Any, signed: bool = False) -> str:
    if not _num(x):
        return "     n/a"
    return f"{100 * x:+8.2f}" if signed else f"{100 * x:8.2f}"


# --- command line -----------------------------------------------------------------------------------


def add_parsers(sub) -> None:
    p = sub.add_parser("compare", help="two metrics files side by side (refused when their settings differ)",
                       description="Compare two metrics files of the same kind. Refused, naming each field, when "
                                   "their manifests differ in a setting that changes the number.")
    p.add_argument("files", nargs=2, metavar="METRICS_JSON")
    p.add_argument("--ignore", action="append", default=[], metavar="FIELD", choices=mf.SETTINGS,
                   help="accept a difference in this manifest field (repeatable)")
    p.add_argument("--json-out", metavar="PATH", help="also write the comparison as JSON")

    p = sub.add_parser("merge-metrics", help="combine BFCL metrics of disjoint categories of one run",
                       description="Combine bfcl or bfcl-official metrics files covering disjoint categories of one "
                                   "model and step; the summaries are recomputed. Refused when settings differ.")
    p.add_argument("files", nargs="+", metavar="METRICS_JSON")
    p.add_argument("--out", required=True, metavar="PATH")
    p.add_argument("--ignore", action="append", default=[], metavar="FIELD",
                   choices=mf.SETTINGS + mf.SUBJECT, help="accept a difference in this manifest field (repeatable)")


def cmd_compare(args) -> int:
    out = output_file(args.json_out, "--json-out", args.files) if args.json_out else None
    text, result = compare(args.files, args.ignore)
    print(text)
    if out is not None:
        _write(out, result)
    return 0


def cmd_merge_metrics(args) -> int:
    if len(args.files) < 2:
        raise InputError("merge-metrics needs two or more metrics files")
    out = output_file(args.out, "--out", args.files)
    merged = merge_metrics(args.files, args.ignore, args.argv)
    _write(out, merged)
    print(f"merged {len(args.files)} files ({', '.join(sorted(merged['categories']))}) into {out}")
    return 0


def _write(path: Path, data: Mapping[str, Any]) -> None:
    from toolzero_verl.eval.score import write_json

    write_json(data, path)


COMMANDS = {"compare": cmd_compare, "merge-metrics": cmd_merge_metrics}
