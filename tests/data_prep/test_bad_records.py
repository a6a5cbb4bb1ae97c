"""One bad record never sinks the run (hardening, class 2): hostile records, generated here, are each
rejected with a reason code while the good records around them are written and the report reconciles;
only damage to a file's array itself stops the run, with exit 2 and one line, before anything is written."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from data_prep import reasons as R
from data_prep.config import PrepConfig
from data_prep.pipeline import run
from data_prep.reader import BadRecord, CorpusFormatError, iter_json_array

from .conftest import REPO

DEEP = 20_000  # far beyond Python's recursion limit
TOOL = {"name": "get_weather", "description": "Weather for a city.",
        "parameters": {"city": {"type": "str", "description": "City name."}}}


def deep(n: int = DEEP) -> str:
    return "[" * n + "]" * n


def xlam_text(i: int, *, query: str | None = None, answers: str | None = None, tools: str | None = None,
              extra: str = "") -> str:
    """One xLAM record as JSON text (so hostile text can be spliced in verbatim)."""
    q = json.dumps(query if query is not None else f"Weather in city number {i}?")
    gold = json.dumps([{"name": "get_weather", "arguments": {"city": f"C{i}"}}])
    a = json.dumps(answers if answers is not None else gold)
    t = json.dumps(tools if tools is not None else json.dumps([TOOL]))
    return f'{{"id": {i}, "query": {q}, "answers": {a}, "tools": {t}{extra}}}'


def convert(tmp_path: Path, source: str, records: list[str], data: bytes | None = None):
    """Run the pipeline on a file of ``records`` (JSON texts); returns (report, rows written)."""
    path = tmp_path / f"{source}.json"
    path.write_bytes(data if data is not None else ("[" + ",\n".join(records) + "]").encode("utf-8"))
    out = tmp_path / "out"
    report = run(PrepConfig(out=str(out), progress=False, test_size=0, **{source: str(path)}))
    report.check()
    written = pd.read_parquet(out / "train.parquet").to_dict("records")
    return report, written


def rejected(report, source: str) -> dict[str, int]:
    return dict(report.sources[source].rejected)


HOSTILE_XLAM = {
    "deep record": (xlam_text(1, extra=f', "junk": {deep()}'), R.TOO_DEEP),
    "deep answers string": (xlam_text(1, answers=deep()), R.TOO_DEEP),
    "deep tools string": (xlam_text(1, tools=deep()), R.TOO_DEEP),
    "deep type string": (xlam_text(1, tools=json.dumps([{**TOOL, "parameters": {"city": {
        "type": "List[" * 5000 + "str" + "]" * 5000}}}])), R.TOO_DEEP),
    "deep gold value": (xlam_text(1, tools=json.dumps([{**TOOL, "parameters": {"city": {"type": "Any"}}}]),
                                  answers=json.dumps([{"name": "get_weather",
                                                       "arguments": {"city": json.loads(deep(100))}}])),
                        R.TOO_DEEP),
    "lone surrogate escape": (xlam_text(1).replace("Weather in", "Weather \\ud800 in"), R.INVALID_TEXT),
    "lone surrogate inside answers": (
        xlam_text(1, answers='[{"name": "get_weather", "arguments": {"city": "\\udfff"}}]'), R.INVALID_TEXT),
    "huge integer": (xlam_text(1).replace('"id": 1', '"id": ' + "9" * 5000), R.MALFORMED_RECORD),
    "invalid JSON in a record": ('{"id": 1, "query": tru, "answers": "[]"}', R.MALFORMED_RECORD),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_XLAM))
def test_hostile_xlam_record_is_rejected_and_the_rest_written(tmp_path, case):
    bad, reason = HOSTILE_XLAM[case]
    report, written = convert(tmp_path, "xlam", [xlam_text(0), bad, xlam_text(2)])
    assert rejected(report, "xlam") == {reason: 1}
    assert sorted(r["extra_info"]["source_id"] for r in written) == ["0", "2"]
    assert report.examples[reason][0]["source_id"] == "1"


def test_bytes_that_are_not_utf8_reject_one_record(tmp_path):
    data = ("[" + ",".join([xlam_text(0), xlam_text(1, query="Weather in XX?"), xlam_text(2)]) + "]").encode()
    data = data.replace(b"XX", b"\xff\xfe")
    report, written = convert(tmp_path, "xlam", [], data=data)
    assert rejected(report, "xlam") == {R.INVALID_TEXT: 1} and len(written) == 2


def toolace_record(i: int, system: str | None = None, turns: list | None = None, days: bool = False) -> str:
    properties = {"city": {"type": "string", "description": ""}, "days": {"type": "int", "description": ""}}
    tools = [{"name": "Get Weather", "description": "", "parameters": {
        "type": "dict", "properties": properties, "required": ["days"] if days else ["city"]}}]
    return json.dumps({
        "system": system if system is not None else "Here is a list of functions in JSON format that you can invoke:\n"
        + json.dumps(tools) + ". \n",
        "conversations": turns if turns is not None else [
            {"from": "user", "value": f"Weather in city {i}?"},
            {"from": "assistant", "value": f'[Get Weather(city="C{i}")]'}]})


def test_a_bad_turn_rejects_itself_and_what_depends_on_it(tmp_path):
    """An unprintable integer in turn 1 rejects turn 1, and turn 3 whose history holds that call; the other
    record is written."""
    turns = [{"from": "user", "value": "hi"}, {"from": "assistant", "value": f"[Get Weather(days=0x{'f' * 5000})]"},
             {"from": "user", "value": "and Paris?"}, {"from": "assistant", "value": "[Get Weather(days=2)]"}]
    report, written = convert(tmp_path, "toolace", [toolace_record(0), toolace_record(1, turns=turns, days=True)])
    assert report.sources["toolace"].read == 3 and rejected(report, "toolace") == {R.MALFORMED_RECORD: 2}
    assert [r["extra_info"]["source_id"] for r in written] == ["0:1"]


@pytest.mark.parametrize("case", ["deep system prompt", "non-string from", "deep from", "huge call text",
                                  "unprintable integer"])
def test_hostile_toolace_record(tmp_path, case):
    if case == "deep system prompt":
        bad, reason = toolace_record(1, system="Here is a list of functions in JSON format that you can invoke:\n"
                                     + deep()), R.TOO_DEEP
    elif case == "non-string from":
        turns = [{"from": ["user"], "value": "hi"}, {"from": "assistant", "value": '[Get Weather(city="x")]'}]
        bad, reason = toolace_record(1, turns=turns), R.MALFORMED_RECORD
    elif case == "deep from":
        bad, reason = toolace_record(1).replace('"from": "user"', f'"from": {deep()}', 1), R.TOO_DEEP
    elif case == "unprintable integer":  # a hex literal parses; printing it (JSON) would fail at the write
        bad, reason = toolace_record(1, turns=[{"from": "user", "value": "hi"},
                                               {"from": "assistant", "value": f"[Get Weather(days=0x{'f' * 5000})]"}],
                                     days=True), R.MALFORMED_RECORD
    else:
        huge = "[Get Weather(city=\"" + "x" * 100_000 + "\")]"
        bad, reason = toolace_record(1, turns=[{"from": "user", "value": "hi"},
                                               {"from": "assistant", "value": huge}]), R.UNPARSEABLE_CALL
    report, written = convert(tmp_path, "toolace", [toolace_record(0), bad, toolace_record(2)])
    assert rejected(report, "toolace") == {reason: 1}
    assert sorted(r["extra_info"]["source_id"] for r in written) == ["0:1", "2:1"]


def toolrl_record(call_line: str) -> str:
    return json.dumps({
        "instruction": "**Available Tools**\nIn your response, you can use the following tools:\n1. Name: f\n"
        'Description: d\nParameters: {"x": {"description": "", "type": "int", "default": ""}}\n'
        "\n**Steps for Each Turn**\n",
        "input": "**Dialogue Records History**\n<user> please call f </user>" + "<user>" * 50_000,
        "output": f"<think> ok </think>\n<tool_call>\n{call_line}\n</tool_call>"})


def test_hostile_toolrl_record(tmp_path):
    good = toolrl_record('{"name": "f", "parameters": {"x": 1}}')
    bad = toolrl_record('{"name": "f", "parameters": {"x": ' + deep() + "}}")
    report, written = convert(tmp_path, "toolrl", [good, bad])
    assert rejected(report, "toolrl") == {R.TOO_DEEP: 1} and len(written) == 1


def test_the_cli_writes_the_good_records_and_exits_0(tmp_path):
    path = tmp_path / "xlam.json"
    bad = [HOSTILE_XLAM["deep record"][0], HOSTILE_XLAM["lone surrogate escape"][0]]
    path.write_text("[" + ",".join([xlam_text(0), *bad, xlam_text(3)]) + "]")
    res = subprocess.run([sys.executable, "-m", "data_prep", "--xlam", str(path), "--out", str(tmp_path / "o"),
                          "--test-size", "0", "--no-progress"], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["sources"]["xlam"]["rejected"] == {R.INVALID_TEXT: 1, R.TOO_DEEP: 1}
    assert report["sources"]["xlam"]["written"]["total"] == 2 and report["sources"]["xlam"]["reconciled"]


@pytest.mark.parametrize("text, message", [
    ('[{"id": 1}]\n[{"id": 2}]', "text after the top-level JSON array"),
    ('[{"id": 1}] trailing', "text after the top-level JSON array"),
    ('[{"id": 1}, {"id": 2}', "unexpected end of file"),
])
def test_a_damaged_array_exits_2_and_writes_nothing(tmp_path, text, message):
    path = tmp_path / "xlam.json"
    path.write_text(text)
    res = subprocess.run([sys.executable, "-m", "data_prep", "--xlam", str(path), "--out", str(tmp_path / "o"),
                          "--no-progress"], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 2 and message in res.stderr and len(res.stderr.splitlines()) == 1
    assert not (tmp_path / "o" / "train.parquet").exists()


def test_reader_skips_a_record_too_large_with_bounded_reads():
    class Counting(io.StringIO):
        reads = 0
        largest = 0

        def read(self, n=-1):
            Counting.reads += 1
            Counting.largest = max(Counting.largest, n)
            return super().read(n)

    huge = '{"blob": "' + "x" * 200_000 + '"}'
    text = f'[{{"a": 1}}, {huge}, {{"b": 2}}]'
    items = list(iter_json_array(Counting(text), chunk_chars=1000, max_record_chars=50_000))
    assert items[0] == {"a": 1} and items[2] == {"b": 2}
    assert items[1] == BadRecord(R.RECORD_TOO_LARGE, "longer than 50000 characters")
    assert Counting.largest <= 2 * 50_000  # memory stays bounded while skipping


def test_reading_one_huge_record_is_linear():
    """A record of S characters read in chunks of C takes O(log(S/C)) reads and decode attempts, not S/C."""
    class Counting(io.StringIO):
        reads = 0

        def read(self, n=-1):
            Counting.reads += 1
            return super().read(n)

    record = {"blob": "y" * 1_000_000}
    items = list(iter_json_array(Counting(json.dumps([record, {"b": 2}])), chunk_chars=1000))
    assert items == [record, {"b": 2}]
    assert Counting.reads < 30  # was about 1,000: one read and one full re-decode per chunk


@pytest.mark.parametrize("text", ['[{"a": 1}] x', '[{"a": 1}][{"b": 2}]'])
def test_reader_refuses_text_after_the_array(text):
    with pytest.raises(CorpusFormatError, match="text after"):
        list(iter_json_array(io.StringIO(text), 4))
