"""Seeded, grouped, stratified split and training order (data_prep.split)."""

from __future__ import annotations

from data_prep.sample import Message, Sample
from data_prep.split import difficulty, order, sample_difficulty, split
from toolzero_verl.core.calls import ToolCall


def make(n_groups=20, per_group=3, source="toolace"):
    out = []
    for g in range(n_groups):
        for t in range(per_group):
            calls = tuple(ToolCall("f", {"a": i}) for i in range(t % 3))
            out.append(Sample(source, f"{g}:{t}", (Message("user", f"q{g}-{t}"),) * (t + 1), ({"name": "f"},), calls,
                              None if calls else "text", group=f"{source}:{g}"))
    return out


def test_groups_never_cross_and_sizes():
    samples = make() + make(10, 1, "xlam")
    train, test = split(samples, 0.2, seed=1)
    assert len(train) + len(test) == len(samples)
    assert not ({s.group_id for s in train} & {s.group_id for s in test})
    assert {s.source for s in test} == {"toolace", "xlam"}  # stratified per source
    assert len([s for s in test if s.source == "toolace"]) == 12  # 4 whole dialogues of 3
    assert len([s for s in test if s.source == "xlam"]) == 2


def test_test_split_never_exceeds_its_share():
    samples = make(5, 4)  # dialogues of 4 turns
    train, test = split(samples, 6, seed=0)
    assert len(test) == 4  # a second dialogue would overshoot 6


def test_seeded_and_count_form():
    samples = make()
    assert split(samples, 0.25, 7) == split(samples, 0.25, 7)
    assert split(samples, 0.25, 7) != split(samples, 0.25, 8)
    train, test = split(samples, 9, 0)
    assert len(test) == 9
    assert split(samples, 0, 0) == (samples, [])


def test_order():
    samples = make()
    ranked = order(samples, "difficulty", 3)
    diffs = [d for _, d in ranked]
    assert diffs == sorted(diffs)
    assert [d for _, d in order(samples, "random", 3)] != diffs
    assert {id(s) for s, _ in order(samples, "random", 3)} == {id(s) for s in samples}


def test_difficulty_grows_with_work():
    assert difficulty(0, 0, 1, 1) == difficulty(1, 0, 1, 1)  # not calling is one decision
    assert difficulty(2, 0, 1, 1) > difficulty(1, 0, 1, 1)
    assert difficulty(1, 4, 1, 1) > difficulty(1, 0, 1, 1)
    assert difficulty(1, 0, 8, 1) > difficulty(1, 0, 1, 1)
    assert difficulty(1, 0, 1, 9) > difficulty(1, 0, 1, 1)
    s = make(1, 3)[2]
    assert sample_difficulty(s) == difficulty(2, 2, 1, 3)
