"""One episode's state machine: the policy's turn in, the next messages out (docs/multiturn.md, "The loop").

verl's agent loop (``toolzero_verl/plugin/agent_loop.py``) and ``toolzero-eval generate`` drive an
:class:`EpisodeSession` the same way: generate a turn, hand its text to :meth:`EpisodeSession.respond`,
append the messages it returns to the conversation, and generate again until it returns none::

    policy turn ──respond──> calls?   ──yes──> execute each (schema check, time and size bounds)
                                                 -> one tool turn: [{"name", "results"|"error"}, …]
                             broken?  ──yes──> one tool turn with the parse error (the policy may retry)
                             no call  ──────> the request is answered: the next user turn (replayed),
                                                 or the end of the episode ("answered")
    and at the last allowed turn: the turn limit ends the episode ("turn_limit") unless that turn
    answers the last request; the calls of that turn are not executed (no turn would read their results).

The turn is parsed with the row's output format (``hermes``, ``answer`` or ``toolrl``:
:mod:`toolzero_verl.core.formats`), the same parser the reward uses, so a turn counts as a call in
the loop exactly when the reward sees a call in it. Model output is hostile: a turn is parsed within
the format's size and depth limits, a call's arguments longer than ``max_argument_chars`` are not
executed, an executor gets ``call_timeout_s`` per call (user executors run in a daemon thread; the
built-ins run inline, their work bounded by the episode's size), each result is cut to
``max_result_chars``, and an exception in an executor becomes an error text.

:meth:`EpisodeSession.record` is what the episode reward reads (through ``extra_info``): the turns'
texts and counts of calls, errors, tool turns and user turns.

>>> from toolzero_verl.core.episode import load_episode
>>> ep = load_episode({"episode": {"segments": [{"user": None, "steps": [{"calls": [{"name": "w",
...     "arguments": {"city": "Paris"}}], "results": ['{"name": "w", "results": {"temp": 21}}']}]}]},
...     "tools": [{"name": "w", "parameters": {"properties": {"city": {"type": "string"}}}}]})
>>> s = EpisodeSession(ep, "hermes")
>>> s.respond('<tool_call>{"name": "w", "arguments": {"city": "Paris"}}</tool_call>')
[{'role': 'tool', 'content': '[{"name": "w", "results": {"temp": 21}}]'}]
>>> s.respond("It is 21 degrees in Paris."), s.stop
([], 'answered')
"""

from __future__ import annotations

import importlib
import json
import threading
from dataclasses import dataclass
from typing import Any, Sequence

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.episode import RECORD_KEY, Episode, ends_segment  # noqa: F401 - RECORD_KEY re-exported
from toolzero_verl.core.formats import DEFAULT_LIMITS, ParseLimits, get_format
from toolzero_verl.core.options import Options, option
from toolzero_verl.tools.executors import (
    ARGUMENTS_TOO_LARGE,
    BAD_CALL_SYNTAX,
    EXECUTOR_ERROR,
    TIMEOUT,
    TOO_MANY_CALLS,
    Executor,
    ToolResult,
    as_result,
    failure,
    get_executor,
)

TOOL_ROLE = "tool"
TRUNCATE_SIDES = ("left", "middle", "right")  # verl's multi_turn.tool_response_truncate_side values
TRUNCATED = "...(truncated)..."
# Stop reasons (the record's "stop"); the agent loop adds the token-budget ones.
ANSWERED = "answered"
TURN_LIMIT = "turn_limit"
RESPONSE_LENGTH = "response_length"
MAX_ARGUMENT_CHARS = 8192  # a call's arguments as JSON; the whole turn is bounded by the parse limit (32 KiB)
ARGUMENT_HELP = "a call whose arguments' JSON is longer is not executed"
CALL_TIMEOUT_S = 10.0
TIMEOUT_HELP = "seconds an executor may take for one call"


@dataclass(frozen=True)
class SessionLimits(Options):
    """Bounds of one episode. The agent loop fills the first four from verl's own ``multi_turn``
    settings and the rest from ``actor_rollout_ref.rollout.custom.toolzero`` (docs/multiturn.md, "Limits")."""

    max_turns: int | None = option(None, min=1, help="assistant turns per episode (verl: max_assistant_turns)")
    max_calls_per_turn: int = option(8, min=1,
                                     help="calls executed per turn; more get an error (verl: max_parallel_calls)")
    max_result_chars: int = option(4096, min=16,
                                   help="characters of one call's result (verl: max_tool_response_length)")
    truncate_side: str = option("middle", choices=TRUNCATE_SIDES, help="where a long result is cut (verl's setting)")
    max_argument_chars: int = option(MAX_ARGUMENT_CHARS, min=2, help=ARGUMENT_HELP)
    call_timeout_s: float = option(CALL_TIMEOUT_S, above=0.0, help=TIMEOUT_HELP)


@dataclass(frozen=True)
class AgentLoopOptions(Options):
    """Our own agent-loop options: ``+actor_rollout_ref.rollout.custom.toolzero.<name>=<value>``."""

    max_argument_chars: int = option(MAX_ARGUMENT_CHARS, min=2, help=ARGUMENT_HELP)
    call_timeout_s: float = option(CALL_TIMEOUT_S, above=0.0, help=TIMEOUT_HELP)
    pass_tools_to_template: bool = option(
        False, help="also pass the row's tool schemas to the chat template as tools= (the system prompt lists them)")
    executor_modules: tuple[str, ...] = option((), help="modules to import first: they register user executors")
    output_format: str | None = option(
        None, help="parse turns in this format (default: the row's extra_info.output_format)")


