"""ToolRL reward: parity with verl's in-tree ``rlla`` on ToolRL's real rows and their perturbations,
the optimal matching, and each ablation option.

rlla is fed exactly what it expects in verl (a Qwen chat-wrapped response and an experiment name
containing "qwen"); ours gets the bare decoded response, as verl hands it to ``compute_score``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolzero_verl import compute_score
from toolzero_verl.core.formats import get_format
from toolzero_verl.rewards.scoring import ConfigError
from toolzero_verl.rewards.toolrl import ToolRLOptions, bounds_at, multiset_jaccard, think_length
from toolzero_verl.testing.budget import examples

TOL = 1e-9
# Parity with verl's in-tree rlla.py needs verl installed (its file is loaded, verl is not imported).
needs_rlla = pytest.mark.verl
RLLA_EXTRA = {"experiment_name": "qwen2.5-3b"}
THINK = "<think> I should use the appropriate tool with proper parameters to respond to the user's need. </think>"


@functools.cache
def rlla():
    # verl's real rlla.py, loaded from the installed verl without running verl/__init__ (which
    # imports torch and takes seconds); the module itself only needs the standard library.
    verl_dir = importlib.util.find_spec("verl").submodule_search_locations[0]
    spec = importlib.util.spec_from_file_location("verl_rlla", Path(verl_dir) / "utils" / "reward_score" / "rlla.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rlla_score(response: str, gt: str) -> dict:
    with contextlib.redirect_stdout(io.StringIO()):  # rlla prints one call in 64 at random
        return rlla().compute_score("rlla", "<|im_start|>assistant\n" + response + "<|im_end|>", gt, RLLA_EXTRA)


def ours(response: str, gt, extra_info=None, **options) -> dict:
    return compute_score("rlla", response, gt, extra_info, reward="toolrl", **options)


def assert_parity(response: str, gt: str, extra_info=None) -> tuple[float, float]:
    ref, got = rlla_score(response, gt), ours(response, gt, extra_info)
    assert abs(ref["format_reward"] - got["format"]) <= TOL, (response, ref, got)
    assert abs(ref["accuracy_reward"] - got["correctness"]) <= TOL, (response, ref, got)
    assert abs(ref["score"] - got["score"]) <= TOL, (response, ref, got)
    return got["format"], got["correctness"]


# --- real data ----------------------------------------------------------------------------------

# Same location rule as tests/conftest.py; needed at import time because hypothesis samples from it.
CORPORA = Path(os.environ.get("TOOLZERO_SHARED", Path(__file__).resolve().parents[3].parent / "shared")) / "corpora"
ROWS = json.loads((CORPORA / "toolrl" / "rlla_rl_test80.json").read_text())
GTS = [r["output"] for r in ROWS]
CALL_GTS = [g for g in GTS if "<tool_call>" in g]


def split_gt(gt: str) -> tuple[str, list[dict] | None, str | None]:
    """(think block, call objects or None, response body or None) of a ToolRL reference."""
    think = gt[: gt.index("</think>") + len("</think>")]
    calls = None
    if "<tool_call>" in gt:
        block = gt.split("<tool_call>")[1].split("</tool_call>")[0].strip()
        calls = [json.loads(line) for line in block.split("\n")]
    reply = gt.split("<response>")[1].split("</response>")[0] if "<response>" in gt else None
    return think, calls, reply


def render(calls: list | None, think: str = THINK, reply: str | None = None, dump=json.dumps) -> str:
    parts = [think]
    if calls is not None:
        parts.append("<tool_call>\n" + "\n".join(dump(c) for c in calls) + "\n</tool_call>")
    if reply is not None:
        parts.append(f"<response>{reply}</response>")
    return "\n".join(parts)


def _copy(calls):
    return json.loads(json.dumps(calls))


def _other_value(v):
    if isinstance(v, bool):
        return not v
    if isinstance(v, (int, float)):
        return v + 1
    if isinstance(v, str):
        return v + "x"
    if isinstance(v, list):
        return v + [v[0] if v else 1]
    return None


def _type_changes(v) -> list:
    """The same value under other JSON types: str <-> int <-> float <-> bool (Python == semantics matter)."""
    out = []
    if isinstance(v, bool):
        out += [int(v), float(v), str(v).lower(), str(v)]
    elif isinstance(v, int):
        out += [str(v), float(v), bool(v)]
    elif isinstance(v, float):
        out += [str(v), int(v), v.is_integer() and int(v)]
    elif isinstance(v, str):
        try:
            out += [int(v)]
        except ValueError:
            pass
        try:
            out += [float(v)]
        except ValueError:
            pass
        if v.lower() in ("true", "false"):
            out += [v.lower() == "true"]
        out += [[v], {"value": v}]
    else:
        out += [json.dumps(v)]
    return out


def call_perturbations(gt: str) -> list[tuple[str, str]]:
    """(kind, response) pairs derived from a reference that has calls."""
    think, calls, reply = split_gt(gt)
    out = [("identity", gt)]

    def add(kind, c, **kw):
        out.append((kind, render(c, think=kw.pop("think", think), reply=kw.pop("reply", reply), **kw)))

    c = _copy(calls)
    c[0]["name"] += "_x"
    add("wrong_name", c)
    c = _copy(calls)
    last = c[-1]["name"]
    c[-1]["name"] = last.upper() if last != last.upper() else last.lower()
    add("name_case", c)
    for i, call in enumerate(calls):
        params = call["parameters"]
        for k, v in params.items():
            c = _copy(calls)
            del c[i]["parameters"][k]
            add("missing_param", c)
            c = _copy(calls)
            c[i]["parameters"][k + "_r"] = c[i]["parameters"].pop(k)
            add("renamed_param", c)
            c = _copy(calls)
            c[i]["parameters"][k] = _other_value(v)
            add("wrong_value", c)
            for w in _type_changes(v):
                c = _copy(calls)
                c[i]["parameters"][k] = w
                add("value_type", c)
        c = _copy(calls)
        c[i]["parameters"]["extra_param"] = 1
        add("extra_param", c)
        c = _copy(calls)
        c[i]["parameters"] = dict(reversed(list(c[i]["parameters"].items())))
        add("param_order", c)
        c = _copy(calls)
        c[i]["parameters"] = {}
        add("no_params", c)
        for bad in ([], None, "x", [["k", 1]]):
            c = _copy(calls)
            c[i]["parameters"] = bad
            add("params_not_object", c)
        c = _copy(calls)
        c[i]["arguments"] = c[i].pop("parameters")
        add("arguments_key", c)
        c = _copy(calls)
        del c[i]["parameters"]
        add("no_parameters_key", c)
        c = _copy(calls)
        c[i]["id"] = 7
        add("extra_call_key", c)
        for bad_name in (None, 3, ["x"], {"n": 1}, True, ""):
            c = _copy(calls)
            c[i]["name"] = bad_name
            add("bad_name", c)
        c = _copy(calls)
        del c[i]["name"]
        add("no_name", c)
    add("all_arguments_key", [{"name": x["name"], "arguments": x["parameters"]} for x in calls])
    if len(calls) > 1:
        add("reordered", list(reversed(_copy(calls))))
        add("rotated", _copy(calls[1:] + calls[:1]))
        add("dropped_call", _copy(calls[:-1]))
    add("duplicated_call", _copy(calls + calls[:1]))
    add("duplicated_all", _copy(calls + calls))
    add("foreign_call", _copy(calls) + [{"name": "unrelated_tool", "parameters": {"q": 1}}])
    body = "\n".join(json.dumps(x) for x in calls)
    block = f"<tool_call>\n{body}\n</tool_call>"
    tail = f"\n<response>{reply}</response>" if reply is not None else ""
    lines = body.split("\n")
    for kind, text in [
        ("broken_json", f"{think}\n<tool_call>\n{body[:-1]}\n</tool_call>{tail}"),
        ("trailing_comma", f"{think}\n<tool_call>\n{body[:-2]},}}\n</tool_call>{tail}"),
        ("single_quotes", f"{think}\n<tool_call>\n{body.replace(chr(34), chr(39))}\n</tool_call>{tail}"),
        ("python_literals",
         f"{think}\n<tool_call>\n{body.replace('true', 'True').replace('false', 'False')}\n</tool_call>{tail}"),
        ("blank_line", f"{think}\n<tool_call>\n" + "\n\n".join(lines) + f"\n</tool_call>{tail}"),
        ("crlf", f"{think}\n<tool_call>\n" + "\r\n".join(lines) + f"\n</tool_call>{tail}"),
        ("json_list", f"{think}\n<tool_call>\n[{', '.join(lines)}]\n</tool_call>{tail}"),
        ("one_line_objects", f"{think}\n<tool_call>\n{' '.join(lines)}\n</tool_call>{tail}"),
        ("non_object_line", f"{think}\n<tool_call>\n{body}\n[1, 2]\n</tool_call>{tail}"),
        ("string_line", f"{think}\n<tool_call>\n{body}\n\"call\"\n</tool_call>{tail}"),
        ("null_line", f"{think}\n<tool_call>\nnull\n</tool_call>{tail}"),
        ("number_line", f"{think}\n<tool_call>\n42\n</tool_call>{tail}"),
        ("nan_value", f"{think}\n<tool_call>\n" + lines[0].replace("}}", ', "z": NaN}}') + f"\n</tool_call>{tail}"),
        ("deep_nesting", f"{think}\n<tool_call>\n" + "[" * 3000 + "]" * 3000 + f"\n</tool_call>{tail}"),
        ("indented_json",
         f"{think}\n<tool_call>\n" + "\n".join(json.dumps(x, indent=2) for x in calls) + f"\n</tool_call>{tail}"),
        ("no_think", f"{block}{tail}"),
        ("no_think_close", f"<think> hmm\n{block}{tail}"),
        ("no_newline_after_think", f"{think}{block}{tail}"),
        ("no_open_tag", f"{think}\n{body}\n</tool_call>{tail}"),
        ("no_close_tag", f"{think}\n<tool_call>\n{body}{tail}"),
        ("close_before_open", f"{think}\n</tool_call>\n<tool_call>\n{body}{tail}"),
        ("no_newlines_in_block", f"{think}\n<tool_call>{body}</tool_call>{tail}"),
        ("two_blocks", f"{think}\n{block}\n{block}{tail}"),
        ("second_block_differs",
         f"{think}\n{block}\n<tool_call>\n{{\"name\": \"x\", \"parameters\": {{}}}}\n</tool_call>{tail}"),
        ("extra_response", f"{think}\n{block}{tail}\n<response>Done.</response>"),
        ("added_response", f"{think}\n{block}\n<response>Here you go.</response>"),
        ("response_in_think", f"<think> maybe <response> </think>\n{block}{tail}"),
        ("tags_in_think", f"<think> use <tool_call> later </think>\n{block}{tail}"),
        ("think_twice", f"{think}\n{think}\n{block}{tail}"),
        ("prose_before", f"Sure! {think}\n{block}{tail}"),
        ("prose_after", f"{think}\n{block}{tail} Done."),
        ("prose_between", f"{think}\nLet me call it.\n{block}{tail}"),
        ("leading_ws", f"\n\n  {think}\n{block}{tail}"),
        ("trailing_ws", f"{think}\n{block}{tail}\n \t\n"),
        ("unicode_ws", f"\u3000{think}\n{block}{tail}\u2003"),
        ("empty", ""),
        ("whitespace_only", " \n\t "),
        ("think_only", think),
        ("think_only_empty", "<think></think>"),
        ("response_only", f"{think}\n<response> I cannot help with that. </response>"),
        ("empty_block", f"{think}\n<tool_call>\n\n</tool_call>{tail}"),
        ("plain_text", "I would call " + calls[0]["name"]),
    ]:
        out.append((kind, text))
    return out


def response_perturbations(gt: str) -> list[tuple[str, str]]:
    """(kind, response) pairs derived from a reference that answers in ``<response>``."""
    think, calls, reply = split_gt(gt)
    assert calls is None
    return [
        ("identity", gt),
        ("other_text", f"{think}\n<response> Something else entirely. </response>"),
        ("empty_reply", f"{think}\n<response></response>"),
        ("added_call",
         f"{think}\n<tool_call>\n{{\"name\": \"f\", \"parameters\": {{}}}}\n</tool_call>\n"
         f"<response>{reply}</response>"),
        ("call_instead", f"{think}\n<tool_call>\n{{\"name\": \"f\", \"parameters\": {{}}}}\n</tool_call>"),
        ("no_close", f"{think}\n<response>{reply}"),
        ("two_replies", f"{think}\n<response>{reply}</response>\n<response>again</response>"),
        ("no_think", f"<response>{reply}</response>"),
        ("space_not_newline", f"{think} <response>{reply}</response>"),
        ("prose_after", f"{gt} Bye."),
        ("leading_ws", f"\n {gt}"),
        ("trailing_ws", f"{gt}\n\n"),
        ("think_only", think),
        ("empty", ""),
        ("reply_without_tags", reply),
    ]


def synthetic_gts() -> list[str]:
    """References that exercise rlla's other two branches and the empty-parameter edge, built
    from real rows (ToolRL's released RL rows never have both tags, nor a think-only reference)."""
    out = []
    for gt in CALL_GTS[:12]:
        think, calls, _ = split_gt(gt)
        out.append(render(calls, think=think, reply=" Done. "))  # call + response reference
        out.append(render([{"name": c["name"], "parameters": {}} for c in calls], think=think))  # no parameters
    out += [THINK, "<think></think>"]  # think-only references
    return out


def all_cases() -> list[tuple[str, str, str]]:
    cases = []
    for gt in GTS + synthetic_gts():
        think, calls, reply = split_gt(gt)
        perturb = call_perturbations(gt) if calls is not None else (
            response_perturbations(gt) if reply is not None else
            [("identity", gt), ("with_reply", gt + "\n<response> hi </response>"), ("empty", ""),
             ("with_call", render(CALL_GTS and split_gt(CALL_GTS[0])[1], think=gt)), ("prose", "no think")]
        )
        cases += [(kind, response, gt) for kind, response in perturb]
    return cases


CASES = all_cases()


@needs_rlla
def test_real_rows_score_like_rlla_and_each_kind_is_exercised():
    outcomes = set()
    for _, response, gt in CASES:
        outcomes.add(assert_parity(response, gt))
    kinds = {k for k, _, _ in CASES}
    assert len(CASES) >= 3000, len(CASES)
    assert len(kinds) >= 70, len(kinds)
    # The cases must reach every part of the reward, or parity would be cheap.
    formats = {f for f, _ in outcomes}
    corrs = {c for _, c in outcomes}
    assert formats == {0.0, 1.0}
    assert {-3.0, 0.0, 3.0} <= corrs
    assert len(corrs) >= 100, len(corrs)


@needs_rlla
def test_parquet_rows_score_like_rlla():
    df = pd.read_parquet(CORPORA / "toolrl" / "rlla_4k_test.parquet")
    n = 0
    for _, row in df.iterrows():
        gt = row["reward_model"]["ground_truth"]
        extra = dict(row["extra_info"])  # split "test": also exercises validation-row scoring
        perturb = call_perturbations(gt) if "<tool_call>" in gt else response_perturbations(gt)
        for _, response in perturb:
            ref, got = rlla_score(response, gt), ours(response, gt, extra)
            assert abs(ref["score"] - got["score"]) <= TOL, (response, ref, got)
            assert abs(ref["accuracy_reward"] - got["correctness"]) <= TOL
            n += 1
    assert len(df) == 80 and n >= 3000


# --- hypothesis: random mutations of real answers -------------------------------------------------

TOKENS = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<response>", "</response>", "\n", " ", "{", "}",
          "[", "]", '"', ",", ":", "1", "1.0", "true", "null", '"parameters"', '"arguments"', '"name"', "\r", "\t"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=True)
    | st.sampled_from(["", "1", "a", "true"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "k"]), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def mutated_calls(draw, gt: str | None = None):
    gt = gt or draw(st.sampled_from(CALL_GTS))
    _, calls, reply = split_gt(gt)
    pool = _copy(calls)
    out = []
    for _ in range(draw(st.integers(0, len(calls) + 2))):
        call = _copy(draw(st.sampled_from(pool)))
        params = call["parameters"]
        for k in list(params):
            op = draw(st.sampled_from(["keep", "keep", "drop", "value", "type", "rename"]))
            if op == "drop":
                del params[k]
            elif op == "value":
                params[k] = draw(json_values)
            elif op == "type":
                changes = _type_changes(params[k])
                params[k] = draw(st.sampled_from(changes)) if changes else params[k]
            elif op == "rename":
                params[k + "_"] = params.pop(k)
        if draw(st.booleans()) and draw(st.booleans()):
            params[draw(st.sampled_from(["a", "extra"]))] = draw(json_values)
        if draw(st.integers(0, 9)) == 0:
            call["name"] = draw(st.sampled_from([call["name"] + "2", None, 1, "unrelated"]))
        out.append(call)
    return gt, out


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
@needs_rlla
def test_hypothesis_mutated_calls_score_like_rlla(data):
    gt, calls = data.draw(mutated_calls())
    assert_parity(render(calls, reply=split_gt(gt)[2]), gt)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gt=st.sampled_from(GTS),
       edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 3), st.sampled_from(TOKENS)), max_size=4))
