"""Canned BFCL responses in our output formats, for checking our BFCL handler against BFCL's own evaluator.

Three kinds, built from BFCL's v4 data (questions with their function docs, answer keys):

- **answer keys** (:func:`answer_key_response`): the answer key of a single-turn entry as a correct model
  writes it in one output format (the first allowed value of each parameter that is required or whose
  first allowed value is not ``""``; :func:`toolzero_verl.eval.bfcl.answer_key_calls`). For Java and
  JavaScript every value is written as the source text BFCL's prompt asks for ("in string
  representation", bfcl-eval's ``utils._func_doc_language_specific_pre_processing``) and its type
  converters read back (:func:`java_text`, :func:`javascript_text`);
- **multi-turn ground truth** (:func:`multi_turn_response`): each turn's ground-truth call sequence as one
  response per turn, positional arguments named from the function doc (our formats use keywords only);
- **mutations** (:data:`MUTATIONS`): answer keys changed the ways BFCL's checker distinguishes (a value
  changed, a name changed, a parameter dropped or added, calls reordered, prose, broken syntax).

The ground-truth strings are BFCL's data, not model output; they are still read with ``ast`` and
``ast.literal_eval`` only.
"""

from __future__ import annotations

import ast
import json
from typing import Any, Callable, Mapping, Sequence

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.formats import get_format
from toolzero_verl.eval.bfcl import BfclEntry, ground_truth
from toolzero_verl.eval.bfcl_data import category_of

PROSE = "None of the functions fits this request."
THINK = "I compare the request with the functions."


def entry_of(question: Mapping[str, Any], answer: Sequence[Mapping] | None) -> BfclEntry:
    """A BFCL v4 question record (and its answer key) as our entry."""
    category = category_of(question["id"].rsplit("_", 1)[0])
    turns = question.get("question") or [[]]
    return BfclEntry(question["id"], category, tuple(turns[0]), tuple(question.get("function") or ()),
                     tuple(answer) if answer is not None else None)


def answer_key_calls(entry: BfclEntry) -> list[ToolCall]:
    """The representative passing answer of an entry: for live_relevance (no answer key: any call is
    right) a call of the first function without arguments; no calls for the irrelevance categories."""
    if entry.category == "live_relevance":
        return [ToolCall(entry.functions[0]["name"], {})]
    gt = ground_truth(entry)
    return [ToolCall.from_dict(c) for c in gt["calls"]]


def render(output_format: str, calls: Sequence[ToolCall]) -> str:
    """A complete response: calls, or a prose reply when there are none."""
    return get_format(output_format).render(list(calls), None if calls else PROSE, think=THINK)


# --- Java and JavaScript source text ---------------------------------------------------------------------


