"""The typed option layer: every value is checked against its declared type and range, with one line
naming the option; user-friendly spellings (strings from a command line) are converted exactly."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import pytest

from toolzero_verl.core.options import ConfigError, Options, check_value, describe, option


@dataclass(frozen=True)
class Demo(Options):
    _aliases = {"old_rate": "rate"}

    rate: float = option(0.5, min=0.0, max=1.0, help="a fraction")
    count: int = option(2, min=1, help="how many")
    mode: str = option("a", choices=("a", "b"))
    flag: bool = False
    total: int | None = option(None, above=0)
    names: tuple[str, ...] = ()


@pytest.mark.parametrize(
    "given, expected",
    [
        ({"rate": "0.25"}, {"rate": 0.25}),
        ({"rate": 1}, {"rate": 1.0}),
        ({"count": "3"}, {"count": 3}),
        ({"count": 4.0}, {"count": 4}),
        ({"flag": "False"}, {"flag": False}),
        ({"flag": "YES"}, {"flag": True}),
        ({"flag": "0"}, {"flag": False}),
        ({"total": None}, {"total": None}),
        ({"total": "7"}, {"total": 7}),
        ({"names": "xlam, toolace"}, {"names": ("xlam", "toolace")}),
        ({"names": ["xlam"]}, {"names": ("xlam",)}),
    ],
)
def test_values_are_converted_to_their_declared_type(given, expected):
    got = Demo.from_mapping(given)
    for key, value in expected.items():
        assert getattr(got, key) == value and type(getattr(got, key)) is type(value)


@pytest.mark.parametrize(
    "given, message",
    [
        ({"rate": float("nan")}, "'rate' must be a finite number"),
        ({"rate": float("inf")}, "'rate' must be a finite number"),
        ({"rate": "abc"}, "'rate' must be a number"),
        ({"rate": 1.5}, "'rate' must be at most 1.0"),
        ({"rate": -0.1}, "'rate' must be at least 0.0"),
        ({"rate": True}, "'rate' must be a number"),
        ({"count": 0}, "'count' must be at least 1"),
        ({"count": 2.5}, "'count' must be a whole number"),
        ({"count": "2x"}, "'count' must be a whole number"),
        ({"count": False}, "'count' must be a whole number"),
        ({"mode": "c"}, "'mode' must be one of a, b"),
        ({"mode": 1}, "'mode' must be a string"),
        ({"flag": "no way"}, "'flag' must be true or false"),
        ({"flag": 2}, "'flag' must be true or false"),
        ({"total": 0}, "'total' must be above 0"),
        ({"names": 5}, "'names' must be a list"),
        ({"nmes": ["x"]}, "unknown option(s) ['nmes']"),
    ],
)
def test_bad_values_fail_with_one_line_naming_the_option(given, message):
    with pytest.raises(ConfigError) as info:
        Demo.from_mapping(given, where="demo")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_direct_construction_is_validated_too():
    with pytest.raises(ConfigError, match="'count' must be at least 1"):
        Demo(count=-5)
    assert Demo(rate="1").rate == 1.0


def test_renamed_option_is_accepted_with_one_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="toolzero_verl"):
        assert Demo.from_mapping({"old_rate": 0.1}, where="demo").rate == 0.1
    assert "renamed 'rate'" in caplog.text
    with pytest.raises(ConfigError, match="not both"):
        Demo.from_mapping({"old_rate": 0.1, "rate": 0.2})


def test_huge_integers_are_not_finite_floats():
    with pytest.raises(ConfigError, match="finite"):
        check_value("x", 10**400, float)
    assert math.isclose(check_value("x", 10**20, float), 1e20)


def test_describe_lists_options_with_their_help():
    assert ("rate", 0.5, "a fraction") in describe(Demo)


def test_mutable_defaults_are_refused():
    with pytest.raises(TypeError):
        option([1])