def truncate(text: str, limit: int, side: str = "middle") -> str:
    """``text`` cut to about ``limit`` characters with a marker where it was cut (as verl cuts tool responses).

    >>> truncate("abcdefghij" * 3, 16)
    'abcdefg...(truncated)...defghij'
    """
    if len(text) <= limit:
        return text
    if side == "left":
        return TRUNCATED + text[-limit:]
    if side == "right":
        return text[:limit] + TRUNCATED
    half = limit // 2
    return text[:half] + TRUNCATED + text[len(text) - half:]


def import_executor_modules(modules: Sequence[str]) -> None:
    """Import the modules that register user executors (``executor_modules``)."""
    for name in modules:
        importlib.import_module(name)


def run_bounded(executor: Executor, call: ToolCall, timeout_s: float) -> ToolResult:
    """``executor.execute(call)`` as a :class:`ToolResult`: an exception or a timeout becomes an error text.

    A user executor runs in a daemon thread that is abandoned on timeout (Python cannot stop a thread:
    give real API clients their own network timeouts too); the built-ins run inline.
    """
    if getattr(executor, "inline", False):
        try:
            return as_result(executor.execute(call))
        except Exception as exc:  # noqa: BLE001 - an executor bug must not end the rollout
            return failure(call.name, EXECUTOR_ERROR, f"the tool failed: {type(exc).__name__}")
    box: list[Any] = []

    def target() -> None:
        try:
            box.append(as_result(executor.execute(call)))
        except Exception as exc:  # noqa: BLE001
            box.append(failure(call.name, EXECUTOR_ERROR, f"the tool failed: {type(exc).__name__}"))

    worker = threading.Thread(target=target, name=f"toolzero-call-{call.name[:20]}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if not box:
        return failure(call.name, TIMEOUT, f"the tool did not answer within {timeout_s:g} s")
    return box[0]


def _arguments_size(call: ToolCall) -> int:
    try:
        return len(json.dumps(call.arguments, ensure_ascii=False, default=repr))
    except (ValueError, RecursionError):  # circular or absurdly deep: too large by definition
        return 1 << 62


class EpisodeSession:
    """The state of one episode (see the module docstring)."""

    def __init__(self, episode: Episode, output_format: str, limits: SessionLimits = SessionLimits(),
                 executor: Executor | None = None, parse_limits: ParseLimits = DEFAULT_LIMITS):
        self.episode = episode
        self.fmt = get_format(output_format)
        self.limits = limits
        self.parse_limits = parse_limits
        self.executor = executor if executor is not None else get_executor(episode.executor).for_episode(episode)
        self.turns: list[str] = []
        self.segment = 0
        self.stop: str | None = None
        self.calls = self.errors = self.tool_turns = self.user_turns = 0

    @property
    def done(self) -> bool:
        return self.stop is not None

    def finish(self, reason: str) -> None:
        """End the episode from outside (the agent loop's token budget), keeping the first reason."""
        if self.stop is None:
            self.stop = reason

    def respond(self, text: str) -> list[dict[str, str]]:
        """Take the policy's turn; the messages to append next (none when the episode is over)."""
        if self.done:
            return []
        text = text if isinstance(text, str) else ""
        self.turns.append(text)
        parsed = self.fmt.parse(text, self.episode.known_names, self.parse_limits)
        answers = ends_segment(parsed)
        if answers and self.segment + 1 >= len(self.episode.segments):
            self.segment += 1
            self.stop = ANSWERED
            return []
        if self.limits.max_turns is not None and len(self.turns) >= self.limits.max_turns:
            # the last allowed turn: nothing it asks for is run (its results would never reach the policy),
            # so the record counts only the tool turns the policy saw
            self.stop = TURN_LIMIT
            return []
        if answers:
            self.segment += 1
            messages = [{"role": "user", "content": self.episode.segments[self.segment].user or ""}]
            self.user_turns += 1
        elif not parsed.parse_ok:
            self.errors += 1
            self.tool_turns += 1
            why = "the response is too long" if parsed.error == "too_long" else f"{parsed.error or 'broken syntax'}"
            entry = json.dumps({"error": f"{BAD_CALL_SYNTAX}: could not read the tool call(s) ({why})"[:500]})
            messages = [{"role": TOOL_ROLE, "content": f"[{entry}]"}]
        else:
            messages = [{"role": TOOL_ROLE, "content": self._execute(parsed.calls)}]
            self.tool_turns += 1
        return messages

    def _execute(self, calls: Sequence[ToolCall]) -> str:
        limits = self.limits
        entries = []
        for index, call in enumerate(calls):
            self.calls += 1
            if index >= limits.max_calls_per_turn:
                result = failure(call.name, TOO_MANY_CALLS,
                                 f"only {limits.max_calls_per_turn} call(s) per turn are executed")
            elif _arguments_size(call) > limits.max_argument_chars:
                result = failure(call.name, ARGUMENTS_TOO_LARGE,
                                 f"the arguments are longer than {limits.max_argument_chars} characters")
            else:
                result = self.executor.check(call) or run_bounded(self.executor, call, limits.call_timeout_s)
            self.errors += not result.ok
            text = result.text if result.text.lstrip().startswith("{") else json.dumps(
                {"name": call.name, "results": result.text}, ensure_ascii=False)
            entries.append(truncate(text, limits.max_result_chars, limits.truncate_side))
        return "[" + ", ".join(entries) + "]"

    def record(self) -> dict[str, Any]:
        """What happened, for the episode reward and the logs (JSON-able; stored under :data:`RECORD_KEY`)."""
        return {
            "turns": list(self.turns),
            "calls": self.calls,
            "errors": self.errors,
            "tool_turns": self.tool_turns,
            "user_turns": self.user_turns,
            "stop": self.stop or "",
        }