@needs_rlla
def test_hypothesis_text_edits_score_like_rlla(gt, edits):
    text = gt
    for where, length, token in edits:
        i = int(where * len(text))
        text = text[:i] + token + text[i + length:]  # replace `length` characters at i by a token
    assert_parity(text, gt)


# --- optimal matching -----------------------------------------------------------------------------

MULTI_SAME_NAME = [g for g in CALL_GTS if len(split_gt(g)[1]) > len({c["name"] for c in split_gt(g)[1]})]


@needs_rlla
def test_greedy_depends_on_call_order_and_optimal_does_not():
    gt = render([{"name": "f", "parameters": {"a": 1}}, {"name": "f", "parameters": {"a": 1, "b": 2}}])
    preds = [{"name": "f", "parameters": {"a": 1, "b": 2}}, {"name": "f", "parameters": {"a": 1, "c": 3}}]
    greedy = [ours(render(p), gt)["correctness"] for p in (preds, preds[::-1])]
    optimal = [ours(render(p), gt, matching="optimal")["correctness"] for p in (preds, preds[::-1])]
    assert greedy[0] != greedy[1]  # the first gold call takes whichever tie comes first
    assert greedy == [rlla_score(render(p), gt)["accuracy_reward"] for p in (preds, preds[::-1])]
    assert optimal[0] == optimal[1] == max(greedy)


