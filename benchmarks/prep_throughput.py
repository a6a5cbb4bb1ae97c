"""Throughput of ``toolzero-prep`` on full-size synthetic corpora.

Synthesises a 60,000-record xLAM-format file and an 11,300-record ToolACE-format file (800
multi-turn + 10,500 single-turn dialogues, the split Tool-N1 reports) from the shapes of the real
samples in ``shared/corpora`` (unique ids and queries), then times the end-to-end conversion
(``python -m data_prep``, parse -> validate -> dedup -> split -> parquet + report) in a child
process and reports records/s, samples/s and the child's peak RSS.

Goal: >= 10,000 records/s and peak RSS < 2 GB on a 2-core machine.

    python benchmarks/prep_throughput.py [--shared ../shared] [--xlam-records 60000] [--toolace-records 11300]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from data_prep.corpora.toolace import extract_tools  # noqa: E402
from toolzero_verl.core.calls import ToolCall  # noqa: E402
from toolzero_verl.core.pycalls import render_python_calls  # noqa: E402

GOAL_RECORDS_PER_S = 10_000
GOAL_PEAK_RSS_GB = 2.0
MULTI_TURN_SHARE = 800 / 11_300  # Tool-N1 Table 1: 800 multi-turn of 11,300 ToolACE records
_VALUE = {
    "string": "example",
    "str": "example",
    "int": 7,
    "integer": 7,
    "float": 2.5,
    "number": 2.5,
    "boolean": True,
    "bool": True,
    "array": ["a"],
    "list": ["a"],
    "dict": {"k": "v"},
    "object": {"k": "v"},
}


XLAM_APIS = 3_673  # distinct APIs in xLAM-60k (its paper); tool variants are renamed to about this many


def synth_xlam(real: list[dict], n: int) -> list[dict]:
    """Real records cycled with unique ids and queries; every tool name (in tools and answers) gets a
    variant suffix so the file offers ~3.7k distinct tools, as the real one does (tool memoisation
    must not look better than on real data)."""
    distinct = len({t["name"] for r in real for t in json.loads(r["tools"])})
    variants = max(1, XLAM_APIS // distinct)
    out = []
    for i in range(n):
        r = real[i % len(real)]
        v = (i // len(real)) % variants
        tools = [dict(t, name=f"{t['name']}_v{v}") for t in json.loads(r["tools"])]
        answers = [dict(a, name=f"{a['name']}_v{v}") for a in json.loads(r["answers"])]
        out.append(
            {
                "id": i,
                "query": f"{r['query']} (request {i})",
                "answers": json.dumps(answers),
                "tools": json.dumps(tools),
            }
        )
    return out


def _single_turn(system: str, i: int) -> dict:
    tool = extract_tools(system)[0]
    props = tool["parameters"].get("properties", {})
    args = {}
    for p in tool["parameters"].get("required") or []:
        if p in props:
            ptype = props[p].get("type") if isinstance(props[p].get("type"), str) else "string"
            args[p] = props[p]["enum"][0] if props[p].get("enum") else _VALUE.get(ptype, "example")
    call = render_python_calls([ToolCall(tool["name"], args)])
    return {
        "system": system,
        "conversations": [
            {"from": "user", "value": f"Please use {tool['name']} for me (request {i})."},
            {"from": "assistant", "value": call},
        ],
    }


def synth_toolace(exact: dict, systems: list[str], n: int) -> list[dict]:
    out, n_multi = [], round(n * MULTI_TURN_SHARE)
    for i in range(n):
        if i < n_multi:
            rec = json.loads(json.dumps(exact))
            for t in rec["conversations"]:
                if t["from"] == "user":
                    t["value"] = f"{t['value']} (dialogue {i})"
            out.append(rec)
        else:
            out.append(_single_turn(systems[i % len(systems)], i))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.environ.get("TOOLZERO_SHARED", str(REPO.parent / "shared")))
    ap.add_argument("--xlam-records", type=int, default=60_000)
    ap.add_argument("--toolace-records", type=int, default=11_300)
    ap.add_argument("--output-format", default="answer")
    ap.add_argument(
        "--repeat", type=int, default=3, help="timed runs; the best is reported (the machine may be shared)"
    )
    args = ap.parse_args()
    corpora = Path(args.shared) / "corpora"
    real_xlam = json.loads((corpora / "xlam" / "xlam_sample.json").read_text())
    exact = json.loads((corpora / "toolace" / "toolace_sample.json").read_text())[0]
    derived = json.loads((corpora / "toolace" / "zaego123_sharegpt_func_fixed_DERIVED.json").read_text())
    systems = [exact["system"]] + [d["system"] + " \n" for d in derived]
    random.seed(0)

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        xlam_path, toolace_path = tmp_path / "xlam_function_calling_60k.json", tmp_path / "data.json"
        xlam_path.write_text(json.dumps(synth_xlam(real_xlam, args.xlam_records)))
        toolace_path.write_text(json.dumps(synth_toolace(exact, systems, args.toolace_records)))
        sizes = {p.name: p.stat().st_size for p in (xlam_path, toolace_path)}
        cmd = [
            sys.executable,
            "-m",
            "data_prep",
            "--xlam",
            str(xlam_path),
            "--toolace",
            str(toolace_path),
            "--out",
            str(tmp_path / "out"),
            "--output-format",
            args.output_format,
            "--no-progress",
            "--quiet",
        ]
        runs = []
        for _ in range(args.repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(cmd, check=True, cwd=REPO)
            elapsed = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            runs.append((elapsed, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)))
        peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2  # KiB on Linux; max over runs
        report = json.loads((tmp_path / "out" / "report.json").read_text())

    elapsed = min(r[0] for r in runs)
    cpu = min(r[1] for r in runs)
    total = report["total"]
    records = total["records"]
    result = {
        "records": records,
        "candidate_samples": total["read"],
        "rows_written": total["written"]["total"],
        "rejected": total["rejected"],
        "input_bytes": sizes,
        "seconds": round(elapsed, 2),  # best of --repeat runs, end to end (interpreter start included)
        "seconds_all_runs": [round(r[0], 2) for r in runs],
        "cpu_seconds": round(cpu, 2),  # user + sys of the conversion process
        "load_average_1min": round(os.getloadavg()[0], 2),  # other work on the machine slows wall time
        "records_per_s": round(records / elapsed),
        "samples_per_s": round(total["read"] / elapsed),
        "records_per_cpu_s": round(records / cpu),
        "peak_rss_gb": round(peak_gb, 3),
        "phase_seconds_last_run": report.get("timings"),
        "goal": {"records_per_s": GOAL_RECORDS_PER_S, "peak_rss_gb": GOAL_PEAK_RSS_GB},
        "meets_goal": records / elapsed >= GOAL_RECORDS_PER_S and peak_gb < GOAL_PEAK_RSS_GB,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
