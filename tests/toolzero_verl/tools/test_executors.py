"""Executors: replay on the real ToolACE dialogues, simulate, error texts, and user-registered executors."""

from __future__ import annotations

import json
import time

import pytest

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.episode import load_episode
from toolzero_verl.core.options import ConfigError
from toolzero_verl.tools import EXECUTORS, Executor, get_executor, register_executor
from toolzero_verl.tools.executors import (
    EXECUTOR_ERROR,
    NO_RECORDED_RESULT,
    SCHEMA_VIOLATION,
    TIMEOUT,
    UNKNOWN_FUNCTION,
    ToolResult,
)
from toolzero_verl.tools.replay import Replay
from toolzero_verl.tools.session import run_bounded
from toolzero_verl.tools.simulate import Simulate, simulated_result

TOOLS = [
    {"name": "get_weather", "parameters": {"type": "object", "required": ["city"], "properties": {
        "city": {"type": "string"}, "days": {"type": "integer"}, "unit": {"type": "string", "default": "celsius"},
        "tags": {"type": "array", "items": {"type": "string"}}, "mode": {"type": "string", "enum": ["fast", "slow"]}}}},
    {"name": "get_time",
     "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}},
]


def episode(executor="replay", calls=(("get_weather", {"city": "Paris"}, '{"name": "get_weather", "results": 21}'),)):
    steps = [{"calls": [{"name": n, "arguments": a}], "results": [r]} for n, a, r in calls]
    return load_episode({"episode": {"executor": executor, "segments": [{"user": None, "steps": steps}]},
                         "tools": TOOLS})


def run_checked(executor: Executor, call: ToolCall) -> ToolResult:
    """What the session does with one call: the schema check, then the bounded execution."""
    return executor.check(call) or run_bounded(executor, call, 5.0)


def test_builtins_are_registered():
    assert {"replay", "simulate"} <= set(EXECUTORS)
    assert get_executor("replay") is Replay and get_executor("simulate") is Simulate
    with pytest.raises(ConfigError, match="unknown executor 'nope'.*executor_modules"):
        get_executor("nope")


@pytest.mark.parametrize("call, code, words", [
    (ToolCall("get_wether", {"city": "Paris"}), UNKNOWN_FUNCTION, "unknown function 'get_wether'; the functions are"),
    (ToolCall("get_weather", {}), SCHEMA_VIOLATION, "missing required parameter 'city'"),
    (ToolCall("get_weather", {"city": "Paris", "country": "FR"}), SCHEMA_VIOLATION, "unexpected parameter 'country'"),
    (ToolCall("get_weather", {"city": "Paris", "days": "3"}), SCHEMA_VIOLATION, "'days' must be integer, got string"),
    (ToolCall("get_weather", {"city": "Paris", "days": True}), SCHEMA_VIOLATION, "must be integer, got boolean"),
    (ToolCall("get_weather", {"city": "Paris", "tags": ["a", 1]}), SCHEMA_VIOLATION, "items of parameter 'tags'"),
    (ToolCall("get_weather", {"city": "Paris", "mode": "warp"}), SCHEMA_VIOLATION, "must be one of ['fast', 'slow']"),
])
@pytest.mark.parametrize("name", ["replay", "simulate"])
def test_schema_violations_become_error_texts(name, call, code, words):
    result = run_checked(get_executor(name)(episode(name)), call)
    assert result.error == code and not result.ok
    entry = json.loads(result.text)
    assert entry["name"] == call.name and words in entry["error"]


def test_replay_serves_the_recorded_result_under_bfcl_matching():
    ex = Replay(episode())
    assert run_checked(ex, ToolCall("get_weather", {"city": "Paris"})).text == '{"name": "get_weather", "results": 21}'
    # BFCL's string normalisation; an optional parameter left at its schema default
    for same in ({"city": "paris"}, {"city": "PARIS "}, {"city": "Paris", "unit": "celsius"}):
        assert run_checked(ex, ToolCall("get_weather", same)).ok, same
    for other in ({"city": "Lyon"}, {"city": "Paris", "days": 2}):
        result = run_checked(ex, ToolCall("get_weather", other))
        assert result.error == NO_RECORDED_RESULT and "no recorded result" in json.loads(result.text)["error"]


def test_replay_serves_repeated_calls_in_order_then_repeats():
    ex = Replay(episode(calls=(("get_time", {"tz": "CET"}, '"first"'), ("get_time", {"tz": "CET"}, '"second"'))))
    texts = [run_checked(ex, ToolCall("get_time", {"tz": "CET"})).text for _ in range(3)]
    assert texts == ['"first"', '"second"', '"first"']


def test_replay_simulates_a_gold_call_the_corpus_did_not_record():
    ep = load_episode({"episode": {"segments": [{"user": None, "steps": [
        {"calls": [{"name": "get_time", "arguments": {"tz": "UTC"}}], "results": [None]}]}]}, "tools": TOOLS})
    result = run_checked(Replay(ep), ToolCall("get_time", {"tz": "UTC"}))
    assert result.ok and result.text == simulated_result(ToolCall("get_time", {"tz": "UTC"}))


def test_replay_on_real_toolace_dialogues(toolace_episode_rows):
    """Every recorded call gets its recorded result; the same call with a changed value gets an error."""
    served = unrecorded = refused = 0
    for row in toolace_episode_rows("hermes"):
        ep = load_episode(row["reward_model"]["ground_truth"])
        assert ep.executor in ("replay", "simulate")
        ex = Replay(ep)
        for call, recorded in ep.recorded:
            result = run_checked(ex, call)
            assert result.ok, (row["extra_info"]["source_id"], call, result)
            if recorded is None:
                unrecorded += 1
                assert result.text == simulated_result(call)
            else:
                served += 1
                assert result.text == recorded
            strings = [k for k, v in call.arguments.items() if isinstance(v, str)]
            if strings:
                wrong = ToolCall(call.name, {**call.arguments, strings[0]: "zzz-not-a-recorded-value"})
                if all(wrong != c for c, _ in ep.recorded):
                    refused += run_checked(ex, wrong).error in (NO_RECORDED_RESULT, SCHEMA_VIOLATION)
    assert served > 100 and unrecorded > 10 and refused > 50  # measured: 154 served, 40 unrecorded


def test_simulate_is_deterministic_and_echoes_the_call():
    ex = Simulate(episode("simulate"))
    call = ToolCall("get_weather", {"city": "Paris", "tags": ["a", "b"]})
    first = run_checked(ex, call)
    assert first == run_checked(Simulate(episode("simulate")), call)
    assert json.loads(first.text) == {"name": "get_weather", "arguments": {"city": "Paris", "tags": ["a", "b"]},
                                      "results": {"status": "success"}}
    assert json.loads(simulated_result(ToolCall("f", {"s": {1, 2}})))["arguments"] == {"s": [1, 2]}  # a set value


class _Slow(Executor):
    def execute(self, call):
        time.sleep(5)
        return "late"


class _Broken(Executor):
    def execute(self, call):
        raise RuntimeError("connection refused")


class _Bytes(Executor):
    def execute(self, call):
        return b"raw"


def test_user_executors_are_bounded_in_time_and_failures_become_error_texts():
    ep = episode()
    call = ToolCall("get_weather", {"city": "Paris"})
    start = time.perf_counter()
    slow = run_bounded(_Slow(ep), call, 0.2)
    assert slow.error == TIMEOUT and "0.2 s" in json.loads(slow.text)["error"]
    assert time.perf_counter() - start < 2
    broken = run_bounded(_Broken(ep), call, 1.0)
    assert broken.error == EXECUTOR_ERROR and "RuntimeError" in broken.text and "refused" not in broken.text
    assert run_bounded(_Bytes(ep), call, 1.0).error == EXECUTOR_ERROR


def test_register_executor_for_a_real_api():
    calls = []

    @register_executor("test_weather_api")
    class WeatherAPI(Executor):
        def execute(self, call):
            calls.append(call)
            return json.dumps({"name": call.name, "results": {"temp": 21}})

    try:
        ep = episode("test_weather_api")
        ex = get_executor(ep.executor).for_episode(ep)
        assert isinstance(ex, WeatherAPI) and WeatherAPI.name == "test_weather_api"
        assert json.loads(run_checked(ex, ToolCall("get_weather", {"city": "Oslo"})).text)["results"] == {"temp": 21}
        assert run_checked(ex, ToolCall("get_weather", {})).error == SCHEMA_VIOLATION and len(calls) == 1
        with pytest.raises(TypeError):
            register_executor("bad")(object)
    finally:
        EXECUTORS.pop("test_weather_api", None)