def test_optimal_beats_greedy_when_greedy_steals_a_partner():
    gt = render([{"name": "f", "parameters": {"a": 1}}, {"name": "f", "parameters": {"a": 1, "b": 2}}])
    pred = render([{"name": "f", "parameters": {"a": 1, "b": 2}}, {"name": "f", "parameters": {"a": 7}}])
    greedy, optimal = ours(pred, gt)["correctness"], ours(pred, gt, matching="optimal")["correctness"]
    # greedy: gold 1 takes pred 1 (0.5 + 1) and leaves gold 2 with pred 2 (0.5); optimal pairs 1-2 (1), 2-1 (3)
    assert greedy == pytest.approx(6 * (1 + 1.5 + 0.5) / 6 - 3)
    assert optimal == pytest.approx(6 * (1 + 1 + 3) / 6 - 3)


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_optimal_is_order_independent_and_never_below_greedy(data):
    gt, calls = data.draw(mutated_calls(data.draw(st.sampled_from(MULTI_SAME_NAME + CALL_GTS[:10]))))
    shuffled = data.draw(st.permutations(calls))
    reply = split_gt(gt)[2]
    opt = ours(render(calls, reply=reply), gt, matching="optimal")
    opt_shuffled = ours(render(shuffled, reply=reply), gt, matching="optimal")
    greedy = ours(render(calls, reply=reply), gt)
    assert opt["correctness"] == pytest.approx(opt_shuffled["correctness"], abs=1e-12)
    assert opt["correctness"] >= greedy["correctness"] - 1e-12
    assert opt["format"] == greedy["format"]


