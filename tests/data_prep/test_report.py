"""Report accounting (data_prep.report)."""

from __future__ import annotations

import pytest

from data_prep.report import ReconciliationError, Report


def test_reconciles_and_tabulates():
    r = Report()
    s = r.source("toolace")
    s.records, s.read = 2, 9
    s.written["train"], s.written["test"] = 4, 1
    s.deduplicated, s.not_selected = 1, 1
    r.add_rejection("toolace", "0:3", "unknown_function", "x" * 500)
    r.add_rejection("toolace", "1:1", "empty_answer", "")
    r.check()
    d = r.to_dict()
    assert d["sources"]["toolace"]["reconciled"] and d["total"]["rejected"] == {
        "empty_answer": 1,
        "unknown_function": 1,
    }
    assert len(d["rejection_examples"]["unknown_function"][0]["detail"]) == 200
    table = r.table()
    assert "toolace" in table and "TOTAL" in table and "unknown_function=1" in table


def test_unbalanced_raises():
    r = Report()
    r.source("xlam").read = 3
    r.source("xlam").written["train"] = 2
    with pytest.raises(ReconciliationError):
        r.check()
