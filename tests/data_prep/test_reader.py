"""The streaming JSON-array reader (data_prep.reader)."""

from __future__ import annotations

import io
import json

import pytest

from data_prep.reader import CorpusFormatError, iter_json_array


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 1 << 20])
def test_matches_json_load_at_any_chunk_size(corpora, chunk):
    text = (corpora / "xlam" / "xlam_sample.json").read_text()
    assert list(iter_json_array(io.StringIO(text), chunk)) == json.loads(text)


def test_numbers_split_across_chunks():
    text = "[12345, 6.25e3, -7, {\"a\": [1, 2]}]"
    for chunk in range(1, 8):
        assert list(iter_json_array(io.StringIO(text), chunk)) == [12345, 6250.0, -7, {"a": [1, 2]}]


def test_bom_whitespace_and_empty():
    assert list(iter_json_array(io.StringIO("\ufeff  [ ] "))) == []
    assert list(iter_json_array(io.StringIO(' \n[ {"x": 1} ,\n {"y": 2} ]\n'), 2)) == [{"x": 1}, {"y": 2}]


@pytest.mark.parametrize("text", ['{"a": 1}', '[{"a": 1} {"b": 2}]', '[{"a": 1}, {"b": ', '[{"a": 1},', ""])
def test_broken_files_raise(text):
    with pytest.raises(CorpusFormatError):
        list(iter_json_array(io.StringIO(text), 4))
