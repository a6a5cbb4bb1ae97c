"""Rows that can never be answered are not written (hardening, class 3): with unusual function and
parameter names, generated here, and a reference longer than the reward's parse limit, every row that
is written scores 1 with the real reward when its own reference is written in the chosen format; the
others are rejected as ``unanswerable_in_format`` and the counts reconcile."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest

from data_prep import reasons as R
from data_prep.config import PrepConfig
from data_prep.pipeline import run
from toolzero_verl import compute_score
from toolzero_verl.core.formats import FORMATS, MAX_RESPONSE_CHARS, get_format
from toolzero_verl.core.ground_truth import load_ground_truth

ODD_FUNCTIONS = ["get_weather", "f=g", "f(x", "f[0]", 'say"hi', "it's", " lead", "trail ", "\ufb01nd", "\uff26oo",
                 "a.b", "x y", "f)", "ok(a=1)"]
ODD_PARAMS = ["city", "a=b", "", " p", "\ufb01le", "x'y", 'q"r', "a b", "class"]


def records() -> list[dict]:
    out = []

    def add(function: str, param: str, value) -> None:
        i = len(out)
        tool = {"name": function, "description": "A tool.", "parameters": {param: {"type": "str", "description": "x"}}}
        out.append({"id": i, "query": f"Request number {i}, please.", "tools": json.dumps([tool]),
                    "answers": json.dumps([{"name": function, "arguments": {param: value}}])})

    for f in ODD_FUNCTIONS:
        add(f, "city", "Paris")
    for p in ODD_PARAMS:
        add("get_weather", p, "Paris")
    add("get_weather", "city", "P" * (MAX_RESPONSE_CHARS + 10))  # longer than any response the reward reads
    return out


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_written_rows_answer_themselves_and_the_rest_is_rejected(tmp_path, fmt):
    path = tmp_path / "xlam.json"
    path.write_text(json.dumps(records()))
    out = tmp_path / "out"
    report = run(PrepConfig(out=str(out), xlam=str(path), output_format=fmt, progress=False, test_size=0))
    report.check()
    rows = pd.read_parquet(out / "train.parquet").to_dict("records")
    for row in rows:
        gt_text = row["reward_model"]["ground_truth"]
        gt = load_ground_truth(gt_text)
        response = get_format(fmt).render(gt.calls, gt.answer, think="Let me check the tools.")
        score = compute_score(row["data_source"], response, gt_text, dict(row["extra_info"], global_steps=0),
                              output_format=fmt)
        assert score["ast"] == 1.0 and score["format"] == 1.0, (row["extra_info"]["source_id"], score)
    stats = report.sources["xlam"]
    unanswerable = stats.rejected[R.UNANSWERABLE]
    assert unanswerable >= 1  # at least the over-long reference, in every format
    assert stats.written_total == len(rows) == len(records()) - sum(stats.rejected.values())
    if fmt == "answer":  # names Python cannot carry: spaces at the ends, NFKC-changed letters, "=" in a keyword, ...
        assert unanswerable >= 8, Counter(stats.rejected)
        details = " ".join(e["detail"] for e in report.examples[R.UNANSWERABLE])
        assert "answer format" in details


def test_augmented_rows_answer_themselves(tmp_path):
    """Augmentations are held to the same rule: Hammer's random names on every sample, checked per format."""
    from data_prep.augmentations.config import AugmentationConfig

    path = tmp_path / "xlam.json"
    path.write_text(json.dumps(records()))
    for fmt in sorted(FORMATS):
        out = tmp_path / fmt
        report = run(PrepConfig(out=str(out), xlam=str(path), output_format=fmt, progress=False, test_size=0,
                                augmentations=AugmentationConfig(hammer_mask_rate=1.0, irrelevance_rate=1.0)))
        assert report.augmentations["hammer_mask"].applied > 0
        for row in pd.read_parquet(out / "train.parquet").to_dict("records"):
            gt = load_ground_truth(row["reward_model"]["ground_truth"])
            response = get_format(fmt).render(gt.calls, gt.answer, think="ok")
            score = compute_score("xlam", response, row["reward_model"]["ground_truth"], {"global_steps": 0},
                                  output_format=fmt)
            assert score["ast"] == 1.0 and score["format"] == 1.0
