"""GG-GRPO arithmetic: schedule, generic reward bounds, the +0.3 bonus and the −0.3 penalty (three readings)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolzero_verl import compute_score
from toolzero_verl.rewards.gg_grpo import KEYS, tokens
from toolzero_verl.rewards.scoring import ConfigError
from toolzero_verl.testing.budget import examples

TOOLS = [
    {"name": "get_weather", "parameters": {"type": "object", "required": ["city"],
                                           "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}},
    {"name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}},
                                        "required": ["tz"]}},
]
ONE = json.dumps({"calls": [{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}], "tools": TOOLS})
TWO = json.dumps({"calls": [{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}},
                            {"name": "get_time", "arguments": {"tz": "CET"}}], "tools": TOOLS})
NONE = json.dumps({"calls": [], "tools": TOOLS, "answer": "Which city do you mean?"})


def ans(body: str, think: str = "t") -> str:
    return f"<think>{think}</think><answer>{body}</answer>"


def score(response, gt=ONE, step=None, split="train", **kw):
    extra = {"split": split}
    if step is not None:
        extra["global_steps"] = step
    return compute_score("test", response, gt, extra, **kw)


def sig(t):
    return 1 / (1 + math.exp(-0.1 * (t - 25)))


@pytest.mark.parametrize("t", [0, 25, 50])
def test_sigma_follows_the_paper_sigmoid(t):
    r = score(ans('[get_weather(city="Paris", days=3)]'), step=t)
    assert r["sigma"] == pytest.approx(sig(t))
    assert r["step"] == t
    # perfect answer: strict = 1, general = 0.5 (every reference token present)
    assert r["score"] == pytest.approx(1 + sig(t) * 1.0 + (1 - sig(t)) * 0.5)


def test_general_reward_bounds():
    assert score("no answer at all", step=0)["general"] == -0.5
    assert score(ans('[get_weather(city="Paris", days=3)]'), step=0)["general"] == 0.5
    half = score(ans('[get_weather(city="Rome")]'), step=0)["general"]
    # reference tokens {get, weather, city, Paris, days, 3}; got {get, weather, city, Rome}: 3/6
    assert half == pytest.approx(-0.5 + 3 / 6)
    assert tokens('[get_weather(city="Paris", days=3)]') == {"get", "weather", "city", "Paris", "days", "3"}
    assert score(ans("paris"), step=0)["general"] == -0.5  # case-sensitive by default
    assert score(ans("paris"), step=0, case_sensitive=False)["general"] == pytest.approx(-0.5 + 1 / 6)


def test_multi_call_bonus_only_for_exact_multi_call_answers():
    both = ans('[get_time(tz="CET"), get_weather(city="Paris", days=3)]')  # any order
    r = score(both, gt=TWO, split="test")
    assert (r["ast"], r["strict"], r["score"]) == (1.0, pytest.approx(1.3), pytest.approx(2.3))
    single = score(ans('[get_weather(city="Paris", days=3)]'), split="test")
    assert single["strict"] == 1.0  # one gold call: no bonus
    assert score(ans('[get_weather(city="Paris", days=3)]'), gt=TWO, split="test")["strict"] == 0.0


@pytest.mark.parametrize("response,invalid", [
    ('[get_weather(city="Rome", days=3)]', False),  # near miss: right function, a value wrong, right type
    ('[get_time(tz="CET")]', False),  # a valid call of another offered function
    ('[get_weather(city="Rome")]', False),  # an optional parameter left out
    ('[get_weather(days=3)]', True),  # missing the required city
    ('[get_weather(city="Paris", days=3, unit="C")]', True),  # a parameter outside the schema
    ('[get_weather(city="Paris", days="3")]', True),  # a string for an integer
    ('[get_weather(city="Paris", days=3.0)]', True),  # a float for an integer (BFCL: never)
    ('[get_forecast(city="Paris")]', True),  # a function nobody offered
    ('[get_weather(city="Paris", days=3', True),  # broken call syntax
])
def test_the_penalty_fires_on_an_invalid_answer_by_default(response, invalid):
    r = score(ans(response), split="test")
    assert (r["ast"], r["invalid"], r["strict"]) == (0.0, float(invalid), pytest.approx(-0.3 if invalid else 0.0))
    assert score(ans(response), split="test", value_error_penalty=0.0)["strict"] == 0.0


def test_integers_pass_a_float_parameter_and_the_penalty_scales():
    gt = json.dumps({"calls": [{"name": "f", "arguments": {"x": 1.5}}],
                     "tools": [{"name": "f", "parameters": {"properties": {"x": {"type": "float"}},
                                                             "required": ["x"]}}]})
    assert score(ans("[f(x=2)]"), gt=gt, split="test")["strict"] == 0.0  # int for float: BFCL accepts the type
    assert score(ans("[f(x='2')]"), gt=gt, split="test", value_error_penalty=0.5)["strict"] == -0.5


@pytest.mark.parametrize("trigger,fires_on", [
    ("invalid", {"typo", "broken"}),
    ("names_and_keys", {"near"}),  # the earlier reading: names and keys right, a value wrong
    ("not_exact", {"near", "other", "typo", "broken"}),
])
def test_the_three_readings_of_the_penalty(trigger, fires_on):
    responses = {"near": '[get_weather(city="Rome", days=3)]', "other": '[get_time(tz="CET")]',
                 "typo": '[get_weather(citty="Paris", days=3)]', "broken": '[get_weather(city="Paris"'}
    for kind, body in responses.items():
        strict = score(ans(body), split="test", penalty_trigger=trigger)["strict"]
        assert strict == pytest.approx(-0.3 if kind in fires_on else 0.0), (trigger, kind)
    exact = score(ans('[get_weather(city="Paris", days=3)]'), split="test", penalty_trigger=trigger)
    assert exact["strict"] == 1.0  # an exact answer never pays it
    with pytest.raises(ConfigError, match="penalty_trigger"):
        score(ans("x"), split="test", penalty_trigger="values")


def test_no_call_reference():
    assert score(ans("Which city do you mean?"), gt=NONE, split="test")["ast"] == 1.0
    assert score(ans("[]"), gt=NONE, split="test")["ast"] == 1.0
    assert score(ans('[get_time(tz="CET")]'), gt=NONE, split="test")["ast"] == 0.0
    broken = score(ans("[get_time(tz="), gt=NONE, split="test")
    assert (broken["ast"], broken["invalid"], broken["strict"]) == (0.0, 1.0, pytest.approx(-0.3))  # not an abstention
    # The generic reward on a no-call reference (ours): half for abstaining, half by token recall; a call gets −0.5.
    early = score(ans("Which city?"), gt=NONE, step=0)
    assert early["general"] == pytest.approx(0.5 * 2 / 5)  # {Which, city, do, you, mean}: Which, city
    assert score(ans("[]"), gt=NONE, step=0)["general"] == 0.0
    assert score(ans('[get_weather(city="Which city do you mean")]'), gt=NONE, step=0)["general"] == -0.5
    assert score(ans("[get_time(tz="), gt=NONE, step=0)["general"] == -0.5


def test_validation_rows_use_sigma_one_without_a_step():
    r = score(ans('[get_weather(city="Paris", days=3)]'), split="test")
    assert r["sigma"] == 1.0 and r["score"] == 2.0 and r["step"] == -1.0


def test_missing_step_fails_loudly_or_warns_once(caplog):
    with pytest.raises(ConfigError, match="global_steps"):
        score(ans("x"))
    r = score(ans("x"), missing_step="warn")
    assert r["sigma"] == pytest.approx(sig(0))
    assert score(ans("x"), schedule="constant_strict")["sigma"] == 1.0  # needs no step


def test_percent_unit_uses_total_training_steps():
    r = score(ans("x"), step=50, step_unit="percent", total_training_steps=200)  # 25 % -> midpoint
    assert r["sigma"] == pytest.approx(0.5)
    r = compute_score("t", ans("x"), ONE, {"training_progress": 0.25}, step_unit="percent")
    assert r["sigma"] == pytest.approx(0.5)


@pytest.mark.parametrize("schedule,t,expected", [("linear", 25, 0.5), ("step", 30, 1.0), ("constant_general", 99, 0.0)])
def test_ablation_schedules(schedule, t, expected):
    assert score(ans("x"), step=t, schedule=schedule)["sigma"] == pytest.approx(expected)


def test_format_term():
    assert score(ans('[get_weather(city="Paris", days=3)]'), split="test")["format"] == 1.0
    assert score('<answer>[get_weather(city="Paris", days=3)]</answer>', split="test")["format"] == 0.0
    hermes = ('<think>t</think>\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}\n'
              '</tool_call>')
    r = score(hermes, split="test", output_format="hermes")
    assert (r["format"], r["ast"]) == (1.0, 1.0)


def test_keys_are_fixed_and_options_are_validated():
    for response in ["", ans("x"), ans("[get_weather(city=1)]"), "<think>" * 100]:
        assert tuple(score(response, step=3)) == KEYS
    with pytest.raises(ValueError, match="unknown option"):
        score(ans("x"), step=1, kapa=0.2)
    with pytest.raises(ValueError, match="schedule"):
        score(ans("x"), step=1, schedule="exp")


@pytest.mark.parametrize("fmt", ["answer", "hermes", "toolrl"])
@pytest.mark.parametrize("gt", [ONE, TWO, NONE])
def test_a_perfect_response_reaches_the_top_of_the_generic_reward_in_every_format(fmt, gt):
    from toolzero_verl.core.formats import get_format
    from toolzero_verl.core.ground_truth import load_ground_truth

    g = load_ground_truth(gt)
    perfect = get_format(fmt).render(g.calls, g.answer, think="t")
    r = score(perfect, gt=gt, step=0, output_format=fmt)
    assert (r["general"], r["format"], r["ast"]) == (0.5, 1.0, 1.0)


def test_toolrl_format_term_follows_the_reference_layout():
    think_only = "<think>I will not answer</think>"
    assert score(think_only, step=0, output_format="toolrl")["format"] == 0.0  # the reference has a call
    reply = "<think>t</think>\n<response>Which city do you mean?</response>"
    assert score(reply, gt=NONE, step=0, output_format="toolrl")["format"] == 1.0
    assert score(reply, step=0, output_format="toolrl")["format"] == 0.0


_TOKEN_TEXT = st.text(alphabet=st.sampled_from(list("aZ09_ .,=()[]'\"\t\n\x1c\x85é€") + ["é", "\u00a0"]), max_size=40)


@settings(max_examples=examples(3000), deadline=None)
@given(_TOKEN_TEXT, st.booleans())
def test_the_default_token_split_gives_the_regex_pieces(text, case_sensitive):
    # the fast split of T(·) (translate + whitespace split on ASCII) must equal the documented regex split
    import re

    want = frozenset(t for t in re.split(r"[^0-9A-Za-z]+", text if case_sensitive else text.lower()) if t)
    assert tokens(text, case_sensitive=case_sensitive) == want
    assert tokens(text, r"[^0-9A-Za-z]+?", case_sensitive) == want  # an equivalent custom pattern: the regex path
