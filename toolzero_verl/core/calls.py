"""The canonical tool call shared by parsing, rewards, data_prep and eval.

Every output format parses into :class:`ToolCall` and every ground truth loads into it, so the
reward code never sees format-specific shapes.

>>> ToolCall("get_weather", {"city": "Paris"}).to_dict()
{'name': 'get_weather', 'arguments': {'city': 'Paris'}}
>>> strict_equal({"n": 1}, {"n": 1.0})
False
"""

from __future__ import annotations

import json
from typing import Any, Mapping, NamedTuple


class ToolCall(NamedTuple):
    """One function call: a name and its keyword arguments (JSON values, plus tuples).

    A NamedTuple rather than a frozen dataclass: it is built for every parsed call on the RL hot
    path, and tuple construction is several times cheaper.
    """

    name: str
    arguments: Mapping[str, Any] = {}  # never mutated; parsers always pass their own dict

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": dict(self.arguments)}

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> "ToolCall":
        """Build from ``{"name", "arguments"|"parameters"}``; OpenAI-style JSON-string arguments are decoded.

        Raises ``ValueError`` on anything that is not a call; callers on model output catch it.
        """
        if not isinstance(obj, Mapping):
            raise ValueError(f"a tool call must be an object, got {type(obj).__name__}")
        name = obj.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("a tool call needs a non-empty string 'name'")
        args = obj.get("arguments", obj.get("parameters", {}))
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except RecursionError:
                raise ValueError(f"arguments of {name!r} are nested too deeply") from None
        if args is None:
            args = {}
        if not isinstance(args, Mapping):
            raise ValueError(f"arguments of {name!r} must be an object, got {type(args).__name__}")
        return cls(name, dict(args))


def strict_equal(a: Any, b: Any) -> bool:
    """Type-sensitive deep equality: ``1 != 1.0 != True``; tuples and lists are distinct types."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    return a == b


def freeze(value: Any) -> Any:
    """A hashable, type-tagged image of a value, so calls can be counted as multisets."""
    if isinstance(value, dict):  # keys keep their type: {"1": x} and {1: x} differ
        return ("d", tuple(sorted(((type(k).__name__, str(k)), freeze(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("l" if isinstance(value, list) else "t", tuple(freeze(v) for v in value))
    return (type(value).__name__, value)


def call_key(call: ToolCall) -> Any:
    """Hashable identity of a call (name + strictly typed arguments), for multiset comparison."""
    return (call.name, freeze(dict(call.arguments)))
