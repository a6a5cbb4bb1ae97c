"""Ground truth stored in ``reward_model.ground_truth`` (docs/rewards.md, "Ground truth"), and ToolRL's raw strings.

Two inputs load into one :class:`GroundTruth`:

- our JSON (string or dict): ``{"calls", "tools", "possible_answers", "answer"}``;
- ToolRL's reference text ``<think>…</think>\\n<tool_call>\\n{…}\\n</tool_call>`` and/or ``<response>…``.

Ground truth is data we wrote, so a bad one is a bug: :func:`load_ground_truth` raises
``ValueError`` naming what is wrong — for any input, never ``TypeError``, ``AttributeError`` or
``RecursionError``: values must be JSON (strings, numbers, booleans, null, lists, objects with string
keys) nested at most :data:`MAX_GT_DEPTH` deep, and tools must have the shape of a tool doc. Loading
is cached because GRPO scores every prompt ``n`` times.

>>> gt = load_ground_truth('{"calls": [{"name": "f", "arguments": {"x": 1}}]}')
>>> gt.calls[0].name, gt.possible_answers
('f', ({'f': {'x': [1]}},))
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Callable, Mapping, Sequence

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.tags import between

GT_CACHE_SIZE = 8192  # distinct prompts kept parsed; a 128-prompt step uses 128
# Nesting of a whole ground-truth object (lists and objects, the wrapper included). Real ones stay below
# 20; the bound keeps every recursive walk of gold values (rendering, matching, hashing) far from
# Python's recursion limit.
MAX_GT_DEPTH = 64
_JSON_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class GroundTruth:
    calls: tuple[ToolCall, ...]
    tools: tuple[dict, ...] = ()
    possible_answers: tuple[dict[str, dict[str, list]], ...] = ()  # BFCL layout, aligned with calls
    answer: str | None = None
    toolrl_text: str | None = None  # the raw ToolRL reference, when that is what we were given
    # Values derived from this reference (e.g. its rendering per output format), computed once:
    # loaded ground truths are cached, and GRPO scores each one rollout.n times.
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @cached_property
    def tool_names(self) -> tuple[str, ...]:
        return tuple(t["name"] for t in self.tools)

    @cached_property
    def known_names(self) -> tuple[str, ...]:
        """Names the parser should recognise: tools offered plus gold calls."""
        return self.tool_names + tuple(c.name for c in self.calls)

    def memo(self, key: Any, compute: Callable[..., Any], *args: Any) -> Any:
        """``compute(*args)`` once per key for this reference (pass ``args`` rather than a closure on hot
        paths: nothing is allocated when the value is already there)."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = compute(*args)
            return value

    def schema(self, name: str) -> dict | None:
        for tool in self.tools:
            if tool["name"] == name:
                return tool
        return None


def load_ground_truth(ground_truth: str | Mapping[str, Any] | GroundTruth) -> GroundTruth:
    """Load our JSON schema (string or dict) or a ToolRL reference string."""
    if type(ground_truth) is str:  # the common case (parquet strings): skip the ABC checks below
        return _load_cached(ground_truth)
    if isinstance(ground_truth, GroundTruth):
        return ground_truth
    if isinstance(ground_truth, Mapping):
        return _from_mapping(ground_truth)
    if not isinstance(ground_truth, str):
        raise ValueError(f"ground_truth must be a JSON string or dict, got {type(ground_truth).__name__}")
    return _load_cached(ground_truth)


@lru_cache(maxsize=GT_CACHE_SIZE)
def _load_cached(text: str) -> GroundTruth:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        obj = _json_loads(text, "ground_truth")
        if not isinstance(obj, Mapping):
            raise ValueError(f"ground_truth JSON must be an object, got {type(obj).__name__}")
        return _from_mapping(obj)
    if "<tool_call>" in text or "<response>" in text or stripped.startswith("<think>"):
        return from_toolrl_text(text)
    raise ValueError(
        "ground_truth is neither our JSON schema ({\"calls\": …}) nor a ToolRL reference "
        f"(<think>…<tool_call>…); starts with {text[:60]!r}"
    )


