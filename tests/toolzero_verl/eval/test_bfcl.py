"""The evaluator on BFCL v3's own data (the shared BFCL folder, tests/conftest.py) and on a small synthetic BFCL
folder with
the live categories: answer-key generations, prose, the perturbations BFCL's ast_checker.py distinguishes
§1.3-§1.5, the v3 summary formulas (§5.1) and the rendered prompts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.formats import FORMATS, get_format
from toolzero_verl.core.ground_truth import load_ground_truth
from toolzero_verl.eval import bfcl
from toolzero_verl.eval.generations import Generation, Generations
from toolzero_verl.eval.score import ScoreOptions, score_rows

COUNTS = {"simple": 400, "multiple": 200, "parallel": 200, "parallel_multiple": 200, "irrelevance": 240}
# Answer-key replays that fail, with the reason (docs/eval.md §6).
EXPECTED_REPLAY_FAILURES = {
    "parallel_multiple_26": (
        "parallel_function_checker_no_order:cannot_find_match",
        "simple_function_checker:unexpected_param",
    ),
}
PROSE = "None of the functions can answer that, sorry."


@pytest.fixture(scope="module")
def data(shared_dir: Path) -> bfcl.BfclData:
    return bfcl.load_bfcl(shared_dir / "bfcl" / "v3")


@pytest.fixture(scope="module")
def rows(data):
    return bfcl.build_rows(data.entries, "answer", with_prompt=False)


def gold_calls(row) -> tuple[ToolCall, ...]:
    return load_ground_truth(row["reward_model"]["ground_truth"]).calls


def generations(rows, make: Callable[[dict], str | None]) -> Generations:
    """One generation per row from ``make(row)``; rows for which it returns None get none."""
    gens = Generations()
    for n, row in enumerate(rows, start=1):
        text = make(row)
        if text is not None:
            gens.items.append(Generation(("id", row["extra_info"]["id"]), text, n))
    return gens


def score(rows, make, fmt="answer", partial=False):
    report = score_rows(rows, generations(rows, make), ScoreOptions(output_format=fmt, partial=partial))
    return report, bfcl.category_results(report)


def test_loads_every_category_with_its_answer_key(data):
    assert data.version == "v3" and data.skipped_files == []
    counts = {}
    for e in data.entries:
        counts[e.category] = counts.get(e.category, 0) + 1
        assert (e.answer is None) == (e.category == "irrelevance")
    assert counts == COUNTS


@pytest.mark.parametrize("fmt_name", sorted(FORMATS))
def test_answer_key_generations_pass_in_every_category(rows, fmt_name):
    fmt = get_format(fmt_name)
    def respond(r):  # prose only where no call is due (a toolrl reply beside calls breaks ToolRL's layout)
        calls = gold_calls(r)
        return fmt.render(calls, None if calls else PROSE, think="reasoning")

    report, results = score(rows, respond, fmt_name)
    assert set(results) == set(COUNTS)
    for cat, r in results.items():
        assert r.total == COUNTS[cat]
        assert r.accuracy >= 0.99, (cat, r.errors)
    failures = {f.row.key: (f.error, f.detail) for f in report.failures}
    assert failures == EXPECTED_REPLAY_FAILURES
    assert report.counts["malformed_lines"] == report.counts["unmatched_lines"] == 0
    # GG-GRPO on a test row uses σ = 1: its `ast` component is exactly the strict accuracy
    assert all(s.components["ast"] == float(s.correct) for s in report.scores)
    assert all(s.components["format"] == 1.0 and s.parse_ok for s in report.scores)


def test_the_one_replay_failure_is_passable_by_omitting_the_optional_parameter(rows):
    row = next(r for r in rows if r["extra_info"]["id"] == "parallel_multiple_26")
    fixed = [ToolCall(c.name, {k: v for k, v in c.arguments.items() if k != "type"}) for c in gold_calls(row)]
    report, _ = score([row], lambda r: get_format("answer").render(fixed))
    assert report.overall.accuracy == 1.0


def test_simple_entries_are_checked_against_the_function_doc_name(rows):
    # simple_363's answer key names `find_closest`; BFCL's simple checker uses the doc's name.
    row = next(r for r in rows if r["extra_info"]["id"] == "simple_363")
    (call,) = gold_calls(row)
    assert call.name == "restaurant_search.find_closest"
    short = ToolCall("find_closest", call.arguments)
    report, _ = score([row], lambda r: get_format("answer").render([short]))
    assert [f.error for f in report.failures] == ["simple_function_checker:wrong_func_name"]


@pytest.mark.parametrize("fmt_name", sorted(FORMATS))
def test_prose_is_right_on_irrelevance_only(rows, fmt_name):
    report, results = score(rows, lambda r: get_format(fmt_name).render((), PROSE, think="no tool fits"), fmt_name)
    assert {c: r.accuracy for c, r in results.items()} == {c: (1.0 if c == "irrelevance" else 0.0) for c in COUNTS}
    assert report.overall.kinds == {"no_call": sum(COUNTS.values()) - COUNTS["irrelevance"]}


# --- perturbations (BFCL's checks, one each) ------------------------------------------------------------


def _perturb(rows, change: Callable[[dict, list[ToolCall]], list[ToolCall] | None], fmt="answer"):
    """Score the rows where ``change`` applies (returns calls); the others are left out."""
    chosen, texts = [], {}
    for r in rows:
        calls = change(r, list(gold_calls(r)))
        if calls is not None:
            chosen.append(r)
            texts[r["extra_info"]["id"]] = get_format(fmt).render(calls, PROSE)
    assert len(chosen) >= 5, "too few entries to which the perturbation applies"
    report, results = score(chosen, lambda r: texts[r["extra_info"]["id"]], fmt)
    return report, results


def _schema(row, name):
    return load_ground_truth(row["reward_model"]["ground_truth"]).schema(name)["parameters"]


def _single(cats=("simple", "multiple")):
    def only(change):
        def wrapped(row, calls):
            if row["extra_info"]["category"] not in cats or row["extra_info"]["id"] == "parallel_multiple_26":
                return None
            return change(row, calls)
        return wrapped
    return only


def _drop_required(row, calls):
    (c,) = calls
    req = [p for p in _schema(row, c.name).get("required", []) if p in c.arguments]
    return [ToolCall(c.name, {k: v for k, v in c.arguments.items() if k != req[0]})] if req else None


def _float_for_integer(row, calls):
    (c,) = calls
    props = _schema(row, c.name)["properties"]
    for k, v in c.arguments.items():
        if props.get(k, {}).get("type") == "integer" and type(v) is int:
            return [ToolCall(c.name, {**c.arguments, k: float(v)})]
    return None


def _int_for_float(row, calls):
    (c,) = calls
    props = _schema(row, c.name)["properties"]
    for k, v in c.arguments.items():
        if props.get(k, {}).get("type") == "float" and type(v) is float and v.is_integer():
            return [ToolCall(c.name, {**c.arguments, k: int(v)})]
    return None


def _string_edit(edit):
    def change(row, calls):
        (c,) = calls
        for k, v in c.arguments.items():
            if type(v) is str and v.strip():
                return [ToolCall(c.name, {**c.arguments, k: edit(v)})]
        return None
    return change


def _int_plus(row, calls):
    (c,) = calls
    possible = next(iter(load_ground_truth(row["reward_model"]["ground_truth"]).possible_answers[0].values()))
    for k, v in c.arguments.items():
        if type(v) is int and v + 1000 not in possible[k]:
            return [ToolCall(c.name, {**c.arguments, k: v + 1000})]
    return None


def _only_parallel(change):
    def wrapped(row, calls):
        return change(row, calls) if len(calls) >= 2 and row["extra_info"]["id"] != "parallel_multiple_26" else None
    return wrapped


PERTURBATIONS = {
    # name: (change, output format, expected accuracy, expected error kind of every failure)
    "parallel calls reversed": (_only_parallel(lambda r, c: c[::-1]), "answer", 1.0, None),
    "a parallel call dropped": (_only_parallel(lambda r, c: c[:-1]), "answer", 0.0, "wrong_count"),
    "a call duplicated": (_single()(lambda r, c: c + c), "answer", 0.0, "wrong_count"),
    "function renamed": (
        _single()(lambda r, c: [ToolCall(c[0].name + "_v2", c[0].arguments)]), "answer", 0.0, "wrong_name",
    ),
    "dots to underscores": (
        _single()(lambda r, c: [ToolCall(c[0].name.replace(".", "_"), c[0].arguments)] if "." in c[0].name else None),
        "answer", 0.0, "wrong_name",
    ),
    "required parameter dropped": (_single()(_drop_required), "answer", 0.0, "missing_required"),
    "unexpected parameter added": (
        _single()(lambda r, c: [ToolCall(c[0].name, {**c[0].arguments, "zz_extra": 1})]),
        "answer", 0.0, "unexpected_param",
    ),
    "float for an integer (JSON 10.0)": (_single()(_float_for_integer), "hermes", 0.0, "type_error"),
    "int for a float": (_single()(_int_for_float), "hermes", 1.0, None),
    "string case and punctuation": (_single()(_string_edit(lambda v: v.upper() + ".")), "answer", 1.0, None),
    "string changed": (_single()(_string_edit(lambda v: v + " zzqx")), "answer", 0.0, "value_error"),
    "number changed": (_single()(_int_plus), "answer", 0.0, "value_error"),
    "call on an irrelevance turn": (
        lambda r, c: [ToolCall(json.loads(r["reward_model"]["ground_truth"])["tools"][0]["name"], {})]
        if r["extra_info"]["category"] == "irrelevance" else None,
        "answer", 0.0, "call_on_no_call",
    ),
}


@pytest.mark.parametrize("name", list(PERTURBATIONS))
def test_perturbations_score_as_bfcl_does(rows, name):
    change, fmt, accuracy, kind = PERTURBATIONS[name]
    report, _ = _perturb(rows, change, fmt)
    assert report.overall.accuracy == accuracy
    assert set(report.overall.kinds) == ({kind} if kind else set())


def test_an_unparseable_call_list_fails_call_turns_but_passes_irrelevance(rows):
    report, results = score(rows, lambda r: "<think>x</think><answer>[f(a=1), g(</answer>")
    assert results["irrelevance"].accuracy == 1.0  # BFCL's number: a parse failure is no call
    assert all(results[c].accuracy == 0.0 for c in COUNTS if c != "irrelevance")
    assert report.overall.kinds == {"parse_failure": 1000}
    assert set(report.overall.bfcl_errors) == {"ast_decoder:decoder_failed"}
    # ... and every one of those irrelevance passes is reported as credit for a parse failure
    credited = {c: (r.credited_parse_failures, r.accuracy_without_parse_failure_credit) for c, r in results.items()}
    assert credited == {c: ((240, 0.0) if c == "irrelevance" else (0, 0.0)) for c in COUNTS}
    assert all(s.components["ast"] == 0.0 for s in report.scores)  # the training reward never credits it
    text = bfcl.format_bfcl(report, results, bfcl.BfclData([], [], "v3"))
    assert "pf_cred" in text and "acc-pf%" in text
    irrelevance_line = next(line for line in text.splitlines() if line.startswith("irrelevance "))
    assert irrelevance_line.split()[1:5] == ["240", "100.00", "240", "0.00"]
    categories = bfcl.bfcl_json(report, results, bfcl.BfclData([], [], "v3"))["categories"]
    assert categories["irrelevance"]["credited_parse_failures"] == 240
    irrelevance = categories["irrelevance"]
    assert irrelevance["accuracy"] == 1.0 and irrelevance["accuracy_without_parse_failure_credit"] == 0.0


@pytest.mark.parametrize("fmt_name", sorted(FORMATS))
def test_prose_and_calls_on_irrelevance_are_never_parse_failure_credit(rows, fmt_name):
    irrelevance = [r for r in rows if r["extra_info"]["category"] == "irrelevance"]
    fmt = get_format(fmt_name)
    _, prose = score(irrelevance, lambda r: fmt.render((), PROSE, think="no tool fits"), fmt_name)
    assert (prose["irrelevance"].accuracy, prose["irrelevance"].credited_parse_failures) == (1.0, 0)
    assert prose["irrelevance"].accuracy_without_parse_failure_credit == 1.0
    # half broken, half prose: BFCL's accuracy 1.0; without the credit 0.5
    def half(r):
        if r["extra_info"]["index"] % 2:
            return fmt.render((), PROSE, think="no tool fits")
        broken = "<think>x</think><answer>[f(a=1</answer>"
        return broken if fmt_name == "answer" else "<tool_call>\n{\"name\": \n</tool_call>"
    _, mixed = score(irrelevance, half, fmt_name)
    r = mixed["irrelevance"]
    assert (r.accuracy, r.credited_parse_failures, r.accuracy_without_parse_failure_credit) == (1.0, 120, 0.5)


def test_missing_generations_count_as_failures_unless_partial(rows):
    subset = [r for r in rows if r["extra_info"]["category"] == "multiple"]
    half = lambda r: get_format("answer").render(gold_calls(r)) if r["extra_info"]["index"] % 2 else None  # noqa: E731
    _, full = score(subset, half)
    _, partial = score(subset, half, partial=True)
    assert full["multiple"].total == 200 and full["multiple"].accuracy == 0.5
    assert full["multiple"].kinds == {"no_generation": 100}
    assert partial["multiple"].total == 100 and partial["multiple"].accuracy == 1.0


# --- summary formulas (docs/eval.md §4) ----------------------------------------------------------------


def _result(cat, correct, total):
    from collections import Counter

    return bfcl.CategoryResult(cat, total, correct, Counter(), Counter())


def test_v3_summary_formulas():
    results = {
        "simple": _result("simple", 300, 400), "multiple": _result("multiple", 150, 200),
        "parallel": _result("parallel", 100, 200), "parallel_multiple": _result("parallel_multiple", 50, 200),
        "irrelevance": _result("irrelevance", 240, 240),
        "live_simple": _result("live_simple", 129, 258), "live_multiple": _result("live_multiple", 1053, 1053),
        "live_irrelevance": _result("live_irrelevance", 441, 882),
    }
    s = bfcl.v3_summary(results)
    o, p = s["official"], s["python_only"]
    simple_ast = (0.75 + 0 + 0) / 3  # java and javascript are not run: 0
    assert o["simple_ast"] == pytest.approx(simple_ast)
    assert o["non_live_ast"] == pytest.approx((simple_ast + 0.75 + 0.5 + 0.25) / 4)
    assert o["non_live_overall"] == pytest.approx((simple_ast + 0.75 + 0.5 + 0.25 + 1.0) / 5)
    assert p["non_live_ast"] == pytest.approx((0.75 + 0.75 + 0.5 + 0.25) / 4)
    assert o["live_ast"] == pytest.approx((129 + 1053) / (258 + 1053))  # count-weighted
    assert o["live_overall"] == pytest.approx((129 + 1053 + 441) / (258 + 1053 + 882))
    assert o["irrelevance_detection"] == pytest.approx((1.0 + 0.5) / 2)
    assert o["relevance_detection"] is None
    assert s["missing_categories"] == ["live_parallel", "live_parallel_multiple", "live_relevance"]


def test_v3_summary_without_live_categories_reports_none():
    s = bfcl.v3_summary({"simple": _result("simple", 1, 1)})
    assert s["official"]["live_ast"] is None and s["official"]["live_overall"] is None
    assert s["python_only"]["non_live_ast"] == pytest.approx(0.25)


# --- a synthetic folder with live and v4-named categories -------------------------------------------


def _doc(name, required=("city",)):
    return {"name": name, "description": "d", "parameters": {"type": "dict", "required": list(required),
            "properties": {"city": {"type": "string", "description": "c"},
                           "days": {"type": "integer", "description": "n"}}}}


@pytest.fixture()
def live_dir(tmp_path: Path) -> Path:
    def write(name, lines):
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_text("".join(json.dumps(x) + "\n" for x in lines))

    q = lambda i, msgs, docs: {"id": i, "question": [msgs], "function": docs}  # noqa: E731
    user = [{"role": "user", "content": "Weather in Paris for 3 days?"}]
    write("BFCL_v4_simple_python.json", [q("simple_python_0", user, [_doc("weather.get")])])
    write("possible_answer/BFCL_v4_simple_python.json",
          [{"id": "simple_python_0", "ground_truth": [{"weather.get": {"city": ["Paris"], "days": [3, ""]}}]}])
    sys_user = [{"role": "system", "content": "Be brief."}] + user
    write("BFCL_v4_live_simple.json",
          [q("live_simple_0-0-0", sys_user, [_doc("w")]), q("live_simple_1-1-0", user, [_doc("w")])])
    write("possible_answer/BFCL_v4_live_simple.json", [
        {"id": "live_simple_0-0-0", "ground_truth": [{"w": {"city": ["Paris"], "days": [3]}}]},
        {"id": "live_simple_1-1-0", "ground_truth": [{"w": {"city": ["Rome"], "days": [""]}}]},
    ])
    write("BFCL_v4_live_relevance.json", [q("live_relevance_0-0-0", user, [_doc("w")])])
    write("BFCL_v4_live_irrelevance.json", [q("live_irrelevance_0-0-0", user, [_doc("w")])])
    write("BFCL_v4_simple_java.json", [q("simple_java_0", user, [_doc("w")])])
    return tmp_path


def test_live_and_v4_files_load_and_score(live_dir):
    data = bfcl.load_bfcl(live_dir)
    assert data.version == "v4" and data.skipped_files == ["BFCL_v4_simple_java.json"]
    assert [e.category for e in data.entries] == [
        "simple", "live_simple", "live_simple", "live_irrelevance", "live_relevance"]
    rows = bfcl.build_rows(data.entries, "answer")
    texts = {
        "simple_python_0": "[weather.get(city='paris', days=3)]",
        "live_simple_0-0-0": "[w(city='Paris', days=3)]",
        "live_simple_1-1-0": "[w(city='Rome', days=3)]",  # days' only allowed value is "": must be omitted
        "live_irrelevance_0-0-0": "I cannot do that.",
        "live_relevance_0-0-0": "[w(city='Anything')]",  # relevance: any call is right
    }
    report, results = score(rows, lambda r: f"<think></think><answer>{texts[r['extra_info']['id']]}</answer>")
    assert {c: r.accuracy for c, r in results.items()} == {
        "simple": 1.0, "live_simple": 0.5, "live_irrelevance": 1.0, "live_relevance": 1.0,
    }
    summary = bfcl.v3_summary(results)["official"]
    assert summary["live_ast"] == 0.5 and summary["live_overall"] == pytest.approx(3 / 4)
    assert summary["relevance_detection"] == 1.0
    # relevance without a call fails with BFCL's error
    report, results = score(rows, lambda r: "<think></think><answer>No.</answer>", partial=False)
    assert results["live_relevance"].errors == {"relevance_error:decoder_failed": 1}


def test_prompts_use_the_training_system_prompt_and_keep_the_entry_system_message(live_dir):
    from toolzero_verl.core.prompt import system_prompt

    data = bfcl.load_bfcl(live_dir, ["live_simple"])
    row = bfcl.build_rows(data.entries, "hermes")[0]
    assert row["data_source"] == "bfcl_live_simple"
    assert row["extra_info"] == {"split": "test", "index": 0, "id": "live_simple_0-0-0", "category": "live_simple",
                                 "output_format": "hermes"}
    shown = [{**_doc("w"), "parameters": {**_doc("w")["parameters"], "type": "object"}}]
    assert row["prompt"] == [
        {"role": "system", "content": system_prompt(shown, "hermes") + "\n\nBe brief."},
        {"role": "user", "content": "Weather in Paris for 3 days?"},
    ]
    gt = json.loads(row["reward_model"]["ground_truth"])
    assert gt["tools"] == [_doc("w")] and gt["possible_answers"] == [{"w": {"city": ["Paris"], "days": [3]}}]


def test_missing_folder_or_answer_key_is_an_error(tmp_path, live_dir):
    with pytest.raises(bfcl.BfclDataError, match="BFCL directory not found"):
        bfcl.load_bfcl(tmp_path / "nope")
    (live_dir / "possible_answer" / "BFCL_v4_live_simple.json").unlink()
    with pytest.raises(bfcl.BfclDataError, match="answer key .*BFCL_v4_live_simple.json missing"):
        bfcl.load_bfcl(live_dir)
    with pytest.raises(bfcl.BfclDataError, match="unknown BFCL categories"):
        bfcl.load_bfcl(live_dir, ["multi_turn_base"])


def test_bfcl_error_names_follow_the_category_checker():
    assert bfcl.bfcl_error("simple_function_checker:wrong_count", "multiple") == "multiple_function_checker:wrong_count"
    assert bfcl.bfcl_error("simple_function_checker:wrong_count", "live_simple") == (
        "simple_function_checker:wrong_count")
    assert bfcl.bfcl_error("simple_function_checker:wrong_count", "parallel_multiple") == (
        "parallel_function_checker_no_order:wrong_count")