# --- ablations ------------------------------------------------------------------------------------

GT2 = render([{"name": "f", "parameters": {"a": 1, "b": "x"}}, {"name": "g", "parameters": {"c": [1, 2]}}])
EXACT = GT2
PARTIAL = render([{"name": "f", "parameters": {"a": 1, "b": "y"}}, {"name": "g", "parameters": {"c": [1, 2]}}])
REORDERED = render([{"name": "g", "parameters": {"c": [1, 2]}}, {"name": "f", "parameters": {"a": 1, "b": "x"}}])
NO_CALL = "<think>t</think>\n<response>no</response>"
# PARTIAL: S = 1 (names) + (1 + 1) + (1 + 1) = 5 of S_max = 1 + 3 + 2 = 6
PARTIAL_S = 5 / 6


@needs_rlla
def test_defaults_on_the_ablation_fixtures():
    assert ours(PARTIAL, GT2)["correctness"] == pytest.approx(6 * PARTIAL_S - 3)
    assert ours(REORDERED, GT2)["correctness"] == 3.0  # names match as a multiset, every call fully
    for text in (EXACT, PARTIAL, REORDERED, NO_CALL):
        assert_parity(text, GT2)


def test_correctness_max_one_scales_correctness_to_plus_minus_one():
    assert ours(PARTIAL, GT2, correctness_max_one=True)["correctness"] == pytest.approx(2 * PARTIAL_S - 1)
    assert ours(EXACT, GT2, correctness_max_one=True)["correctness"] == 1.0
    assert ours(NO_CALL, GT2, correctness_max_one=True)["correctness"] == -1.0