def _json_loads(text: str, what: str) -> Any:
    """``json.loads`` whose every failure (bad JSON, nesting past the parser's recursion) is a ValueError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply (at most {MAX_GT_DEPTH} levels)") from None
    except ValueError as exc:  # JSONDecodeError, and ints past Python's digit limit
        raise ValueError(f"{what} is not valid JSON: {exc}") from None


def check_json_value(value: Any, where: str, max_depth: int = MAX_GT_DEPTH) -> None:
    """Raise ``ValueError`` unless ``value`` is JSON (plus tuples) nested at most ``max_depth`` deep.

    Iterative, so a hostile depth cannot raise ``RecursionError``.

    >>> check_json_value({"a": [1, {"b": None}]}, "x")
    >>> check_json_value({"a": {1, 2}}, "ground_truth")
    Traceback (most recent call last):
    ...
    ValueError: ground_truth holds a value of type set, which is not JSON
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, _JSON_SCALARS):
            continue
        if depth > max_depth:
            raise ValueError(f"{where} is nested too deeply (at most {max_depth} levels)")
        if isinstance(item, Mapping):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise ValueError(f"{where} has a non-string object key {key!r:.40}")
                stack.append((sub, depth + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((sub, depth + 1) for sub in item)
        else:
            raise ValueError(f"{where} holds a value of type {type(item).__name__}, which is not JSON")


def _from_mapping(obj: Mapping[str, Any]) -> GroundTruth:
    check_json_value(obj, "ground_truth")
    if "calls" not in obj:
        raise ValueError(f"ground_truth JSON needs a 'calls' list; keys are {sorted(map(str, obj))}")
    raw_calls = obj["calls"]
    if not isinstance(raw_calls, (list, tuple)):
        raise ValueError("ground_truth 'calls' must be a list")
    calls = []
    for i, c in enumerate(raw_calls):
        try:
            calls.append(ToolCall.from_dict(c))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"ground_truth calls[{i}] is invalid: {exc}") from None
        check_json_value(calls[-1].arguments, f"ground_truth calls[{i}].arguments")  # JSON-string arguments
    raw_tools = obj.get("tools") or ()
    if not isinstance(raw_tools, (list, tuple)):
        raise ValueError(f"ground_truth 'tools' must be a list of tool docs, got {type(raw_tools).__name__}")
    tools = tuple(raw_tools)
    for i, t in enumerate(tools):
        _check_tool(t, i)
    possible = obj.get("possible_answers")
    if possible is None:
        possible = derive_possible_answers(calls, tools)
    else:
        _check_possible_answers(possible, calls)
    answer = obj.get("answer")
    if answer is not None and not isinstance(answer, str):
        raise ValueError("ground_truth 'answer' must be a string")
    return GroundTruth(tuple(calls), tuple(dict(t) for t in tools), tuple(possible), answer)


def _check_tool(tool: Any, i: int) -> None:
    """A tool doc: a string ``name``; ``parameters`` (if any) an object whose ``properties`` (if any) is
    an object and ``required`` (if any) a list of strings — the parts the reward reads."""
    if not isinstance(tool, Mapping) or not isinstance(tool.get("name"), str):
        raise ValueError(f"ground_truth tools[{i}] needs a string 'name'")
    params = tool.get("parameters")
    if params is None:
        return
    if not isinstance(params, Mapping):
        raise ValueError(f"ground_truth tools[{i}].parameters must be an object")
    props, required = params.get("properties"), params.get("required")
    if props is not None and not isinstance(props, Mapping):
        raise ValueError(f"ground_truth tools[{i}].parameters.properties must be an object")
    if required is not None and not (
        isinstance(required, (list, tuple)) and all(isinstance(r, str) for r in required)
    ):
        raise ValueError(f"ground_truth tools[{i}].parameters.required must be a list of parameter names")


def _check_possible_answers(possible: Any, calls: Sequence[ToolCall]) -> None:
    """BFCL layout: one ``{call name: {param: [allowed, ...]}}`` per gold call, in order."""
    if not isinstance(possible, list) or len(possible) != len(calls):
        n = len(possible) if isinstance(possible, list) else type(possible).__name__
        raise ValueError(
            f"ground_truth has {len(calls)} calls but possible_answers is {n}; one entry per call expected"
        )
    for i, (entry, call) in enumerate(zip(possible, calls)):
        if not isinstance(entry, dict) or list(entry) != [call.name]:
            raise ValueError(
                f"possible_answers[{i}] must be {{{call.name!r}: {{param: [allowed, ...]}}}}, got {entry!r:.80}"
            )
        params = entry[call.name]
        if not isinstance(params, dict) or not all(isinstance(v, list) for v in params.values()):
            raise ValueError(
                f"possible_answers[{i}][{call.name!r}] must map each parameter to a list of allowed values"
            )


def from_toolrl_text(text: str) -> GroundTruth:
    """Parse a ToolRL reference: the first ``<tool_call>`` block, one JSON call per line."""
    calls: list[ToolCall] = []
    if "<tool_call>" in text:
        block = text.split("<tool_call>")[1].split("</tool_call>")[0].strip()
        for n, line in enumerate(block.split("\n")):
            where = f"ToolRL ground truth line {n} of <tool_call>"
            obj = _json_loads(line, where)
            check_json_value(obj, where)
            try:
                calls.append(ToolCall.from_dict(obj))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{where} is not a call: {exc}") from None
    reply = between(text, "<response>", "</response>")
    answer = reply.strip() if reply is not None else None
    return GroundTruth(tuple(calls), (), tuple(derive_possible_answers(calls, ())), answer, text)


# --- possible answers -----------------------------------------------------------------------------


def allowed_values(value: Any) -> list:
    """BFCL's allowed-value list for one gold value: dicts hold allowed lists per key, lists of dicts
    hold one such dict per position (so they can be checked as BFCL does)."""
    return [_bfcl_shape(value)]


def _bfcl_shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: allowed_values(v) for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [_bfcl_shape(v) for v in value]
    return value


def derive_possible_answers(calls: Sequence[ToolCall], tools: Sequence[Mapping]) -> list[dict]:
    """``[{name: {param: [allowed…]}}]`` from gold calls (docs/rewards.md, "Ground truth").

    Each gold argument allows its gold value, and also omission (``""``) when the parameter is
    optional and the gold value is its schema default (``"unit": ["celsius", ""]``); an
    optional parameter that the gold call omits but whose schema gives a default allows
    ``["", default]``.
    """
    by_name = {t["name"]: t for t in tools}
    out = []
    for call in calls:
        schema = by_name.get(call.name, {}).get("parameters") or {}
        required = set(schema.get("required") or ())
        properties = schema.get("properties") or {}
        params = {}
        for name, value in call.arguments.items():
            params[name] = allowed_values(value)
            default = _default(properties, name, required)
            if default is not _NO_DEFAULT and default == value and type(default) is type(value):
                params[name].append("")
        for name in properties:
            default = _default(properties, name, required)
            if name not in params and default is not _NO_DEFAULT:
                params[name] = ["", default]
        out.append({call.name: params})
    return out


_NO_DEFAULT = object()


def _default(properties: Mapping, name: str, required: set) -> Any:
    """The schema default of an optional parameter, or ``_NO_DEFAULT``."""
    pschema = properties.get(name)
    # `type(...) is dict`: schemas come from JSON; an ABC isinstance check is slow on this hot path
    if name in required or type(pschema) is not dict or "default" not in pschema:
        return _NO_DEFAULT
    return pschema["default"]
