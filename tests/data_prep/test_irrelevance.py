"""Irrelevance relabelling (data_prep.augmentations.irrelevance): gold tools removed, a no-call target with the
Hammer convention, never when a remaining tool could answer by name or no tool would remain."""

from __future__ import annotations

import json
import re

import pandas as pd

from data_prep.augmentations import irrelevance as I
from data_prep.augmentations.config import AugmentationConfig
from data_prep.corpora.xlam import NO_CALL_ANSWER
from data_prep.pipeline import PrepConfig, run
from data_prep.sample import Message, Sample
from data_prep.validate import validate
from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.ground_truth import load_ground_truth

from .conftest import EXAMPLE_FILES, sample_golden_failures


def _letters(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _tool(name: str) -> dict:
    return {
        "name": name,
        "description": f"The {name} tool.",
        "parameters": {"type": "object", "properties": {}, "required": []},
    }


def test_relabel_real_samples(real_samples):
    made = 0
    for s in real_samples:
        out = I.relabel(s)
        if isinstance(out, str):
            assert out in (I.NO_CALLS, I.NO_TOOL_LEFT, I.TOOL_ANSWERS_BY_NAME, I.HISTORY_CALLS_GOLD)
            if out == I.NO_TOOL_LEFT:
                assert {t["name"] for t in s.tools} <= {c.name for c in s.calls}
            continue
        made += 1
        gold = {_letters(c.name) for c in s.calls}
        names = [_letters(t["name"]) for t in out.tools]
        assert out.tools and not out.calls and out.answer == NO_CALL_ANSWER
        # no remaining tool answers by name: neither the same letters nor one name inside the other
        assert not any(
            n == g or (min(len(n), len(g)) >= I.MIN_CONTAINED and (n in g or g in n)) for n in names for g in gold
        )
        assert [t for t in s.tools if t["name"] not in {c.name for c in s.calls}] == list(out.tools)
        assert out.messages == s.messages and out.source == s.source and out.group_id == s.group_id
        assert validate(out).rejected is None and sample_golden_failures(out) == []
    assert made >= 50


def test_by_name_guard():
    call = (ToolCall("get_weather", {}),)
    msgs = (Message("user", "Weather in Oslo?"),)
    for twin in ("GetWeather", "Get Weather", "get-weather", "get_weather_v2", "weather_get_weather"):
        s = Sample("xlam", "1", msgs, (_tool("get_weather"), _tool(twin)), call)
        assert I.relabel(s) == I.TOOL_ANSWERS_BY_NAME, twin
    # short names only count when equal: "get" is not "get_weather"
    out = I.relabel(Sample("xlam", "2", msgs, (_tool("get_weather"), _tool("get")), call))
    assert [t["name"] for t in out.tools] == ["get"]
    assert I.answers_by_name("v1_airlines", {"airlines"}) and not I.answers_by_name("news", {"get_weather"})


def test_never_empty_and_history_consistent():
    msgs = (Message("user", "Weather in Oslo?"),)
    assert I.relabel(Sample("xlam", "1", msgs, (_tool("w"),), (ToolCall("w", {}),))) == I.NO_TOOL_LEFT
    assert I.relabel(Sample("xlam", "1", msgs, (_tool("w"), _tool("n")), ())) == I.NO_CALLS
    hist = msgs + (Message("assistant", "", (ToolCall("w", {}),)), Message("tool", "[]"), Message("user", "Again?"))
    assert (
        I.relabel(Sample("toolace", "1:3", hist, (_tool("w"), _tool("n")), (ToolCall("w", {}),)))
        == I.HISTORY_CALLS_GOLD
    )


def test_pipeline_counts_irrelevance_rows(tmp_path):
    """--irrelevance-rate on the bundled xLAM and Hammer examples: the rows written match the report,
    the Hammer no-call convention is kept, and the test split is untouched."""
    report = run(
        PrepConfig(
            out=str(tmp_path),
            xlam=str(EXAMPLE_FILES["xlam"]),
            hammer=str(EXAMPLE_FILES["hammer"]),
            progress=False,
            test_size=0.2,
            augmentations=AugmentationConfig(irrelevance_rate=0.6),
        )
    )
    saved = json.loads((tmp_path / "report.json").read_text())
    train = pd.read_parquet(tmp_path / "train.parquet").to_dict("records")
    test = pd.read_parquet(tmp_path / "test.parquet").to_dict("records")
    rows = [r for r in train if r["extra_info"]["augmentation"] == "irrelevance"]
    dev = saved["augmentations"]["irrelevance"]
    assert dev["derived"] == len(rows) == sum(s["derived"].get("irrelevance", 0) for s in saved["sources"].values()) > 0
    assert dev["selected"] == dev["applied"] + sum(dev["ineligible"].values()) + dev["duplicates"] + dev["invalid"]
    assert 0 < dev["selected"] < dev["considered"]  # a rate, not everything
    assert not any(r["extra_info"]["augmentation"] for r in test)
    for r in rows:
        gt = load_ground_truth(r["reward_model"]["ground_truth"])
        assert gt.calls == () and gt.answer == NO_CALL_ANSWER and gt.tools
        assert re.fullmatch(r"\d+#irrelevance", r["extra_info"]["source_id"])
    assert all(s["reconciled"] for s in saved["sources"].values())
    report.check()
