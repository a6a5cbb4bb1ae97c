"""``--agent-loop``: samples -> multi-turn episodes for verl's agent loop (docs/data.md §12, docs/multiturn.md).

An episode row's prompt is the conversation up to the episode's first user turn; its ground truth
(:mod:`toolzero_verl.core.episode`) holds the rest: the gold calls of every later assistant turn with
the results the corpus recorded for them, the reference text of every final answer, and the user turns
to replay. :func:`episode_from_sample` reads that from a sample whose history is the dialogue so far:

- a ToolACE dialogue (:func:`toolace_dialogue`: the sample of its last assistant turn, every earlier
  turn validated, the calls as validated): the episode starts at the first user turn and runs to the
  end, the recorded tool turns become the steps' results (a trailing tool turn after the last call too);
- a single-turn sample (xLAM, Hammer, ToolRL): one request, its gold calls as one step (no recorded
  result), an unknown final answer; a no-call sample: one request answered by its reference text;
- Tool Zero's augmented dialogues (``concat``, ``clarify``): as ToolACE's (their tool turns are the
  augmentations' synthetic results); ``correct``: the erroneous calls and their results stay in the
  prompt and the episode asks for the fixing calls (an episode that began at the first user turn
  would have to repeat the error). ``reintroduce`` changes the tools mid-dialogue, which one episode
  cannot express: it is refused with ``--agent-loop``.

Each recorded tool turn (a JSON list of ``{"name", "results"}``, one per call) is split into one
entry per call: by position when the counts agree, else by name in order; an entry that cannot be
found stays unrecorded (the replay executor then simulates that gold call).

>>> from toolzero_verl.core.calls import ToolCall
>>> from data_prep.sample import Message, Sample
>>> tool = {"name": "w", "description": "", "parameters": {"type": "object", "properties": {}, "required": []}}
>>> s = Sample("toolace", "0", (Message("user", "Weather?"), Message("assistant", "", (ToolCall("w", {}),)),
...            Message("tool", '[{"name": "w", "results": {"t": 21}}]')), (tool,), (), "It is 21.")
>>> ep = episode_from_sample(s)
>>> ep.executor, ep.segments[0].steps[0].results, ep.segments[0].answer
('replay', ('{"name": "w", "results": {"t": 21}}',), 'It is 21.')
>>> len(episode_context(s))
1
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Callable, Sequence

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.episode import Episode, Segment, Step

from . import reasons as R
from .sample import Message, Rejected, Sample

SINGLE_TURN_AGENT = "single_turn_agent"  # verl's default loop (what a single-turn row runs)
EXECUTOR_CHOICES = ("auto", "replay", "simulate")  # auto: replay when the episode recorded a result
TRAILING_RESULTS = "trailing_results"  # Sample.extra key: a tool turn after the dialogue's last call
TARGET_START = frozenset({"correct"})  # augmentations whose history stays in the prompt


class NotAnEpisode(ValueError):
    """The sample's dialogue has a shape an episode cannot replay (reason ``unsupported_dialogue``)."""


def _augmentations(sample: Sample) -> set[str]:
    tag = dict(sample.extra).get("augmentation", "") if sample.extra else ""
    return {part.split(":")[0] for part in str(tag).split("+") if part}


def episode_start(sample: Sample) -> int:
    """How many of the sample's messages stay in the prompt: up to and including the first user turn,
    or all of them for the ``correct`` augmentation (see the module docstring)."""
    if _augmentations(sample) & TARGET_START:
        return len(sample.messages)
    for i, m in enumerate(sample.messages):
        if m.role == "user":
            return i + 1
    raise NotAnEpisode("no user turn")


def episode_context(sample: Sample) -> tuple[Message, ...]:
    """The messages of the episode row's prompt (after the system prompt)."""
    return sample.messages[: episode_start(sample)]


def split_results(text: str, calls: Sequence[ToolCall]) -> tuple[str | None, ...]:
    """One recorded result text per call from a tool turn (see the module docstring).

    >>> split_results('[{"name": "a", "results": 1}, {"name": "b", "results": 2}]', [ToolCall("b"), ToolCall("a")])
    ('{"name": "b", "results": 2}', '{"name": "a", "results": 1}')
    >>> split_results("plain text", [ToolCall("a")])
    ('plain text',)
    """
    try:
        entries = json.loads(text)
    except (ValueError, RecursionError):
        entries = None
    if not isinstance(entries, list) or not entries:
        return (text,) if len(calls) == 1 else (None,) * len(calls)
    texts = [json.dumps(e, ensure_ascii=False) for e in entries]
    names = [e.get("name") if isinstance(e, dict) else None for e in entries]
    if len(entries) == len(calls) and all(n is None or n == c.name for n, c in zip(names, calls)):
        return tuple(texts)
    unused = list(range(len(entries)))
    out: list[str | None] = []
    for call in calls:
        hit = next((i for i in unused if names[i] == call.name), None)
        if hit is None and len(calls) == 1 and len(entries) == 1:
            hit = 0
        if hit is not None:
            unused.remove(hit)
        out.append(None if hit is None else texts[hit])
    return tuple(out)


