"""Executors: what runs the policy's tool calls in an episode, chosen per row by name from a registry.

An executor is a class registered with :func:`register_executor`. The agent loop makes one instance
per episode (:meth:`Executor.for_episode`; it may keep state, e.g. which recorded calls it has
served) and calls :meth:`Executor.execute` once per tool call. Built-ins (docs/multiturn.md, "Executors"):

- ``replay`` (:mod:`toolzero_verl.tools.replay`): a call that matches a recorded call gets the
  recorded result (ToolACE's tool turns); any other call gets an error text;
- ``simulate`` (:mod:`toolzero_verl.tools.simulate`): a deterministic synthetic result for every valid
  call (corpora without recorded results, such as xLAM).

Every call is checked before it reaches ``execute`` (:meth:`Executor.check`): unknown function, a
parameter outside the schema, a missing required parameter, a value of the wrong type, or
arguments longer than the limit become error texts, never exceptions; the session
(:mod:`toolzero_verl.tools.session`) also bounds the time and the size of each result.

A user adds an executor for real APIs in their own module and names it in the rows
(``episode.executor``); the agent loop imports the module first when it is listed in
``+actor_rollout_ref.rollout.custom.toolzero.executor_modules=[my_pkg.my_tools]``::

    from toolzero_verl.tools import Executor, register_executor

    @register_executor("weather_api")
    class WeatherAPI(Executor):
        def execute(self, call):
            return json.dumps({"name": call.name, "results": my_client.get(**call.arguments)})

>>> sorted(EXECUTORS)
['replay', 'simulate']
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, NamedTuple

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.episode import Episode
from toolzero_verl.core.options import ConfigError
from toolzero_verl.core.tool_schema import call_problem

# Error codes (the ``error`` of a :class:`ToolResult`; counted in the episode's record).
UNKNOWN_FUNCTION = "unknown_function"
SCHEMA_VIOLATION = "schema_violation"
ARGUMENTS_TOO_LARGE = "arguments_too_large"
BAD_CALL_SYNTAX = "bad_call_syntax"  # the turn's call text could not be read (bad JSON, broken list)
TOO_MANY_CALLS = "too_many_calls"
NO_RECORDED_RESULT = "no_recorded_result"
TIMEOUT = "timeout"
EXECUTOR_ERROR = "executor_error"


class ToolResult(NamedTuple):
    """The outcome of one call: the text the policy reads, and an error code when it failed."""

    text: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def error_text(name: str, message: str) -> str:
    """The tool-turn entry for a failed call: ``{"name": …, "error": …}`` (ToolACE's entry shape).

    >>> error_text("f", "unknown function 'f'")
    '{"name": "f", "error": "unknown function \\'f\\'"}'
    """
    return json.dumps({"name": name, "error": message}, ensure_ascii=False)


def failure(name: str, code: str, message: str) -> ToolResult:
    return ToolResult(error_text(name, message), code)


class Executor:
    """Base class: runs the calls of one episode. Subclasses implement :meth:`execute`."""

    name: ClassVar[str] = ""
    # False: the session skips the schema check (an executor that validates on its own).
    checks_schema: ClassVar[bool] = True
    # True: run in the caller's thread (the built-ins: their work is bounded by the episode's size);
    # False: in a daemon thread with the session's timeout (anything that may block, e.g. a network call).
    inline: ClassVar[bool] = False

    def __init__(self, episode: Episode):
        self.episode = episode

    @classmethod
    def for_episode(cls, episode: Episode) -> "Executor":
        """A fresh instance for one episode (override to share clients between episodes)."""
        return cls(episode)

    def check(self, call: ToolCall) -> ToolResult | None:
        """The schema check: an error result, or None when the call may run."""
        if not self.checks_schema:
            return None
        problem = call_problem(call, self.episode.schema(call.name))
        if problem is None:
            return None
        code = UNKNOWN_FUNCTION if problem.startswith("unknown function") else SCHEMA_VIOLATION
        if code == UNKNOWN_FUNCTION:
            problem += f"; the functions are {list(self.episode.tool_names)[:20]}"
        return failure(call.name, code, problem)

    def execute(self, call: ToolCall) -> str | ToolResult:
        """The result of a checked call: its text (a JSON object, ideally ``{"name", "results"}``), or a
        :class:`ToolResult` (with ``error`` set for a failure). May raise: the session turns an
        exception into an error text."""
        raise NotImplementedError


EXECUTORS: dict[str, type[Executor]] = {}


def register_executor(name: str):
    """Class decorator: ``@register_executor("my_api")``. Re-registering a name replaces it (module reloads)."""

    def wrap(cls: type[Executor]) -> type[Executor]:
        if not (isinstance(cls, type) and issubclass(cls, Executor)):
            raise TypeError(f"executor {name!r} must be a subclass of toolzero_verl.tools.Executor")
        cls.name = name
        EXECUTORS[name] = cls
        return cls

    return wrap


def get_executor(name: str) -> type[Executor]:
    try:
        return EXECUTORS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown executor {name!r}; registered: {sorted(EXECUTORS)} (import the module that registers it: "
            "+actor_rollout_ref.rollout.custom.toolzero.executor_modules=[...])"
        ) from None


def as_result(value: Any) -> ToolResult:
    """An executor's return value as a :class:`ToolResult` (a string is a success)."""
    if isinstance(value, ToolResult):
        return value
    if isinstance(value, str):
        return ToolResult(value)
    return ToolResult(error_text("?", f"the executor returned {type(value).__name__}, not text"), EXECUTOR_ERROR)
