"""Ranking invariants of every reward's defaults (docs/rewards.md, "Ranking invariants"), as properties.

A reward must rank responses in order of quality, or GRPO's group-relative advantage pushes the
policy the wrong way. Hypothesis builds references (offered tools with typed parameters, one to three
gold calls, or no call at all; our JSON with schemas, or ToolRL's raw reference strings without) and
responses of known quality, in every output format, and checks at early and late training steps:

- call references, at every step: exact > near miss (one value wrong, right type) and exact > broken
  call syntax;
- call references, where the strict reward decides (GG-GRPO at σ = 1; always for the step-free
  ``toolrl`` and ``binary``): near miss ≥ a valid call of a wrong (offered) function ≥ broken syntax;
- no-call references, at every step: an abstention (prose or ``[]``) > any call, valid or invalid,
  and > broken call syntax (a parse failure is never a correct abstention).

The ``toolrl`` reward keeps rlla's rules by default (byte for byte in the ``toolrl`` format). Where rlla
itself breaks an invariant the test says so and checks the reason: its greedy pairing of parallel
calls (:func:`assert_greedy_pairing_exemption`, fixed by ``matching="optimal"``), and calls written
inside the think block or the reply on a no-call reference (:data:`RLLA_EXEMPTIONS`, fixed by
``no_call_rule="strict"``).
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolzero_verl import compute_score
from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.formats import get_format
from toolzero_verl.core.matching import normalize_string
from toolzero_verl.testing.budget import examples

REWARDS = ("gg_grpo", "toolrl", "binary")
STEP_FREE = frozenset({"toolrl", "binary"})  # their defaults do not move with the training step
FORMATS = ("answer", "hermes", "toolrl")
EARLY_STEPS = (0, 10, 25)
LATE_STEP = 1000  # σ(1000) = 1.0 exactly in float64 with κ = 0.1, m = 25
THINK = "I pick the function and fill its arguments from the request."
SETTINGS = settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- references ------------------------------------------------------------------------------------

FUNCTION_NAMES = ("get_weather", "book_flight", "search_news", "convert_units", "find_hotel", "math.factorial")
PARAM_NAMES = ("city", "date", "count", "ratio", "enabled", "tags", "query", "unit", "limit", "ids")
TYPES = ("string", "integer", "float", "boolean", "array_string", "array_integer")
WORDS = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 ", min_size=1, max_size=12).filter(
    lambda s: normalize_string(s) != ""  # "" is BFCL's "may be omitted" marker, not a value
)


def value_of(kind: str):
    """A strategy for gold values of one schema type."""
    return {
        "string": WORDS,
        "integer": st.integers(-1000, 1000),
        "float": st.floats(-1e3, 1e3, allow_nan=False).map(lambda x: round(x, 2) + 0.5),
        "boolean": st.booleans(),
        "array_string": st.lists(WORDS, min_size=1, max_size=3),
        "array_integer": st.lists(st.integers(0, 99), min_size=1, max_size=3),
    }[kind]


def schema_of(kind: str) -> dict:
    if kind.startswith("array_"):
        return {"type": "array", "items": {"type": kind.split("_", 1)[1]}}
    return {"type": kind}


@st.composite
def tool(draw, name: str) -> tuple[dict, dict[str, str]]:
    names = draw(st.lists(st.sampled_from(PARAM_NAMES), min_size=1, max_size=4, unique=True))
    kinds = {p: draw(st.sampled_from(TYPES)) for p in names}
    required = [p for p in names if draw(st.booleans())] or names[:1]
    doc = {"name": name, "description": f"{name} tool",
           "parameters": {"type": "object", "properties": {p: schema_of(k) for p, k in kinds.items()},
                          "required": required}}
    return doc, kinds


@st.composite
def valid_call(draw, doc: dict, kinds: dict[str, str]) -> ToolCall:
    """A call valid against ``doc``: every required parameter, some optional ones, right types."""
    required = doc["parameters"]["required"]
    args = {p: draw(value_of(k)) for p, k in kinds.items() if p in required or draw(st.booleans())}
    return ToolCall(doc["name"], args)


@st.composite
def reference(draw, with_calls: bool = True):
    """(ground truth as given to the reward, gold calls, tool docs, kinds by tool, reference text).

    Offered tools always include one that no gold call uses (the "wrong function"). About one in
    four references is a raw ToolRL string (no schemas; then nothing but the gold functions is offered).
    """
    n_tools = draw(st.integers(2, 4))
    names = draw(st.lists(st.sampled_from(FUNCTION_NAMES), min_size=n_tools, max_size=n_tools, unique=True))
    tools = [draw(tool(n)) for n in names]
    gold_tools = tools[:-1]  # the last one is never called by the reference
    calls = []
    if with_calls:
        n_calls = draw(st.integers(1, 3))
        for _ in range(n_calls):
            doc, kinds = draw(st.sampled_from(gold_tools))
            calls.append(draw(valid_call(doc, kinds)))
    answer = draw(st.sampled_from([None, "Which city do you mean?", "I cannot book that without a date."]))
    if draw(st.integers(0, 3)) == 0:  # ToolRL's raw reference string: no schemas at all
        body = [f"<think>{THINK}</think>"]
        if calls:
            body.append("<tool_call>\n" + "\n".join(
                json.dumps({"name": c.name, "parameters": c.arguments}) for c in calls) + "\n</tool_call>")
        if answer or not calls:
            body.append(f"<response>{answer or 'No tool fits.'}</response>")
        gt = "\n".join(body)
        return gt, calls, [], {}, answer if answer or calls else "No tool fits."
    gt = json.dumps({"calls": [c.to_dict() for c in calls], "tools": [d for d, _ in tools],
                     **({"answer": answer} if answer and not calls else {})})
    return gt, calls, [d for d, _ in tools], {d["name"]: k for d, k in tools}, answer if not calls else None


# --- responses -------------------------------------------------------------------------------------


def near_miss_value(value):
    """A different value of the same type (different after BFCL's string normalisation too)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 7
    if isinstance(value, float):
        return value + 7.5
    if isinstance(value, str):
        return value + " zq9"
    if isinstance(value, list):
        return value + [near_miss_value(value[0])]
    raise AssertionError(value)


@st.composite
def near_miss(draw, calls: list[ToolCall]) -> list[ToolCall]:
    """The gold calls with one argument value changed (same type, same names and keys)."""
    with_args = [i for i, c in enumerate(calls) if c.arguments]
    i = draw(st.sampled_from(with_args))
    key = draw(st.sampled_from(sorted(calls[i].arguments)))
    changed = ToolCall(calls[i].name, {**calls[i].arguments, key: near_miss_value(calls[i].arguments[key])})
    return [*calls[:i], changed, *calls[i + 1:]]


def render(fmt: str, calls: list[ToolCall], answer: str | None = None) -> str:
    return get_format(fmt).render(calls, answer, think=THINK)


def broken(fmt: str, calls: list[ToolCall]) -> str:
    """The calls with their syntax broken: an unclosed call list, or a tool-call JSON object missing its brace."""
    if fmt == "answer":
        body = get_format("answer").render_answer(calls)
        return f"<think>{THINK}</think>\n<answer>{body[:-2]}</answer>"  # drop the closing ")]"
    text = render(fmt, calls)
    cut = text.rindex("}")
    return text[:cut] + text[cut + 1:]


def abstention(fmt: str, text: str) -> str:
    return render(fmt, [], text)


def score(reward: str, fmt: str, response: str, gt: str, step: int | None, **options) -> float:
    extra = {"split": "train", "global_steps": step} if step is not None else {"split": "test"}
    result = compute_score("ranking", response, gt, extra, reward=reward, output_format=fmt, **options)
    assert all(math.isfinite(v) for v in result.values()), result
    return result["score"]


def steps_for(reward: str) -> list[int]:
    return [LATE_STEP] if reward in STEP_FREE else [*EARLY_STEPS, LATE_STEP]


def parity_mode(reward: str, fmt: str) -> bool:
    return reward == "toolrl" and fmt == "toolrl"


# --- call references --------------------------------------------------------------------------------


@SETTINGS
@given(data=st.data(), reward=st.sampled_from(REWARDS), fmt=st.sampled_from(FORMATS))
def test_exact_beats_a_near_miss_and_broken_syntax_at_every_step(data, reward, fmt):
    gt, calls, _, _, _ = data.draw(reference())
    exact = render(fmt, calls)
    bad = broken(fmt, calls)
    missed = render(fmt, data.draw(near_miss(calls))) if any(c.arguments for c in calls) else None
    for step in steps_for(reward):
        top = score(reward, fmt, exact, gt, step)
        assert top > score(reward, fmt, bad, gt, step), (step, exact, bad)
        if missed is not None:
            assert top > score(reward, fmt, missed, gt, step), (step, exact, missed)


@SETTINGS
@given(data=st.data(), reward=st.sampled_from(REWARDS), fmt=st.sampled_from(FORMATS))
def test_where_the_strict_reward_decides_near_miss_beats_a_wrong_function_beats_broken_syntax(data, reward, fmt):
    gt, calls, tools, kinds, _ = data.draw(reference())
    bad = broken(fmt, calls)
    wrong_doc = tools[-1] if tools else None
    wrong = None
    if wrong_doc is not None:  # replace one gold call by a valid call of the function no gold call uses
        i = data.draw(st.integers(0, len(calls) - 1))
        other = data.draw(valid_call(wrong_doc, kinds[wrong_doc["name"]]))
        wrong = render(fmt, [*calls[:i], other, *calls[i + 1:]])
    missed = render(fmt, data.draw(near_miss(calls))) if any(c.arguments for c in calls) else None
    for step in (LATE_STEP, None):  # a late training step, and a validation row (σ = 1)
        s_bad = score(reward, fmt, bad, gt, step)
        s_wrong = score(reward, fmt, wrong, gt, step) if wrong else None
        s_missed = score(reward, fmt, missed, gt, step) if missed else None
        if s_wrong is not None:
            assert s_wrong >= s_bad, (step, wrong, bad)
            if s_missed is not None and s_missed < s_wrong:
                assert_greedy_pairing_exemption(reward, fmt, missed, wrong, gt, step)
        if s_missed is not None:
            assert s_missed >= s_bad, (step, missed, bad)


def assert_greedy_pairing_exemption(reward: str, fmt: str, missed: str, wrong: str, gt: str, step) -> None:
    """The one call-reference case where rlla breaks the order: its greedy pairing gives each gold call,
    in order, the first best unused same-name call, so a sibling can take a near miss's partner and
    the near miss loses more than its one wrong value. The ToolRL reward keeps rlla's greedy
    pairing by default; ``matching="optimal"`` restores the order."""
    assert reward == "toolrl", (reward, fmt, missed, wrong)
    optimal = {"matching": "optimal"}
    assert score(reward, fmt, missed, gt, step) < score(reward, fmt, missed, gt, step, **optimal), "not a greedy steal"
    assert score(reward, fmt, missed, gt, step, **optimal) >= score(reward, fmt, wrong, gt, step, **optimal)


def test_the_greedy_pairing_exemption_is_real_and_optimal_matching_fixes_it():
    """The counterexample hypothesis found: the first gold call takes the second's partner."""
    string = {"type": "string"}
    gt = json.dumps({
        "calls": [{"name": "f", "arguments": {"d": "0"}}, {"name": "f", "arguments": {"c": "0", "d": "0"}},
                  {"name": "f", "arguments": {"d": "00"}}],
        "tools": [{"name": "f", "parameters": {"properties": {"c": string, "d": string}, "required": ["d"]}},
                  {"name": "g", "parameters": {"properties": {"c": string}, "required": ["c"]}}],
    })
    second = ToolCall("f", {"c": "0", "d": "0"})
    missed = render("toolrl", [ToolCall("f", {"d": "0 zq9"}), second, ToolCall("f", {"d": "00"})])
    wrong = render("toolrl", [ToolCall("f", {"d": "0"}), second, ToolCall("g", {"c": "0"})])
    assert score("toolrl", "toolrl", missed, gt, None) < score("toolrl", "toolrl", wrong, gt, None)
    assert_greedy_pairing_exemption("toolrl", "toolrl", missed, wrong, gt, None)


# --- no-call references ------------------------------------------------------------------------------

ABSTENTIONS = ("I cannot help with that: no function fits.", "Which city do you mean?", "[]")


@st.composite
def calls_on_a_no_call_reference(draw, tools: list[dict], kinds: dict) -> list[ToolCall]:
    """A valid call of an offered function, or a call of a function nobody offered."""
    if tools and draw(st.booleans()):
        doc = draw(st.sampled_from(tools))
        return [draw(valid_call(doc, kinds[doc["name"]]))]
    return [ToolCall(draw(st.sampled_from(("lookup_everything", "get_weather"))), {"city": draw(WORDS)})]


@SETTINGS
@given(data=st.data(), reward=st.sampled_from(REWARDS), fmt=st.sampled_from(FORMATS))
def test_on_a_no_call_reference_an_abstention_beats_any_call_and_broken_syntax_at_every_step(data, reward, fmt):
    gt, _, tools, kinds, _ = data.draw(reference(with_calls=False))
    text = data.draw(st.sampled_from(ABSTENTIONS))
    abstain = abstention(fmt, text)
    called = data.draw(calls_on_a_no_call_reference(tools, kinds))
    responses = {"call": render(fmt, called), "broken": broken(fmt, called)}
    for step in [*steps_for(reward), None]:
        best = score(reward, fmt, abstain, gt, step)
        for kind, response in responses.items():
            assert best > score(reward, fmt, response, gt, step), (step, kind, abstain, response)


# --- where rlla itself breaks an invariant ---------------------------------------------------------------

NO_CALL_GT = "<think>No tool fits.</think>\n<response>I cannot help with that.</response>"
ABSTAIN = "<think>t</think>\n<response>I cannot help with that.</response>"
CALL = '{"name": "get_weather", "parameters": {"city": "Paris"}}'
# rlla's format term accepts the "response" layout whatever the think or response text holds, and its
# correctness is 0 on every no-call reference: a call or broken call syntax written inside the think
# block or the reply ties with the abstention. The ToolRL reward keeps this in its parity default.
RLLA_EXEMPTIONS = {
    "valid call inside <response>": f"<think>t</think>\n<response><tool_call>\n{CALL}\n</tool_call></response>",
    "broken call inside <response>": f"<think>t</think>\n<response><tool_call>\n{CALL[:-1]}\n</tool_call></response>",
    "valid call inside <think>": f"<think><tool_call>\n{CALL}\n</tool_call></think>\n<response>ok</response>",
}


@pytest.mark.parametrize("case", sorted(RLLA_EXEMPTIONS))
def test_rlla_parity_ties_a_call_in_the_reply_with_an_abstention_and_the_strict_rule_does_not(case):
    response = RLLA_EXEMPTIONS[case]
    parity = score("toolrl", "toolrl", response, NO_CALL_GT, None)
    assert parity == score("toolrl", "toolrl", ABSTAIN, NO_CALL_GT, None) == 1.0  # rlla's own numbers
    strict = {"no_call_rule": "strict"}
    assert score("toolrl", "toolrl", ABSTAIN, NO_CALL_GT, None, **strict) > score(
        "toolrl", "toolrl", response, NO_CALL_GT, None, **strict)


@pytest.mark.parametrize("reward", ["gg_grpo", "binary"])
@pytest.mark.parametrize("case", sorted(RLLA_EXEMPTIONS))
def test_the_other_rewards_rank_the_rlla_exemptions_below_the_abstention(reward, case):
    for step in [*steps_for(reward), None]:
        assert score(reward, "toolrl", ABSTAIN, NO_CALL_GT, step) > score(
            reward, "toolrl", RLLA_EXEMPTIONS[case], NO_CALL_GT, step)


# --- the issue's two examples, as fixed numbers of the default -----------------------------------------

TOOLS = [{"name": "get_weather", "parameters": {"type": "object", "properties": {
    "city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city"]}},
    {"name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}},
                                        "required": ["tz"]}}]