def episode_from_sample(sample: Sample, executor: str = "auto") -> Episode:
    """The episode of a sample (see the module docstring). Raises :class:`NotAnEpisode`."""
    start = episode_start(sample)
    segments: list[Segment] = []
    user: str | None = None
    steps: list[Step] = []
    answered = False  # the current request got its text answer
    last_step_open = False  # the last step has no tool turn yet
    for m in sample.messages[start:]:
        if m.role == "assistant":
            if answered:
                raise NotAnEpisode("two assistant turns in a row without a user turn between")
            if m.calls:
                steps.append(Step(m.calls, (None,) * len(m.calls)))
                last_step_open = True
            else:
                segments.append(Segment(user, tuple(steps), m.content))
                user, steps, answered, last_step_open = None, [], True, False
        elif m.role == "tool":
            if not last_step_open:
                raise NotAnEpisode("a tool turn that follows no call")
            steps[-1] = Step(steps[-1].calls, split_results(m.content, steps[-1].calls))
            last_step_open = False
        elif m.role == "user":
            if not answered:  # the dialogue moved on without an answer to the open request
                if not steps:
                    raise NotAnEpisode("two user turns in a row")
                segments.append(Segment(user, tuple(steps), None))
            user, steps, answered, last_step_open = m.content, [], False, False
        else:
            raise NotAnEpisode(f"a {m.role!r} turn")
    if answered:
        raise NotAnEpisode("the target follows an assistant turn")
    if sample.calls:
        trailing = dict(sample.extra).get(TRAILING_RESULTS) if sample.extra else None
        results = split_results(trailing, sample.calls) if isinstance(trailing, str) else (None,) * len(sample.calls)
        steps.append(Step(sample.calls, results))
        segments.append(Segment(user, tuple(steps), None))
    else:
        segments.append(Segment(user, tuple(steps), sample.answer))
    if segments[0].user is not None:
        raise NotAnEpisode("the episode does not start at a user turn")
    recorded = any(r is not None for seg in segments for st in seg.steps for r in st.results)
    name = executor if executor != "auto" else ("replay" if recorded else "simulate")
    return Episode(tuple(segments), tuple(sample.tools), name)


def episode_problem(sample: Sample) -> str | None:
    """Why the sample makes no episode (None when it does)."""
    try:
        episode_from_sample(sample)
    except NotAnEpisode as exc:
        return str(exc)
    return None


def toolace_dialogue(turns: Sequence[Sample | Rejected], raw_conversation: Sequence[Any],
                     check: Callable[[Sample], Any]) -> Sample | Rejected:
    """A whole ToolACE dialogue as one sample: the sample of its last assistant turn, with every earlier
    assistant turn's calls as validated (``check`` returns a :class:`~data_prep.validate.Checked`) and a
    trailing tool turn kept in ``extra``. The first rejected turn rejects the dialogue."""
    checked: list[Sample] = []
    for item in turns:
        rejected = item if isinstance(item, Rejected) else None
        if rejected is None:
            result = check(item)
            rejected = result.rejected
        if rejected is not None:  # the dialogue is the candidate: name it, and the turn in the detail
            return replace(rejected, source_id=rejected.source_id.split(":")[0],
                           detail=f"turn {rejected.source_id}: {rejected.detail}")
        checked.append(result.sample)
    if not checked:
        raise ValueError("a dialogue without assistant turns")
    last = checked[-1]
    earlier = iter(checked[:-1])
    history = []
    for m in last.messages:
        if m.role == "assistant":
            turn = next(earlier, None)
            if turn is not None and turn.calls:
                m = Message("assistant", m.content, turn.calls)
        history.append(m)
    extra = dict(last.extra)
    if raw_conversation and isinstance(raw_conversation[-1], dict) and raw_conversation[-1].get("from") in (
            "tool", "observation") and last.calls:
        extra[TRAILING_RESULTS] = raw_conversation[-1].get("value")
    sid = last.source_id.split(":")[0]
    out = replace(last, source_id=sid, messages=tuple(history), extra=tuple(extra.items()))
    problem = episode_problem(out)
    if problem is not None:
        return Rejected(last.source, sid, R.UNSUPPORTED_DIALOGUE, problem)
    return out