def test_coarse_gives_the_minimum_to_anything_but_an_exact_match():
    assert ours(PARTIAL, GT2, coarse=True)["correctness"] == -3.0
    assert ours(EXACT, GT2, coarse=True)["correctness"] == 3.0
    assert ours(REORDERED, GT2, coarse=True)["correctness"] == -3.0  # ToolRL compares the lists in order
    assert ours(REORDERED, GT2, coarse=True, matching="optimal")["correctness"] == 3.0


def test_strict_names_gives_no_partial_credit_for_name_lists():
    # reordered calls: the name lists differ in order, so the name term drops from 1 to 0
    assert ours(REORDERED, GT2, strict_names=True)["correctness"] == pytest.approx(6 * 5 / 6 - 3)
    assert ours(REORDERED, GT2, strict_names=True, matching="optimal")["correctness"] == 3.0
    # a renamed parameter: key Jaccard 1/3 becomes 0
    renamed = render([{"name": "f", "parameters": {"a": 1, "bb": "x"}}, {"name": "g", "parameters": {"c": [1, 2]}}])
    default, strict = ours(renamed, GT2)["correctness"], ours(renamed, GT2, strict_names=True)["correctness"]
    assert default == pytest.approx(6 * (1 + (1 / 3 + 1) + 2) / 6 - 3)
    assert strict == pytest.approx(6 * (1 + (0 + 1) + 2) / 6 - 3)