ONE = json.dumps({"calls": [{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}], "tools": TOOLS})
NONE = json.dumps({"calls": [], "tools": TOOLS, "answer": "Which city do you mean?"})


def test_a_broken_call_on_a_no_call_reference_is_not_an_abstention():
    broken_call = "<think>t</think><answer>[get_weather(city='Paris'</answer>"
    r = compute_score("d", broken_call, NONE, {"split": "train", "global_steps": 100})
    assert r["ast"] == 0.0 and r["parse_ok"] == 0.0
    good = compute_score("d", "<think>t</think><answer>Which city?</answer>", NONE,
                         {"split": "train", "global_steps": 100})
    assert good["score"] - r["score"] > 1.0


def test_late_in_training_a_near_miss_no_longer_ranks_below_a_wrong_call():
    late = {"split": "train", "global_steps": 100}
    near = compute_score("d", "<think>t</think><answer>[get_weather(city='Rome', days=3)]</answer>", ONE, late)
    other = compute_score("d", "<think>t</think><answer>[get_time(tz='CET')]</answer>", ONE, late)
    typo = compute_score("d", "<think>t</think><answer>[get_weather(citty='Paris', days=3)]</answer>", ONE, late)
    assert near["score"] >= other["score"] > typo["score"]  # the misspelled key is invalid: −0.3
