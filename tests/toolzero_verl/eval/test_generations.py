"""Generations JSONL: schema, malformed lines (reported with line and reason, never raised), joining."""

from __future__ import annotations

import json

from toolzero_verl.eval.generations import join, parse_lines, read_generations, row_keys


def test_keys_and_response_aliases():
    gens = parse_lines([
        '{"index": 3, "response": "a"}',
        '{"index": "4", "output": "b"}',  # stringified index
        '{"index": 5.0, "completion": "c"}',
        '{"id": "simple_1", "result": "d"}',  # BFCL result-file layout
        '{"id": 7, "text": "e", "model": "ignored"}',
        '{"index": 6, "responses": ["f", "g"]}',
    ])
    assert [(g.key, g.response, g.line) for g in gens.items] == [
        (("index", 3), "a", 1), (("index", 4), "b", 2), (("index", 5), "c", 3),
        (("id", "simple_1"), "d", 4), (("id", "7"), "e", 5), (("index", 6), "f", 6), (("index", 6), "g", 6),
    ]
    assert gens.malformed == []


def test_malformed_lines_have_reasons():
    gens = parse_lines([
        "", "{oops", "[1]", '{"response": "x"}', '{"index": true, "response": "x"}', '{"index": 2.5, "response": "x"}',
        '{"index": [1], "response": "x"}', '{"id": null, "response": "x"}', '{"index": 1}',
        '{"index": 1, "response": null}',
        '{"index": 1, "responses": ["a", 2]}', "[" * 100000,
    ])
    assert gens.items == [] and gens.blank_lines == 1
    assert [(b.line, b.reason) for b in gens.malformed] == [
        (2, "not_json"), (3, "not_object"), (4, "no_key"), (5, "bad_key"), (6, "bad_key"), (7, "bad_key"),
        (8, "bad_key"), (9, "no_response"), (10, "no_response"), (11, "no_response"), (12, "not_json"),
    ]


def test_read_generations_tolerates_bad_bytes(tmp_path):
    path = tmp_path / "g.jsonl"
    path.write_bytes(b'{"index": 0, "response": "caf\xe9"}\n\xff\xfe\n')
    gens = read_generations(path)
    assert len(gens.items) == 1 and gens.items[0].response == "caf\ufffd"
    assert [b.reason for b in gens.malformed] == ["not_json"]


def test_join_by_index_and_id():
    rows = [
        {"extra_info": {"index": 0}},
        {"extra_info": {"index": 1, "id": "simple_1"}},
        {"id": "top_level", "extra_info": {}},
        {"extra_info": {"index": 3}},
    ]
    assert row_keys(rows[1]) == [("index", 1), ("id", "simple_1")]
    gens = parse_lines([json.dumps(x) for x in (
        {"index": 0, "response": "a"}, {"id": "simple_1", "response": "b"}, {"id": "top_level", "response": "c"},
        {"index": 9, "response": "d"},
    )])
    joined = join(rows, gens)
    assert {pos: [g.response for g in gs] for pos, gs in joined.by_row.items()} == {0: ["a"], 1: ["b"], 2: ["c"]}
    assert [(b.line, b.reason) for b in joined.unmatched] == [(4, "unknown_key")]
    assert joined.missing_rows == [3]


def test_a_key_shared_by_several_rows_is_ambiguous():
    rows = [{"extra_info": {"index": 0}}, {"extra_info": {"index": 0}}]  # e.g. train and test concatenated
    joined = join(rows, parse_lines(['{"index": 0, "response": "a"}']))
    assert joined.by_row == {} and [b.reason for b in joined.unmatched] == ["ambiguous_key"]