def test_per_call_credits_only_exactly_right_calls():
    # f is wrong in one value, g is exact: S = 1 (names) + 0 + 1 of S_max = 1 + 2
    assert ours(PARTIAL, GT2, per_call=True)["correctness"] == pytest.approx(6 * 2 / 3 - 3)
    # a same-name call without "parameters" makes default ToolRL fail to the minimum, not per_call
    broken = render([{"name": "f"}, {"name": "g", "parameters": {"c": [1, 2]}}])
    assert ours(broken, GT2)["correctness"] == -3.0
    assert ours(broken, GT2, per_call=True)["correctness"] == pytest.approx(6 * 2 / 3 - 3)


def test_dynamic_schedule_moves_the_bounds_linearly_then_stops():
    expect = {0: (2.0, -2.0, 2.0, -2.0), 75: (1.5, -1.0, 2.5, -2.5), 150: (1.0, -1.0, 3.0, -3.0),
              400: (1.0, -1.0, 3.0, -3.0)}
    for step, (fmax, fmin, cmax, cmin) in expect.items():
        good = ours(EXACT, GT2, {"global_steps": step}, schedule="dynamic")
        bad = ours("no tags", GT2, {"global_steps": step}, schedule="dynamic")
        assert (good["format"], bad["format"], good["correctness"], bad["correctness"]) == (fmax, fmin, cmax, cmin)
    mid = ours(PARTIAL, GT2, {"global_steps": 75}, schedule="dynamic")["correctness"]
    assert mid == pytest.approx(5.0 * PARTIAL_S - 2.5)
    validation = {"global_steps": 0, "split": "test"}
    assert ours(EXACT, GT2, validation, schedule="dynamic")["format"] == 1.0  # validation: the final bounds
    with pytest.raises(ConfigError):
        ours(EXACT, GT2, {"split": "train"}, schedule="dynamic")
    assert ours(EXACT, GT2, None, schedule="dynamic", missing_step="warn")["format"] == 2.0  # step 0


