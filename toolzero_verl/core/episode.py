"""The ground truth of a multi-turn episode (docs/multiturn.md, "Data format"), and how turns align with it.

A single-turn row asks for one assistant turn; an *episode* row asks the policy to work through a
whole dialogue in verl's agent loop: it calls tools, reads their results (tool turns, executed by an
executor), answers the user, reads the user's next request (replayed from the recorded dialogue)
and so on. Its ``reward_model.ground_truth`` is this JSON (``toolzero-prep --agent-loop`` writes it)::

    {"episode": {"executor": "replay",
                 "segments": [{"user": null,
                               "steps": [{"calls": [{"name": "f", "arguments": {"x": 1}}],
                                          "results": ["{\\"name\\": \\"f\\", \\"results\\": {...}}"]}],
                               "answer": "final text of this request, or null"},
                              {"user": "the next request (replayed)", "steps": [...], "answer": ...}]},
     "tools": [...]}

- a **segment** is one user request: the first one's user turn is the end of the row's prompt
  (``user`` is null), later ones are replayed verbatim after the policy answers the previous request;
- a **step** is one assistant turn of gold calls, with the recorded result of each call (the text a
  replay executor returns; null where the corpus recorded none);
- ``answer`` is the reference text of the request's final, no-call turn (null when the corpus has none).

The policy's turns meet this ground truth at **points**: each step, then the segment's final answer.
:func:`align` walks the turns and moves to the next point only when a turn makes the step's calls
AST-exactly (the BFCL-semantics check of :mod:`toolzero_verl.core.matching`); a turn without a call
(:func:`ends_segment`) answers the request and moves to the next segment. The agent loop and the
episode reward use these two functions, so they agree on where a turn belongs.

>>> ep = load_episode({"episode": {"segments": [{"user": None, "steps": [{"calls": [{"name": "f",
...     "arguments": {"x": 1}}], "results": ["{}"]}], "answer": "done"}]}, "tools": [{"name": "f"}]})
>>> [str(p) for p in ep.points], ep.n_gold_calls
(['1.1', '1.final'], 1)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Mapping, NamedTuple, Sequence

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.formats import OutputFormat, ParsedResponse
from toolzero_verl.core.ground_truth import GT_CACHE_SIZE, GroundTruth, derive_possible_answers
from toolzero_verl.core.matching import ast_match

EPISODE_KEY = "episode"  # the key that marks an episode ground truth
DEFAULT_EXECUTOR = "replay"
FINAL = -1  # the step index of a segment's final-answer point
# extra_info key under which the agent loop hands the episode's record (its turns' texts and counts) to
# the reward (verl copies AgentLoopOutput.extra_fields into the reward's extra_info)
RECORD_KEY = "toolzero_episode"
# The agent loop episode rows name in their agent_name column (toolzero-prep --agent-loop writes it,
# toolzero_verl/plugin/agent_loop.py registers the loop under it in verl, toolzero-eval runs it).
AGENT_NAME = "toolzero_agent"
# What a gold trajectory says at a final answer whose reference text the corpus did not record
UNRECORDED_ANSWER = "Done."


@dataclass(frozen=True)
class Step:
    """One assistant turn of gold calls and the recorded result text of each (None: not recorded)."""

    calls: tuple[ToolCall, ...]
    results: tuple[str | None, ...]


@dataclass(frozen=True)
class Segment:
    """One user request: its user turn (None for the first, which ends the prompt), steps, final answer."""

    user: str | None
    steps: tuple[Step, ...]
    answer: str | None = None


class Point(NamedTuple):
    """Where a turn belongs: a step of a segment, or (``step == FINAL``) the segment's final answer."""

    segment: int
    step: int

    def __str__(self) -> str:
        return f"{self.segment + 1}.{'final' if self.step == FINAL else self.step + 1}"