def _props(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    return (doc.get("parameters") or {}).get("properties") or {}


def java_text(value: Any, typ: str, item: str | None = None) -> str:
    """``value`` as the Java source text BFCL's ``java_type_converter`` reads back for a ``typ`` parameter.

    >>> java_text(True, "boolean"), java_text(5, "long"), java_text(0.5, "float"), java_text([1, 2], "Array", "integer")
    ('true', '5L', '0.5f', 'new integer[]{1, 2}')
    """
    if isinstance(value, str):
        return value  # a String, or a variable named by the answer key
    if typ == "boolean" or isinstance(value, bool):
        return "true" if value else "false"
    if typ == "long":
        return f"{value}L"
    if typ == "float":
        return f"{value}f"
    if typ == "double":
        return repr(float(value))
    if typ == "Array" and isinstance(value, list):
        # BFCL's parse_array converts String elements with java_type_converter(.., "String"), which keeps
        # quotes: the elements are written bare for the converter to return the answer key's strings.
        return f"new {item or 'Object'}[]{{" + ", ".join(_java_element(v, item, quoted=False) for v in value) + "}"
    if typ == "ArrayList" and isinstance(value, list):
        return "new ArrayList<>(Arrays.asList(" + ", ".join(_java_element(v, item, quoted=True) for v in value) + "))"
    if typ == "HashMap" and isinstance(value, dict):
        puts = " ".join(f'put("{k}", {_java_element(v, None, quoted=True)});' for k, v in value.items())
        return f"new HashMap<String, Object>() {{{{ {puts} }}}}"
    return str(value)


def _java_element(value: Any, item: str | None, quoted: bool) -> str:
    if isinstance(value, str):
        return f'"{value}"' if quoted else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if item == "long":
        return f"{value}L"
    if item == "float":
        return f"{value}f"
    return repr(value)


def javascript_text(value: Any, typ: str, item: str | None = None) -> str:
    """``value`` as the JavaScript source text BFCL's ``js_type_converter`` reads back for a ``typ`` parameter.

    >>> javascript_text(["a", "b"], "array", "String"), javascript_text({"k": 1}, "dict"), javascript_text(7, "Bigint")
    ('["a", "b"]', '{"k": 1}', '7n')
    """
    if isinstance(value, str):
        return value
    if typ == "Bigint":
        return f"{value}n"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


LANGUAGE_TEXT: dict[str, Callable[[Any, str, str | None], str]] = {
    "simple_java": java_text, "simple_javascript": javascript_text,
}


def language_calls(entry: BfclEntry, calls: Sequence[ToolCall], category: str) -> list[ToolCall]:
    """``calls`` with every value as source text, for the Java/JavaScript categories (others unchanged)."""
    text = LANGUAGE_TEXT.get(category)
    if text is None:
        return list(calls)
    docs = {d["name"]: d for d in entry.functions}
    out = []
    for c in calls:
        props = _props(docs.get(c.name, {}))
        args = {}
        for k, v in c.arguments.items():
            spec = props.get(k) or {}
            args[k] = text(v, str(spec.get("type")), (spec.get("items") or {}).get("type"))
        out.append(ToolCall(c.name, args))
    return out


def answer_key_response(output_format: str, entry: BfclEntry, category: str) -> str:
    return render(output_format, language_calls(entry, answer_key_calls(entry), category))


# --- multi-turn ---------------------------------------------------------------------------------------


def parse_ground_truth_call(text: str, docs: Mapping[str, Mapping[str, Any]]) -> ToolCall:
    """``"cd(folder='x')"`` -> a call; positional arguments get the names of the doc's parameters in order.

    >>> parse_ground_truth_call("sort('a.txt')", {"sort": {"parameters": {"properties": {"file_name": {}}}}})
    ToolCall(name='sort', arguments={'file_name': 'a.txt'})
    """
    node = ast.parse(text.strip(), mode="eval").body
    if not isinstance(node, ast.Call):
        raise ValueError(f"not a call: {text!r}")
    name = ast.unparse(node.func)
    params = list(_props(docs.get(name, {})))
    args: dict[str, Any] = {}
    for i, a in enumerate(node.args):
        if i >= len(params):
            raise ValueError(f"{text!r}: more positional arguments than {name} has parameters")
        args[params[i]] = ast.literal_eval(a)
    for kw in node.keywords:
        args[kw.arg] = ast.literal_eval(kw.value)
    return ToolCall(name, args)


def multi_turn_response(
    output_format: str, question: Mapping[str, Any], turns: Sequence[Sequence[str]]
) -> list[list[str]]:
    """BFCL's multi-turn result layout (a list of step responses per turn): each turn's ground-truth calls
    in one response, or a prose reply for a turn without calls. ``question`` is as BFCL's loader gives it
    (function docs populated; a miss_func entry's held-out docs under ``missed_function``)."""
    held_out = [d for docs in (question.get("missed_function") or {}).values() for d in docs if isinstance(d, dict)]
    docs = {d["name"]: d for d in list(question.get("function") or ()) + held_out}
    return [[render(output_format, [parse_ground_truth_call(t, docs) for t in turn])] for turn in turns]


# --- mutations ----------------------------------------------------------------------------------------


def _change_value(v: Any) -> Any:
    if isinstance(v, bool):
        return not v
    if isinstance(v, (int, float)):
        return v + 1000
    if isinstance(v, str):
        return v + " zzqx"
    if isinstance(v, list):
        return v + ["zzqx"]
    return "zzqx"


def _first_arg(calls: list[ToolCall], change: Callable[[str, Any], tuple[str, Any] | None]) -> list[ToolCall] | None:
    for i, c in enumerate(calls):
        for k, v in c.arguments.items():
            new = change(k, v)
            if new is not None:
                args = {kk: vv for kk, vv in c.arguments.items() if kk != k}
                if new[0]:
                    args[new[0]] = new[1]
                return calls[:i] + [ToolCall(c.name, args)] + calls[i + 1:]
    return None


# name -> change of the answer-key calls (None: does not apply to this entry) or of the whole text
MUTATIONS: dict[str, Callable[[list[ToolCall]], list[ToolCall] | str | None]] = {
    "value changed": lambda calls: _first_arg(calls, lambda k, v: (k, _change_value(v))),
    "function renamed": lambda calls: [ToolCall(calls[0].name + "_v2", calls[0].arguments)] + calls[1:]
    if calls else None,
    "parameter dropped": lambda calls: _first_arg(calls, lambda k, v: ("", None)),
    "unexpected parameter": lambda calls: [ToolCall(calls[0].name, {**calls[0].arguments, "zz_extra": 1})] + calls[1:]
    if calls else None,
    "calls reversed": lambda calls: calls[::-1] if len(calls) > 1 else None,
    "call duplicated": lambda calls: calls + calls[:1] if calls else None,
    "prose": lambda calls: [],
    "broken syntax": lambda calls: "broken",
    "int as float": lambda calls: _first_arg(calls, lambda k, v: (k, float(v)) if type(v) is int else None),
}


def mutated_response(output_format: str, entry: BfclEntry, category: str, mutation: str) -> str | None:
    """The answer key changed by ``mutation`` in ``output_format`` (None when it does not apply)."""
    calls = answer_key_calls(entry)
    changed = MUTATIONS[mutation](list(calls))
    if changed is None:
        return None
    if changed == "broken":
        text = render(output_format, language_calls(entry, calls, category) or [ToolCall("f", {"x": 1})])
        return _break(output_format, text)
    return render(output_format, language_calls(entry, changed, category))


def _break(output_format: str, text: str) -> str:
    """Call syntax that does not parse, in each format's own way."""
    if output_format == "answer":
        return text.replace("</answer>", "").rstrip(")]") + ", (</answer>"
    return text.replace("}\n</tool_call>", "\n</tool_call>", 1)  # a JSON object left open