def test_two_stage_schedule_switches_at_step_30():
    early = ours(PARTIAL, GT2, {"global_steps": 29}, schedule="two_stage")
    late = ours(PARTIAL, GT2, {"global_steps": 30}, schedule="two_stage")
    assert early["correctness"] == pytest.approx(2 * PARTIAL_S - 1) and early["format"] == 1.0
    assert late["correctness"] == pytest.approx(6 * PARTIAL_S - 3) and late["format"] == 0.5


def test_think_length_weight_adds_the_length_reward():
    words = " ".join(["w"] * 256)
    text = EXACT.replace(THINK, f"<think>{words}</think>")
    base = ours(text, GT2)
    with_len = ours(text, GT2, think_length_weight=1.0)
    assert base["think_length"] == 0.0 and with_len["think_length"] == 0.5
    assert with_len["score"] == pytest.approx(base["score"] + 0.5)
    assert ours(text, GT2, think_length_weight=2.0)["score"] == pytest.approx(base["score"] + 1.0)
    dyn = ours(text, GT2, {"global_steps": 105}, think_length_weight=1.0, think_length_dynamic=True)
    assert dyn["think_length"] == 0.4  # target 640 words at step 105
    assert think_length("no think tags", 512) == 0.0
    assert think_length("<think>" + "w " * 2000 + "</think>", 512) == 1.0


@settings(max_examples=examples(1000), deadline=None)
@given(st.lists(st.sampled_from("fghk"), max_size=12), st.lists(st.sampled_from("fghk"), max_size=12))
def test_multiset_jaccard_equals_its_counter_definition(a, b):
    from collections import Counter

    def definition(a, b):
        ca, cb = Counter(a), Counter(b)
        union = sum((ca | cb).values())
        return sum((ca & cb).values()) / union if union else 1.0

    assert multiset_jaccard(a, b) == definition(a, b) == multiset_jaccard(b, a)
    many = a * 10  # past the scan limit: the counting branch
    assert multiset_jaccard(many, b) == definition(many, b) == multiset_jaccard(b, many)


def test_bounds_and_config_validation():
    assert bounds_at(ToolRLOptions(), None) == bounds_at(ToolRLOptions(), 10**6)
    for bad in ({"matching": "hungarian"}, {"schedule": "cosine"}, {"coarse": True, "per_call": True}):
        with pytest.raises(ValueError):
            ours(EXACT, GT2, **bad)
    assert multiset_jaccard([], []) == 1.0 and multiset_jaccard(["a"], []) == 0.0


# --- other formats and our JSON ground truth --------------------------------------------------------


def test_other_output_formats_use_their_own_shape_check():
    gt_json = {"calls": [{"name": "f", "arguments": {"a": 1, "b": "x"}}, {"name": "g", "arguments": {"c": [1, 2]}}]}
    for name in ("hermes", "answer"):
        fmt = get_format(name)
        calls = get_format("toolrl").parse(EXACT).calls
        good = ours(fmt.render(calls, think="t"), json.dumps(gt_json), output_format=name)
        assert (good["format"], good["correctness"]) == (1.0, 3.0)
        broken = ours("<think>t</think><tool_call>{oops</tool_call>", json.dumps(gt_json), output_format=name)
        assert (broken["format"], broken["correctness"], broken["parse_ok"]) == (0.0, -3.0, float(name == "answer"))


