"""Reward throughput against verl's in-tree ToolRL reward (``verl.utils.reward_score.rlla``).

One run builds a fixed mix of responses from ToolRL's 80 released test rows (perfect, partly wrong,
malformed; single and parallel calls), scores every response with our three rewards and with
rlla, and prints the median µs per response, each ratio to rlla, and the wall time of one batch of
1024 mixed responses per reward. Needs verl installed (for rlla); ours needs nothing else. With the
compiled call reader built (setup.py), a last row scores the answer format with the Python readers.

    python benchmarks/reward_throughput.py [--n 4096] [--rows PATH]

Targets: toolrl ≤ 0.73× rlla, gg_grpo ≤ 1.0× rlla (also in the answer format), 1024 responses < 20 ms on an
idle core (docs/rewards.md, "Speed").
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import statistics
import time
from pathlib import Path

from toolzero_verl import compute_score
from toolzero_verl.core import pycalls
from toolzero_verl.core.formats import get_format

DEFAULT_ROWS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "toolrl" / "rlla_rl_test80.json"
THINK = "<think> I should call the right tool with the right arguments. </think>"


def _calls(gt: str) -> list[dict]:
    if "<tool_call>" not in gt:
        return []
    block = gt.split("<tool_call>")[1].split("</tool_call>")[0].strip()
    return [json.loads(line) for line in block.split("\n")]


def _render(calls: list[dict], reply: str | None = None) -> str:
    parts = [THINK]
    if calls:
        parts.append("<tool_call>\n" + "\n".join(json.dumps(c) for c in calls) + "\n</tool_call>")
    if reply is not None or not calls:
        parts.append(f"<response>{reply or 'Done.'}</response>")
    return "\n".join(parts)


def _variants(gt: str, rng: random.Random) -> list[str]:
    """Perfect, partly wrong and malformed responses for one reference."""
    calls = _calls(gt)
    out = [gt, _render(calls)]
    if calls:
        wrong_value = json.loads(json.dumps(calls))
        for c in wrong_value:
            for k in c["parameters"]:
                c["parameters"][k] = "wrong"
                break
        out += [
            _render(wrong_value),
            _render([{**calls[0], "name": calls[0]["name"] + "X"}] + calls[1:]),
            _render([{"name": c["name"], "parameters": {}} for c in calls]),
            _render(calls + calls[:1]),
            _render(list(reversed(calls))),
            _render(calls).replace("}}", "}", 1),  # broken JSON
            _render(calls).replace("<think>", "", 1),
            "Sure, calling " + json.dumps(calls[0]),
        ]
    else:
        out += [_render([], "I cannot help with that."), _render([{"name": "search", "parameters": {"q": "x"}}])]
    out.append("")
    rng.shuffle(out)
    return out


def _as_answer(response: str) -> str:
    """A toolrl-format response re-rendered in the answer format when it parses; else unchanged."""
    parsed = get_format("toolrl").parse(response)
    if not parsed.parse_ok or not response.startswith("<think>"):
        return response
    return get_format("answer").render(parsed.calls, parsed.text if not parsed.calls else None, think=THINK[7:-8])


def build_mix(rows: list[dict], n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pool = [(v, r["output"]) for r in rows for v in _variants(r["output"], rng)]
    return [pool[i % len(pool)] for i in rng.sample(range(max(n, len(pool))), n)]


def time_interleaved(fns: dict, mix) -> dict[str, list[float]]:
    """µs per response for every scorer, interleaved response by response so that all of them
    see the same machine load (a shared 2-core box is noisy)."""
    out = {name: [] for name in fns}
    clock = time.perf_counter_ns
    for response, gt in mix:
        for name, fn in fns.items():
            t0 = clock()
            fn(response, gt)
            out[name].append((clock() - t0) / 1000.0)
    return out


def time_batches(fns: dict, batch, rounds: int = 5) -> dict[str, float]:
    """Wall ms to score the batch per scorer, best of ``rounds`` (the batch goal is about cost, not noise);
    the scorers take turns round by round, so a burst of load on the shared host hits all of them."""
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for response, gt in batch:
                fn(response, gt)
            best[name] = min(best[name], (time.perf_counter() - t0) * 1000)
    return best


def with_python_readers(score):
    """``score`` with pycalls' Python readers in place of the compiled ones, swapped around each call
    (a fraction of a µs) so that the row can be timed interleaved with the others."""
    compiled = pycalls._fast_parse, pycalls._masked_scalars
    python = pycalls._py_fast_parse, pycalls._py_masked_scalars

    def scored(r, g):
        pycalls._fast_parse, pycalls._masked_scalars = python
        try:
            return score(r, g)
        finally:
            pycalls._fast_parse, pycalls._masked_scalars = compiled

    return scored


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=4096, help="responses in the mix (default 4096)")
    ap.add_argument("--rows", type=Path, default=DEFAULT_ROWS, help="ToolRL rlla_rl.json-style rows")
    ap.add_argument("--batch", type=int, default=1024)
    args = ap.parse_args()

    from verl.utils.reward_score import rlla  # the in-tree reference

    rows = json.loads(args.rows.read_text())
    mix = build_mix(rows, args.n)
    extra_train = {"split": "train", "global_steps": 10}
    sink = io.StringIO()

    def run_rlla(resp, gt):  # rlla wants the chat wrapper and a qwen experiment name
        return rlla.compute_score("rlla", "<|im_start|>assistant\n" + resp + "<|im_end|>", gt,
                                  {"experiment_name": "qwen2.5-7b"})

    # The same responses in Tool Zero's `answer` format (Python-syntax calls, read with ast.parse):
    # what a GG-GRPO run with the default format scores. Broken responses stay as they are.
    answer_of = {r: _as_answer(r) for r, _ in mix}
    ours = {
        "toolrl": lambda r, g: compute_score("rlla", r, g, extra_train, reward="toolrl"),
        "gg_grpo": lambda r, g: compute_score("rlla", r, g, extra_train, reward="gg_grpo", output_format="toolrl"),
        "binary": lambda r, g: compute_score("rlla", r, g, extra_train, reward="binary", output_format="toolrl"),
        "gg_grpo (answer fmt)": lambda r, g: compute_score("rlla", answer_of[r], g, extra_train),
    }
    if pycalls.READER == "compiled":  # what an install without a C compiler gets (TOOLZERO_PURE_PYTHON=1)
        ours["  … Python reader"] = with_python_readers(ours["gg_grpo (answer fmt)"])
    fns = {"rlla (verl in-tree)": run_rlla, **ours}
    with contextlib.redirect_stdout(sink):  # rlla prints 1 call in 64; redirect once, outside the timings
        time_interleaved(fns, mix[:256])  # warm caches and imports
        per = time_interleaved(fns, mix)
        batch_ms = time_batches(fns, mix[: args.batch])
        results = {name: (statistics.median(ts), statistics.mean(ts), batch_ms[name]) for name, ts in per.items()}

    base, _, base_batch = results["rlla (verl in-tree)"]
    print(f"{len(mix)} responses from {len(rows)} ToolRL rows; batch = first {args.batch}; one process, one core; "
          f"call reader: {pycalls.READER}")
    # The batch is a sum, so it follows the mean (the slow tail), not the median; its ratio to rlla's batch
    # compares across hosts, where the ms do not.
    batch_head = f"batch {args.batch} ms"
    print(f"{'reward':<22}{'median µs':>11}{'mean µs':>10}{'× rlla':>9}{batch_head:>17}{'batch × rlla':>14}")
    for name, (med, mean, batch_ms) in results.items():
        print(f"{name:<22}{med:>11.1f}{mean:>10.1f}{med / base:>9.2f}{batch_ms:>17.1f}{batch_ms / base_batch:>14.2f}")


if __name__ == "__main__":
    main()