@dataclass(frozen=True)
class Episode:
    """A loaded episode ground truth (see the module docstring)."""

    segments: tuple[Segment, ...]
    tools: tuple[dict, ...] = ()
    executor: str = DEFAULT_EXECUTOR
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @cached_property
    def points(self) -> tuple[Point, ...]:
        """Every point, in order: each segment's steps, then its final answer."""
        return tuple(
            Point(s, j) for s, seg in enumerate(self.segments) for j in (*range(len(seg.steps)), FINAL)
        )

    @cached_property
    def tool_names(self) -> tuple[str, ...]:
        return tuple(t["name"] for t in self.tools)

    @cached_property
    def known_names(self) -> tuple[str, ...]:
        """Names a parser should recognise: the tools offered and every gold call."""
        return self.tool_names + tuple(c.name for c, _ in self.recorded)

    @cached_property
    def recorded(self) -> tuple[tuple[ToolCall, str | None], ...]:
        """Every gold call with its recorded result, in dialogue order (what a replay executor serves)."""
        return tuple((c, r) for seg in self.segments for step in seg.steps for c, r in zip(step.calls, step.results))

    @property
    def n_gold_calls(self) -> int:
        return len(self.recorded)

    def schema(self, name: str) -> dict | None:
        for tool in self.tools:
            if tool["name"] == name:
                return tool
        return None

    def reference(self, point: Point) -> GroundTruth:
        """The single-turn ground truth of one point: the step's calls, or no call with the final answer.

        Built once per point (loaded episodes are cached, and GRPO scores each one ``rollout.n`` times).
        """
        try:
            return self._memo[point]
        except KeyError:
            pass
        seg = self.segments[point.segment]
        if point.step == FINAL:
            gt = GroundTruth((), self.tools, (), seg.answer)
        else:
            calls = seg.steps[point.step].calls
            gt = GroundTruth(calls, self.tools, tuple(derive_possible_answers(calls, self.tools)), None)
        self._memo[point] = gt
        return gt


def gold_turn(episode: Episode, point: Point, fmt: OutputFormat, think: str = "") -> str:
    """The reference turn at a point, written in ``fmt``: the step's calls, or the final answer's text
    (:data:`UNRECORDED_ANSWER` where none was recorded). The turns of the gold trajectory, for tests, the
    tiny model's warm start and examples.

    >>> from toolzero_verl.core.formats import get_format
    >>> ep = load_episode({"episode": {"segments": [{"user": None, "steps": [], "answer": None}]}})
    >>> print(gold_turn(ep, ep.points[0], get_format("answer")))
    <think></think>
    <answer>Done.</answer>
    """
    ref = episode.reference(point)
    return fmt.render(ref.calls, None if ref.calls else (ref.answer or UNRECORDED_ANSWER), think=think)


# --- JSON ---------------------------------------------------------------------------------------


def episode_dict(episode: Episode) -> dict[str, Any]:
    """The JSON form of an episode (what :func:`load_episode` reads)."""
    return {
        EPISODE_KEY: {
            "executor": episode.executor,
            "segments": [
                {
                    "user": seg.user,
                    "steps": [{"calls": [c.to_dict() for c in st.calls], "results": list(st.results)}
                              for st in seg.steps],
                    "answer": seg.answer,
                }
                for seg in episode.segments
            ],
        },
        "tools": list(episode.tools),
    }


def is_episode(ground_truth: Any) -> bool:
    """Does this ground truth (JSON text or dict) describe an episode? Cheap: no full parse of text."""
    if isinstance(ground_truth, Episode):
        return True
    if isinstance(ground_truth, Mapping):
        return EPISODE_KEY in ground_truth
    return isinstance(ground_truth, str) and ground_truth.lstrip().startswith('{"' + EPISODE_KEY + '"')


def load_episode(ground_truth: str | Mapping[str, Any] | Episode) -> Episode:
    """Load an episode ground truth; a malformed one is a data bug: ``ValueError`` saying what is wrong."""
    if isinstance(ground_truth, Episode):
        return ground_truth
    if isinstance(ground_truth, str):
        return _load_cached(ground_truth)
    if isinstance(ground_truth, Mapping):
        return _from_mapping(ground_truth)
    raise ValueError(f"an episode ground truth must be a JSON string or dict, got {type(ground_truth).__name__}")


@lru_cache(maxsize=GT_CACHE_SIZE)
def _load_cached(text: str) -> Episode:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"episode ground truth is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError("episode ground truth must be a JSON object")
    return _from_mapping(obj)


def _from_mapping(obj: Mapping[str, Any]) -> Episode:
    body = obj.get(EPISODE_KEY)
    if not isinstance(body, Mapping):
        raise ValueError(f"episode ground truth needs an {EPISODE_KEY!r} object; keys are {sorted(obj)}")
    tools = obj.get("tools") or ()
    if not isinstance(tools, (list, tuple)) or not all(isinstance(t, Mapping) and isinstance(t.get("name"), str)
                                                       for t in tools):
        raise ValueError("episode 'tools' must be a list of tool objects with a string 'name'")
    executor = body.get("executor", DEFAULT_EXECUTOR)
    if not isinstance(executor, str) or not executor:
        raise ValueError("episode 'executor' must be a non-empty string")
    raw_segments = body.get("segments")
    if not isinstance(raw_segments, list) or not raw_segments:
        raise ValueError("episode 'segments' must be a non-empty list")
    segments = tuple(_segment(i, s) for i, s in enumerate(raw_segments))
    return Episode(segments, tuple(dict(t) for t in tools), executor)