def test_json_ground_truth_chooses_the_toolrl_layout_from_calls_and_answer():
    no_call = json.dumps({"calls": [], "answer": "Which city?"})
    assert ours("<think>t</think>\n<response>Which city?</response>", no_call)["format"] == 1.0
    assert ours("<think>t</think>", no_call)["format"] == 0.0
    assert ours("<think>t</think>\n<response>x</response>", no_call)["correctness"] == 0.0
    both = json.dumps({"calls": [{"name": "f", "arguments": {}}], "answer": "Done."})
    text = '<think>t</think>\n<tool_call>\n{"name": "f", "parameters": {}}\n</tool_call>\n<response>Done.</response>'
    assert (ours(text, both)["format"], ours(text, both)["correctness"]) == (1.0, 3.0)


NO_CALL_JSON = json.dumps({"calls": [], "answer": "Which city?",
                           "tools": [{"name": "f", "parameters": {"properties": {"a": {"type": "integer"}}}}]})
NO_CALL_RESPONSES = {  # output format -> (abstention, a call, broken call syntax)
    "answer": ("<think>t</think><answer>Which city?</answer>", "<think>t</think><answer>[f(a=1)]</answer>",
               "<think>t</think><answer>[f(a=1</answer>"),
    "hermes": ("Which city?", '<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>',
               '<tool_call>\n{"name": "f", "arguments": {"a": 1}\n</tool_call>'),
}


@pytest.mark.parametrize("fmt", sorted(NO_CALL_RESPONSES))
def test_no_call_rule_outside_the_toolrl_format_is_strict_by_default(fmt):
    """The format term of these formats cannot tell an abstention from a call, so rlla's correctness
    of 0 for everything would tie them; the strict rule gives a call or broken syntax the minimum."""
    abstain, call, broken = NO_CALL_RESPONSES[fmt]
    for rule in ("auto", "strict"):
        got = [ours(r, NO_CALL_JSON, output_format=fmt, no_call_rule=rule)["correctness"]
               for r in (abstain, call, broken)]
        assert got == [0.0, -3.0, -3.0], rule
    rlla_rule = [ours(r, NO_CALL_JSON, output_format=fmt, no_call_rule="rlla")["correctness"]
                 for r in (abstain, call, broken)]
    assert rlla_rule == [0.0, 0.0, 0.0]


def test_no_call_rule_in_the_toolrl_format_keeps_rlla_by_default():
    reply_with_call = ('<think>t</think>\n<response><tool_call>\n{"name": "f", "parameters": {"a": 1}}\n</tool_call>'
                       '</response>')
    abstain = "<think>t</think>\n<response>Which city?</response>"
    assert ours(reply_with_call, NO_CALL_JSON)["score"] == ours(abstain, NO_CALL_JSON)["score"] == 1.0  # rlla's tie
    strict = ours(reply_with_call, NO_CALL_JSON, no_call_rule="strict")
    assert (strict["correctness"], strict["score"]) == (-3.0, -2.0)
    assert ours(abstain, NO_CALL_JSON, no_call_rule="strict")["score"] == 1.0
    with pytest.raises(ConfigError, match="no_call_rule"):
        ours(abstain, NO_CALL_JSON, no_call_rule="lenient")


@needs_rlla
def test_hostile_responses_are_scored_quickly():
    import time

    for text in ("<think>" * 5000, "[" * 30000, THINK + "\n<tool_call>\n" + "{\"a\":" * 5000 + "\n</tool_call>",
                 "<think>" + "</think>\n<tool_call>\n" * 1500, "x" * (10**6)):
        start = time.perf_counter()
        r = ours(text, GT2)
        assert time.perf_counter() - start < 0.5
        if len(text) <= 32 * 1024:
            assert_parity(text, GT2)
        else:  # beyond the parse limit: a parse failure, unread (rlla would read it)
            assert (r["format"], r["correctness"], r["parse_ok"]) == (0.0, -3.0, 0.0)
