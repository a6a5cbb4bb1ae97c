"""toolzero-eval under hostile input, generated here: records (generation lines, BFCL lines, parquet rows)
are reported and skipped; options and paths fail fast with exit 2 and one line naming the problem.

Each test is a regression for one reported failure (docs/eval.md, "What fails and what is skipped").
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from toolzero_verl.core.options import ConfigError
from toolzero_verl.eval import bfcl
from toolzero_verl.eval.cli import EXIT_BAD_INPUT, main
from toolzero_verl.eval.generations import join, parse_lines
from toolzero_verl.eval.jsonl import json_lines
from toolzero_verl.eval.score import ScoreOptions, load_rows, score_rows

TOOL = {"name": "f", "description": "d", "parameters": {"type": "dict", "required": ["x"],
                                                         "properties": {"x": {"type": "integer", "description": "x"}}}}
RIGHT = "<think>t</think><answer>[f(x=1)]</answer>"


def gt(calls=({"name": "f", "arguments": {"x": 1}},)) -> str:
    return json.dumps({"calls": list(calls), "tools": [TOOL]})


def row(index: int, ground_truth, **extra) -> dict:
    return {"data_source": "t", "prompt": [{"role": "user", "content": "q"}], "ability": "tool_call",
            "reward_model": {"style": "rule", "ground_truth": ground_truth},
            "extra_info": {"split": "test", "index": index, **extra}}


def write_parquet(rows, path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    return lines[0]


# --- rows without a generation ------------------------------------------------------------------------


def test_rows_without_a_generation_get_no_invented_reward():
    # two call rows answered right, two no-call rows unanswered: an empty response would be a right
    # no-call answer (ast = 1), which used to lift the mean `ast` above the accuracy
    rows = [row(0, gt()), row(1, gt()), row(2, gt(())), row(3, gt(()))]
    gens = parse_lines([json.dumps({"index": i, "response": RIGHT}) for i in (0, 1)])
    report = score_rows(rows, gens)
    overall = report.overall.to_dict()
    assert overall["accuracy"] == 0.5 and overall["rows"] == 4 and overall["answered_rows"] == 2
    assert overall["components"]["ast"] == 1.0  # the two answered rows, both right
    assert report.counts["rows_counted_as_missing"] == 2 and overall["errors"] == {"no_generation": 2}
    assert overall["parse_failure_rate"] == 0.0 and overall["responses"] == 2

    nothing = score_rows(rows, parse_lines([])).overall.to_dict()
    assert nothing["accuracy"] == 0.0 and nothing["components"] == {} and nothing["answered_rows"] == 0


# --- BFCL files -----------------------------------------------------------------------------------------


def write_lines(path: Path, lines) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")


def question(ident, **over):
    q = {"id": ident, "question": [[{"role": "user", "content": "call f"}]], "function": [TOOL]}
    q.update(over)
    return q


def answer(ident, **over):
    a = {"id": ident, "ground_truth": [{"f": {"x": [1]}}]}
    a.update(over)
    return a


HOSTILE_QUESTIONS = [
    ("{not json", "not_json"),
    ([1, 2], "not_object"),
    ({"question": [[{"role": "user", "content": "q"}]], "function": [TOOL]}, "no_id"),
    (question(7), "no_id"),
    (question("simple_python_3", question="call f"), "bad_question"),
    (question("simple_python_4", question=[[{"role": "user", "content": 5}]]), "bad_question"),
    (question("simple_python_5", question=[[], []]), "bad_question"),
    (question("simple_python_6", function={"name": "f"}), "bad_function"),
    (question("simple_python_7", function=[{"name": 3}]), "bad_function"),
    (question("simple_python_8", function=[{"name": "f", "parameters": []}]), "bad_function"),
    (question("simple_python_9", function=[{"name": "f", "parameters": {"properties": [1]}}]), "bad_function"),
    (question("simple_python_10", function=[{"name": "f", "parameters": {"required": "x"}}]), "bad_function"),
    (question("simple_python_0"), "duplicate_id"),
    (question("simple_python_11"), "no_answer"),  # its answer line is broken (below)
    (question("simple_python_12"), "no_answer"),  # no answer line at all
]


@pytest.fixture()
def hostile_dir(tmp_path: Path) -> Path:
    d = tmp_path / "bfcl"
    write_lines(d / "BFCL_v4_simple_python.json",
                [question("simple_python_0"), question("simple_python_1")] + [q for q, _ in HOSTILE_QUESTIONS])
    write_lines(d / "possible_answer" / "BFCL_v4_simple_python.json", [
        answer("simple_python_0"), answer("simple_python_1"),
        answer("simple_python_1", ground_truth=[{"f": {"x": [2]}}]),  # duplicate: the first is used
        answer("simple_python_11", ground_truth={"f": {"x": [1]}}), answer("simple_python_3"), "][",
    ])
    return d


def test_bad_bfcl_records_are_skipped_with_file_line_and_reason(hostile_dir):
    data = bfcl.load_bfcl(hostile_dir)
    assert [e.id for e in data.entries] == ["simple_python_0", "simple_python_1"]
    assert data.entries[1].answer == ({"f": {"x": [1]}},)  # the first of two answer lines
    q_file, a_file = "BFCL_v4_simple_python.json", "possible_answer/BFCL_v4_simple_python.json"
    skipped = [(b.file, b.line, b.reason) for b in data.skipped_records]
    assert [s for s in skipped if s[0] == q_file] == [
        (q_file, 3 + i, reason) for i, (_, reason) in enumerate(HOSTILE_QUESTIONS)
    ]
    assert [s for s in skipped if s[0] == a_file] == [
        (a_file, 3, "duplicate_id"), (a_file, 4, "bad_answer"), (a_file, 6, "not_json"),
    ]
    assert set(data.files) == {q_file, a_file} and all(len(h) == 64 for h in data.files.values())


def test_cli_bfcl_reports_bad_records_and_scores_the_rest(hostile_dir, tmp_path, capsys):
    gens = tmp_path / "gen.jsonl"
    write_lines(gens, [{"id": "simple_python_0", "response": RIGHT}, {"id": "simple_python_1", "response": RIGHT}])
    code = main(["bfcl", "--bfcl-dir", str(hostile_dir), "--output-format", "answer", "--generations", str(gens)])
    out = capsys.readouterr().out
    assert code == 0
    assert f"skipped {len(HOSTILE_QUESTIONS) + 3} BFCL record(s)" in out
    assert "BFCL_v4_simple_python.json:5: no_id" in out
    metrics = json.loads((tmp_path / "gen.bfcl.json").read_text())
    assert metrics["categories"]["simple"] == {**metrics["categories"]["simple"], "accuracy": 1.0, "total": 2}
    assert len(metrics["skipped_bfcl_records"]) == len(HOSTILE_QUESTIONS) + 3


def test_a_duplicate_bfcl_id_is_one_row_and_its_generation_joins(hostile_dir):
    rows = bfcl.build_rows(bfcl.load_bfcl(hostile_dir).entries, "answer", with_prompt=False)
    assert [r["extra_info"]["id"] for r in rows].count("simple_python_0") == 1
    joined = join(rows, parse_lines([json.dumps({"id": "simple_python_0", "response": RIGHT})]))
    assert joined.unmatched == [] and len(joined.by_row) == 1


def test_v3_and_v4_copies_of_one_category_are_refused_unless_a_version_is_chosen(tmp_path, capsys):
    d = tmp_path / "both"
    write_lines(d / "BFCL_v3_simple.json", [question("simple_0")])
    write_lines(d / "possible_answer" / "BFCL_v3_simple.json", [answer("simple_0")])
    write_lines(d / "BFCL_v4_simple_python.json", [question("simple_python_0"), question("simple_python_1")])
    write_lines(d / "possible_answer" / "BFCL_v4_simple_python.json", [answer("simple_python_0"),
                                                                       answer("simple_python_1")])
    with pytest.raises(bfcl.BfclDataError, match="BFCL_v3_simple.json and BFCL_v4_simple_python.json"):
        bfcl.load_bfcl(d)
    assert [e.id for e in bfcl.load_bfcl(d, version=4).entries] == ["simple_python_0", "simple_python_1"]
    assert [e.id for e in bfcl.load_bfcl(d, version=3).entries] == ["simple_0"]
    assert main(["bfcl-prompts", "--bfcl-dir", str(d), "--out", str(tmp_path / "p.parquet")]) == EXIT_BAD_INPUT
    assert "--bfcl-version" in one_line_error(capsys)
    assert main(["bfcl-prompts", "--bfcl-dir", str(d), "--bfcl-version", "4",
                 "--out", str(tmp_path / "p.parquet")]) == 0


def test_errors_about_bfcl_files_name_the_file(tmp_path, capsys):
    d = tmp_path / "bad"
    write_lines(d / "BFCL_v4_multiple.json", [question("multiple_0")])
    gens = tmp_path / "g.jsonl"
    write_lines(gens, [{"id": "multiple_0", "response": RIGHT}])
    args = ["bfcl", "--bfcl-dir", str(d), "--output-format", "answer", "--generations", str(gens)]
    assert main(args) == EXIT_BAD_INPUT  # no answer-key file
    assert str(d / "possible_answer" / "BFCL_v4_multiple.json") in one_line_error(capsys)
    write_lines(d / "possible_answer" / "BFCL_v4_multiple.json", [answer("multiple_0")])
    (d / "BFCL_v4_multiple.json").write_bytes(b'{"id": "multiple_0"}\n\xff\xfe\n')
    assert main(args) == EXIT_BAD_INPUT  # not UTF-8
    line = one_line_error(capsys)
    assert str(d / "BFCL_v4_multiple.json") in line and "not UTF-8" in line


# --- options and paths ----------------------------------------------------------------------------------


@pytest.fixture()
def scored(tmp_path):
    data = write_parquet([row(0, gt()), row(1, gt(()))], tmp_path / "test.parquet")
    gens = tmp_path / "gen.jsonl"
    write_lines(gens, [{"index": 0, "response": RIGHT}, {"index": 1, "response": "<think></think><answer>no</answer>"}])
    return data, gens


@pytest.mark.parametrize("kwarg, needle", [
    ("reward=toolrl", "'reward' cannot be set here: use --reward"),
    ("output_format=hermes", "'output_format' cannot be set here: use --output-format"),
    ("global_steps=5", "'global_steps' cannot be set here"),
    ("no_such=1", "unknown option(s) ['no_such']"),
    ("max_chars=-1", "'max_chars' must be at least 1"),
    ("max_depth=abc", "'max_depth' must be a whole number"),
])
def test_bad_reward_kwargs_exit_2_with_one_line(scored, capsys, kwarg, needle):
    data, gens = scored
    assert main(["score", "--data", str(data), "--generations", str(gens), "--reward-kwarg", kwarg]) == EXIT_BAD_INPUT
    assert needle in one_line_error(capsys)
    assert not gens.with_name("gen.metrics.json").exists()


def test_the_same_reward_kwarg_twice_is_refused():
    with pytest.raises(ConfigError, match="more than once"):
        ScoreOptions(reward_kwargs=(("matching", "optimal"), ("matching", "greedy")))


def test_parse_limits_given_as_reward_options_apply_to_accuracy_too(scored, tmp_path):
    data, gens = scored
    out = tmp_path / "m.json"
    assert main(["score", "--data", str(data), "--generations", str(gens), "--reward-kwarg", "max_chars=30",
                 "--json-out", str(out)]) == 0
    by_cat = json.loads(out.read_text())["by_category"]
    # the call answer is longer than 30 characters: a parse failure for the reward and for accuracy alike
    assert by_cat["single"]["accuracy"] == 0.0 and by_cat["single"]["components"]["ast"] == 0.0
    assert by_cat["single"]["errors"] == {"parse_failure": 1}


@pytest.mark.parametrize("flag, value, needle", [
    ("--max-failures", "-1", "argument --max-failures: must be 0 or more"),
    ("--max-failures", "x", "argument --max-failures: expected a whole number"),
])
def test_bad_numeric_flags_exit_2_with_one_line(scored, capsys, flag, value, needle):
    data, gens = scored
    with pytest.raises(SystemExit) as exc:
        main(["score", "--data", str(data), "--generations", str(gens), flag, value])
    assert exc.value.code == EXIT_BAD_INPUT and needle in one_line_error(capsys)


@pytest.mark.parametrize("flag, value, needle", [
    ("--temperature", "-0.5", "'temperature' must be at least 0.0"),
    ("--top-p", "0", "'top_p' must be above 0.0"),
    ("--n", "0", "'n' must be at least 1"),
    ("--max-tokens", "0", "'max_tokens' must be at least 1"),
    ("--gpu-memory-utilization", "1.5", "'gpu_memory_utilization' must be at most 1.0"),
])
def test_bad_generation_options_fail_before_any_work(scored, tmp_path, capsys, flag, value, needle):
    data, _ = scored
    out = tmp_path / "new.jsonl"
    assert main(["generate", "--data", str(data), "--model", "m", "--out", str(out), flag, value]) == EXIT_BAD_INPUT
    assert needle in one_line_error(capsys) and not out.exists()


def test_outputs_never_overwrite_inputs_and_bad_paths_fail_first(scored, tmp_path, capsys):
    data, gens = scored
    before = gens.read_bytes()
    cases = [
        (["score", "--data", str(data), "--generations", str(gens), "--json-out", str(gens)], "is an input"),
        (["score", "--data", str(data), "--generations", str(gens), "--json-out", str(data)], "is an input"),
        (["score", "--data", str(data), "--generations", str(gens), "--json-out", str(tmp_path)], "is a directory"),
        (["score", "--data", str(data), "--generations", str(gens), "--json-out", str(tmp_path / "no" / "m.json")],
         "does not exist"),
        (["score", "--data", str(gens), "--generations", str(gens), "--json-out", str(tmp_path / "m.json")],
         "not a readable parquet file"),
        (["score", "--data", str(data), "--generations", str(tmp_path)], "is a directory"),
        (["generate", "--data", str(data), "--model", "m", "--out", str(data)], "is an input"),
        (["bfcl-prompts", "--bfcl-dir", str(tmp_path), "--out", str(tmp_path / "x" / "p.parquet")], "does not exist"),
    ]
    for argv, needle in cases:
        assert main(argv) == EXIT_BAD_INPUT, argv
        assert needle in one_line_error(capsys), argv
    assert gens.read_bytes() == before


# --- generation lines -----------------------------------------------------------------------------------


def test_index_keys_are_ascii_digits_only():
    lines = [json.dumps({"index": k, "response": RIGHT}) for k in ("1_0", " 7 ", "\u0667", "+7", "10")]
    gens = parse_lines(lines)
    assert [g.key for g in gens.items] == [("index", 10)]
    assert [(b.line, b.reason) for b in gens.malformed] == [(1, "bad_key"), (2, "bad_key"), (3, "bad_key"),
                                                             (4, "bad_key")]
    rows = [row(i, gt()) for i in range(11)]
    report = score_rows(rows, gens, ScoreOptions(partial=True))
    assert report.counts["rows_scored"] == 1 and report.scores[0].row.pos == 10


def test_an_overlong_line_is_skipped_without_reading_it_whole():
    stream = io.StringIO('{"index": 0, "response": "a"}\n' + "x" * 5000 + "\n" + '{"index": 1, "response": "b"}\n')
    recs = list(json_lines(stream, max_chars=100))
    assert [(r.line, r.reason) for r in recs] == [(1, None), (2, "too_long"), (3, None)]


# --- ground truths --------------------------------------------------------------------------------------


HOSTILE_GROUND_TRUTHS = {
    "tools not a list": '{"calls": [], "tools": 5}',
    "deep nesting": '{"calls": ' + "[" * 100000 + "]" * 100000 + "}",
    "properties a list": json.dumps({"calls": [{"name": "f", "arguments": {"x": 1}}],
                                     "tools": [{"name": "f", "parameters": {"type": "object", "properties": [1]}}]}),
    "required an int": json.dumps({"calls": [{"name": "f", "arguments": {"x": 1}}],
                                   "tools": [{"name": "f", "parameters": {"properties": {}, "required": 5}}]}),
    "not our schema": "hello",
}


def test_bad_ground_truth_rows_are_reported_and_skipped(tmp_path, capsys):
    rows = [row(0, gt())] + [row(i + 1, g) for i, g in enumerate(HOSTILE_GROUND_TRUTHS.values())]
    rows.append(row(len(rows), gt(), output_format="no-such-format"))
    data = write_parquet(rows, tmp_path / "test.parquet")
    gens = tmp_path / "gen.jsonl"
    write_lines(gens, [{"index": r["extra_info"]["index"], "response": RIGHT} for r in rows])
    assert main(["score", "--data", str(data), "--generations", str(gens)]) == 0
    out = capsys.readouterr().out
    n_bad = len(HOSTILE_GROUND_TRUTHS) + 1
    assert f"skipped {n_bad} row(s) whose ground truth does not load" in out
    metrics = json.loads((tmp_path / "gen.metrics.json").read_text())
    assert metrics["overall"]["accuracy"] == 1.0 and metrics["counts"]["rows_scored"] == 1
    reasons = [b["reason"] for b in metrics["bad_ground_truth_rows"]]
    assert [b["row"] for b in metrics["bad_ground_truth_rows"]] == list(range(1, n_bad + 1))
    # the ground-truth loader raises its documented ValueError, whose message names what is wrong
    assert "'tools' must be a list" in reasons[0] and "deep" in reasons[1].lower()
    assert not any(r.startswith(("TypeError", "RecursionError", "AttributeError")) for r in reasons)
    assert "no-such-format" in reasons[-1]
    assert load_rows(data)[1]["reward_model"]["ground_truth"] == HOSTILE_GROUND_TRUTHS["tools not a list"]