def _segment(i: int, raw: Any) -> Segment:
    where = f"episode segments[{i}]"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must be an object")
    user = raw.get("user")
    if i == 0 and user is not None:
        raise ValueError(f"{where}: the first request's user turn ends the prompt, so 'user' must be null")
    if i > 0 and (not isinstance(user, str) or not user.strip()):
        raise ValueError(f"{where}: 'user' must be the text of the replayed user turn")
    answer = raw.get("answer")
    if answer is not None and not isinstance(answer, str):
        raise ValueError(f"{where}: 'answer' must be a string or null")
    raw_steps = raw.get("steps", [])
    if not isinstance(raw_steps, list):
        raise ValueError(f"{where}: 'steps' must be a list")
    steps = []
    for j, st in enumerate(raw_steps):
        if not isinstance(st, Mapping) or not isinstance(st.get("calls"), list) or not st["calls"]:
            raise ValueError(f"{where}.steps[{j}] needs a non-empty 'calls' list")
        try:
            calls = tuple(ToolCall.from_dict(c) for c in st["calls"])
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}.steps[{j}]: a call is invalid: {exc}") from None
        results = st.get("results", [None] * len(calls))
        if not isinstance(results, list) or len(results) != len(calls) or not all(
                r is None or isinstance(r, str) for r in results):
            raise ValueError(f"{where}.steps[{j}]: 'results' must hold one string (or null) per call")
        steps.append(Step(calls, tuple(results)))
    return Segment(user, tuple(steps), answer)


# --- turns and points ------------------------------------------------------------------------------


def ends_segment(parsed: ParsedResponse) -> bool:
    """A turn without a tool call answers the user's request (as verl's ``ToolAgentLoop`` stops on a
    turn without calls); broken call syntax does not: the policy gets the error and may try again."""
    return parsed.parse_ok and not parsed.calls


def is_exact(parsed: ParsedResponse, reference: GroundTruth) -> bool:
    """AST-exact at a point. A parse failure is never exact, even where the right move is not to call."""
    if not parsed.parse_ok:
        return False
    if not reference.calls:
        return not parsed.calls and parsed.text is not None  # an answer, not silence
    return ast_match(parsed.calls, reference).ok


class Alignment(NamedTuple):
    """Each turn's point, whether it was exact there, and the points no turn reached."""

    points: tuple[Point, ...]
    exact: tuple[bool, ...]
    missed: tuple[Point, ...]


def align(episode: Episode, turns: Sequence[ParsedResponse]) -> Alignment:
    """Assign each turn to a point (see the module docstring).

    A call turn belongs to the current step and moves to the next step when exact; after the last
    step it belongs to the final answer (where a call is wrong). A turn without a call belongs to the
    current point and ends the segment, so a request answered before its steps were done leaves them
    missed. Turns after the last segment (possible only in hand-made trajectories) belong to the last
    final answer. Points that no turn reached are ``missed``.

    >>> ep = load_episode({"episode": {"segments": [{"user": None, "steps": [{"calls": [{"name": "f",
    ...     "arguments": {}}]}], "answer": None}]}, "tools": [{"name": "f"}]})
    >>> from toolzero_verl.core.formats import get_format
    >>> fmt = get_format("hermes")
    >>> a = align(ep, [fmt.parse('<tool_call>{"name": "g", "arguments": {}}</tool_call>'), fmt.parse("Sorry.")])
    >>> [str(p) for p in a.points], a.exact, [str(p) for p in a.missed]
    (['1.1', '1.1'], (False, False), ['1.final'])
    """
    segments = episode.segments
    points: list[Point] = []
    exact: list[bool] = []
    s, j = 0, 0
    for parsed in turns:
        if s >= len(segments):
            point = Point(len(segments) - 1, FINAL)
        else:
            point = Point(s, j if j < len(segments[s].steps) else FINAL)
        if s >= len(segments):  # the episode was over: nothing after it is right
            points.append(point)
            exact.append(False)
            continue
        ok = is_exact(parsed, episode.reference(point))
        points.append(point)
        exact.append(ok)
        if ends_segment(parsed):
            s, j = s + 1, 0
        elif ok and point.step != FINAL:
            j += 1
    reached = set(points)
    missed = tuple(p for p in episode.points if p not in reached)
    return Alignment(tuple(points), tuple(exact), missed)
