"""Mixing presets and specs (data_prep.mix)."""

from __future__ import annotations

import pytest

from data_prep.mix import PRESETS, parse_mix, select, target_count


def test_toolrl_preset_is_toolrls_mix():
    # ToolRL's "1K Hammer (masked)" rows are masked xLAM calls: 2k xLAM, no irrelevance rows
    assert parse_mix("toolrl") == {"toolace": 2000, "xlam": 2000, "hammer": 0} == PRESETS["toolrl"]
    assert parse_mix(None) == parse_mix("all") == {}


def test_counts_and_fractions():
    mix = parse_mix("toolace=100, xlam=0.25,hammer=0")
    assert mix == {"toolace": 100, "xlam": 0.25, "hammer": 0}
    assert target_count(mix["toolace"], 40) == 40  # short: take everything
    assert target_count(mix["xlam"], 40) == 10
    assert target_count(mix["hammer"], 40) == 0


@pytest.mark.parametrize("spec", ["nope", "toolace", "toolace=-1", "toolace=2.5", "reddit=3"])
def test_bad_specs(spec):
    with pytest.raises(ValueError):
        parse_mix(spec)


def test_select_seeded_subset_in_order():
    items = list(range(100))
    a = select(items, 10, 1, "xlam")
    assert a == sorted(a) and len(set(a)) == 10
    assert a == select(items, 10, 1, "xlam") and a != select(items, 10, 2, "xlam")
    assert select(items, 200, 1, "xlam") == items
