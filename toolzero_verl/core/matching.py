"""AST-exact matching of predicted calls against a ground truth, with BFCL's semantics; and the validity
of an answer against the offered tools (docs/rewards.md, "AST-exact matching" and "The −0.3 term").

The strict reward and the evaluator use this so that training reward and benchmark metric mean the
same thing. The rules follow BFCL's single-turn python ``ast_checker`` as described in
``bfcl_eval/eval_checker/ast_eval/ast_checker.py`` in BFCL (gorilla repository), re-implemented
here, not copied:

- names exact and case-sensitive; call counts equal; parallel calls matched in any order;
- every schema-``required`` parameter present; no parameter outside the schema properties or outside
  the possible answers; an omitted parameter is fine only if ``""`` is among its allowed values;
- types: BFCL's python mapping (plus the JSON-Schema names ``object``/``number``), int accepted for
  a scalar ``float``, float never for ``integer``, ``bool`` is not ``int``, a tuple accepted for a
  ``tuple`` parameter (not for ``array``), array items checked one level deep, and the "variable"
  escape hatch (a value of the allowed values' type is accepted when that type differs from the
  schema's, then compared by plain membership);
- values: strings after :func:`normalize_string`; lists whole and in order; dicts key by key; lists
  of dicts position by position; everything else by membership (``==``, no numeric tolerance).

Where BFCL's greedy parallel matching (first passing model call per gold call) would miss a pairing,
we use a maximum bipartite matching, so we are never stricter than BFCL.

Ground truths without tool schemas (ToolRL reference strings) skip the schema checks: the required
parameters are the gold ones without ``""`` among their allowed values, the allowed parameters are
the possible answers' keys, and each parameter's type is inferred from its gold value (so ``bool``
stays strict and a float still fails a gold integer). The same fallback covers a gold call whose name
has no tool doc and a parameter whose schema type BFCL does not know.

Error types are BFCL's (§1.6): one gold call reports the simple checker's error (its wrong count is
``simple_function_checker:wrong_count``), two or more report ``parallel_function_checker_no_order:*``,
and a call on a no-call reference reports ``irrelevance_error:decoder_success``.

>>> from toolzero_verl.core.ground_truth import load_ground_truth
>>> gt = load_ground_truth({"calls": [{"name": "f", "arguments": {"city": "Los Angeles", "n": 2}}],
...     "tools": [{"name": "f", "parameters": {"type": "object", "required": ["city"],
...               "properties": {"city": {"type": "string"}, "n": {"type": "integer"}}}}]})
>>> ast_match([ToolCall("f", {"city": "los-angeles", "n": 2})], gt)
AstResult(ok=True, error=None)
>>> ast_match([ToolCall("f", {"city": "Los Angeles", "n": 2.0})], gt)
AstResult(ok=False, error='type_error:simple')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Sequence

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.ground_truth import GroundTruth, derive_possible_answers

# --- BFCL error types (the strings BFCL's ast_checker.py reports) ----------------------------------

WRONG_FUNC_NAME = "simple_function_checker:wrong_func_name"
MISSING_REQUIRED = "simple_function_checker:missing_required"
UNEXPECTED_PARAM = "simple_function_checker:unexpected_param"
MISSING_OPTIONAL = "simple_function_checker:missing_optional"
TYPE_SIMPLE = "type_error:simple"
TYPE_NESTED = "type_error:nested"
VALUE_STRING = "value_error:string"
VALUE_LIST = "value_error:list/tuple"
VALUE_DICT_KEY = "value_error:dict_key"
VALUE_DICT_VALUE = "value_error:dict_value"
VALUE_LIST_DICT_COUNT = "value_error:list_dict_count"
VALUE_OTHERS = "value_error:others"
DICT_UNCLEAR = "dict_checker:unclear"  # BFCL's leftover type when no allowed dict is usable (all "")
LIST_DICT_UNCLEAR = "list_dict_checker:unclear"  # same, for an empty allowed list of list-of-dicts
# A single gold call gets the simple/multiple checkers' error; two or more the parallel checker's.
WRONG_COUNT = "simple_function_checker:wrong_count"
PARALLEL_WRONG_COUNT = "parallel_function_checker_no_order:wrong_count"
CANNOT_FIND_MATCH = "parallel_function_checker_no_order:cannot_find_match"
IRRELEVANCE = "irrelevance_error:decoder_success"  # a call made where the reference makes none
# Not BFCL: a value so hostile that comparing it failed (recursion limit, overflow); never raised.
UNCHECKABLE = "ast_checker:uncheckable_value"

# BFCL's python type mapping (ast_checker.py), plus JSON-Schema spellings our converters emit (docs/data.md).
TYPE_MAP: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "number": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "object": dict,
    "any": str,
}
FLOAT_TYPES = frozenset({"float", "number"})  # int values are widened to float for these (scalars only)
NESTED_TYPES = frozenset({"array", "tuple"})  # item types are checked one level deep for these

# BFCL's standardize_string: drop spaces and , . / - _ * ^, lowercase, then ' -> ".
_STRIP_TABLE = str.maketrans({**{c: None for c in " ,./-_*^"}, "'": '"'})


def normalize_string(s: str) -> str:
    """BFCL's string standardisation (§1.4 step 5).

    >>> normalize_string("Los-Angeles, CA."), normalize_string("x^2"), normalize_string("it's")
    ('losangelesca', 'x2', 'it"s')
    """
    # Deleting first and lowercasing second equals BFCL's order: lower() never yields these chars.
    return s.translate(_STRIP_TABLE).lower()


@dataclass(frozen=True)
class AstResult:
    """Outcome of :func:`ast_match`: whether the call set is AST-exact, else BFCL's error type."""

    ok: bool
    error: str | None


# --- one call -----------------------------------------------------------------------------------


def _first_type(allowed: Sequence) -> type | None:
    """Type of the first allowed value that is not the "may be omitted" marker ``""``."""
    for v in allowed:
        if not (type(v) is str and v == ""):
            return type(v)
    return None


def _infer_type(allowed: Sequence) -> tuple[str | None, type | None, type | None]:
    """(schema type name, python type, item type) guessed from the gold values, for schema-less params."""
    for v in allowed:
        if type(v) is str and v == "":
            continue
        t = type(v)
        if t is bool:
            return "boolean", bool, None
        if t is int:
            return "integer", int, None
        if t is float:
            return "float", float, None
        if t is str:
            return "string", str, None
        if t is dict:
            return "dict", dict, None
        if t in (list, tuple):
            # Lists of dicts are stored as lists of allowed-value dicts; check them as BFCL does.
            items_are_dicts = bool(v) and all(type(x) is dict for x in v)
            return ("tuple" if t is tuple else "array"), list, (dict if items_are_dicts else None)
        return None, None, None  # None and anything else: plain membership
    return None, None, None


def _nested_ok(value: list, allowed: Sequence, item_type: type) -> bool:
    """BFCL's one-level item check: some allowed value admits every item of ``value``.

    An allowed value that is not a list (``""``, a variable name) admits anything; inside an allowed
    list, an item passes if it has the schema's item type or the type of that list's first item.
    """
    for cand in allowed:
        if type(cand) is not list:
            return True
        cand_type = _first_type(cand)
        if all(type(v) is item_type or type(v) is cand_type for v in value):
            return True
    return False


def _normalized(values: Sequence) -> list:
    return [normalize_string(v) if type(v) is str else v for v in values]


def _check_dict(value: Mapping, allowed: Sequence) -> str | None:
    """BFCL's dict_checker: some allowed dict (key -> allowed list) admits ``value`` key by key."""
    error = DICT_UNCLEAR
    for cand in allowed:
        if type(cand) is str and cand == "":
            continue
        if not isinstance(cand, Mapping) or not isinstance(value, Mapping):  # BFCL would crash here
            error = VALUE_DICT_VALUE
            continue
        error = None
        for key, v in value.items():
            if key not in cand:
                error = VALUE_DICT_KEY
                break
            if (normalize_string(v) if type(v) is str else v) not in _normalized(_as_sequence(cand[key]) or ()):
                error = VALUE_DICT_VALUE
                break
        # BFCL looks for missing keys even after a bad value, and then reports the missing key.
        for key, key_allowed in cand.items():
            if key not in value and "" not in (_as_sequence(key_allowed) or ()):
                error = VALUE_DICT_KEY
                break
        if error is None:
            return None
    return error


def _as_sequence(cand: Any) -> Sequence | None:
    """An allowed value read as BFCL indexes it (``cand[0..len-1]``): ``""`` reads as an empty list."""
    if isinstance(cand, (list, tuple, str)):
        return cand
    if isinstance(cand, Mapping) and all(j in cand for j in range(len(cand))):
        return [cand[j] for j in range(len(cand))]
    return None  # BFCL would crash on it; it admits nothing


def _check_list_of_dicts(value: list, allowed: Sequence) -> str | None:
    """BFCL's list_dict_checker: same length as some allowed list, dicts checked position by position."""
    error = LIST_DICT_UNCLEAR
    for cand in allowed:
        cand = _as_sequence(cand)
        if cand is None or len(value) != len(cand):
            error = VALUE_LIST_DICT_COUNT
            continue
        for item, item_allowed in zip(value, cand):
            error = _check_dict(item, [item_allowed])
            if error is not None:
                break
        else:
            return None
    return error


def _check_list(value: list, allowed: Sequence) -> str | None:
    """BFCL's list_checker: the whole list equals some allowed list, string items normalised, in order."""
    norm = _normalized(value)
    for cand in allowed:
        cand = _as_sequence(cand)
        if cand is not None and norm == _normalized(cand):
            return None
    return VALUE_LIST


def _param_type(prop: Any) -> tuple[Any, type | None, type | None]:
    """(declared type, python type, item type) of a schema property; python type None if unknown."""
    if prop is None:  # schema-less: the common case for ToolRL references, so no exception path
        return None, None, None
    try:
        decl = prop.get("type")
        expected = TYPE_MAP.get(decl)
    except (AttributeError, TypeError):  # no property doc, or a JSON-Schema list of types
        return None, None, None
    if expected is list:
        try:
            item_type = TYPE_MAP.get(prop["items"]["type"])
        except (KeyError, TypeError):
            item_type = None
        return decl, list, item_type
    return decl, expected, None


def _value_spec(allowed: Sequence, prop: Any) -> tuple:
    """What checking a value against ``allowed`` needs from the schema, computed once per gold
    parameter: (declared type, python type, item type, type of the first gold value)."""
    decl, expected, item_type = _param_type(prop)
    if expected is None:  # no schema, or a type BFCL does not know: infer from the gold values
        decl, expected, item_type = _infer_type(allowed)
    return decl, expected, item_type, _first_type(allowed)


def _type_step(value: Any, allowed: Sequence, spec: tuple) -> tuple[Any, str | None, bool]:
    """BFCL's type step (§1.4 step 4) for a parameter with a known type: ``(value after BFCL's
    conversions, type error or None, compare as a "variable")``.

    The AST check and the validity check (:func:`check_validity`) both use it, so "a value whose type
    breaks BFCL's type rules" means the same thing in the strict reward and in its −0.3 term.
    """
    decl, expected, item_type, gold_type = spec
    if decl == "tuple" and type(value) is tuple:
        value = list(value)
    elif decl in FLOAT_TYPES and type(value) is int:
        try:
            value = float(value)
        except OverflowError:
            return value, TYPE_SIMPLE, False
    if type(value) is expected:
        if item_type is not None and not _nested_ok(value, allowed, item_type):
            return value, (TYPE_NESTED if gold_type is list else TYPE_SIMPLE), False
        return value, None, gold_type is not None and gold_type is not expected
    if gold_type is not None and type(value) is gold_type:
        return value, None, True
    return value, TYPE_SIMPLE, False


def _check_spec(value: Any, allowed: Sequence, spec: tuple) -> str | None:
    """Type check then value check of one argument against its allowed values (§1.4 steps 4-5)."""
    expected, item_type = spec[1], spec[2]
    if expected is None:
        return None if value in allowed else VALUE_OTHERS
    value, error, is_variable = _type_step(value, allowed, spec)
    if error is not None:
        return error
    if is_variable:
        return None if value in allowed else VALUE_OTHERS
    if expected is str:
        if value in allowed:  # fast path: an exact match is a normalised match
            return None
        norm = normalize_string(value)
        for v in allowed:
            if type(v) is str and normalize_string(v) == norm:
                return None
        return VALUE_STRING
    if expected is list:
        if item_type is dict:
            return _check_list_of_dicts(value, allowed)
        if value in allowed:  # fast path: element-wise equal lists are equal after normalisation
            return None
        return _check_list(value, allowed)
    if expected is dict:
        return _check_dict(value, allowed)
    return None if value in allowed else VALUE_OTHERS


def _schema_parts(schema: Mapping | None) -> tuple[Mapping | None, Sequence]:
    """(properties, required) of a tool; properties is None when there is no schema to check against."""
    if schema is None:
        return None, ()
    try:
        params = schema.get("parameters", schema)  # a tool doc, or its parameters object
        props = params.get("properties")
        required = params.get("required")
    except AttributeError:
        return (None, ()) if not hasattr(schema, "get") else ({}, ())
    return (props if hasattr(props, "get") else {}), (required if isinstance(required, (list, tuple)) else ())


class _GoldCheck:
    """One gold call's BFCL checks, compiled once per ground truth (see :func:`check_call`)."""

    __slots__ = ("name", "required", "params", "must_give")

    def __init__(self, gold_name: str, possible: Mapping[str, list], schema: Mapping | None):
        props, required = _schema_parts(schema)
        self.name = gold_name
        if props is None:  # no schema: a gold parameter is required unless it may be omitted
            self.required = tuple(p for p, allowed in possible.items() if "" not in allowed)
            self.must_give: tuple = ()
        else:
            self.required = tuple(required)
            self.must_give = tuple(p for p, allowed in possible.items() if "" not in allowed)
        # param -> (allowed, value spec); None marks a parameter outside the schema or the answers
        self.params: dict[str, tuple | None] = {}
        for param, allowed in possible.items():
            prop = None if props is None else props.get(param)
            self.params[param] = None if props is not None and prop is None else (allowed, _value_spec(allowed, prop))

    def check(self, call: ToolCall) -> str | None:
        if call.name != self.name:
            return WRONG_FUNC_NAME
        args = call.arguments
        for param in self.required:
            if param not in args:
                return MISSING_REQUIRED
        params = self.params
        for param, value in args.items():
            entry = params.get(param)
            if entry is None:
                return UNEXPECTED_PARAM
            error = _check_spec(value, entry[0], entry[1])
            if error is not None:
                return error
        for param in self.must_give:
            if param not in args:
                return MISSING_OPTIONAL
        return None


def check_call(call: ToolCall, gold_name: str, possible: Mapping[str, list], schema: Mapping | None) -> str | None:
    """BFCL's simple_function_checker on one call: None if it passes, else the error type.

    ``possible`` maps each gold parameter to its allowed values (``""`` = may be omitted);
    ``schema`` is the tool doc (``{"name", "parameters": {"properties", "required"}}``) or None.

    >>> check_call(ToolCall("f", {"x": 1}), "f", {"x": [1.5]}, {"parameters": {"properties": {"x": {"type": "float"}}}})
    'value_error:others'
    """
    return _GoldCheck(gold_name, possible, schema).check(call)


# --- the whole response -------------------------------------------------------------------------


def _signature(call: ToolCall) -> tuple[str, tuple]:
    return call.name, tuple(sorted(call.arguments))


def keys_match(pred: Sequence[ToolCall], gt: GroundTruth) -> bool:
    """Predicted and gold calls pair one-to-one with equal names and equal argument-name sets (the
    gold call's argument names), whatever the values: GG-GRPO's "values wrong" penalty.

    Computed apart from :func:`ast_match` because only a failed match needs it.

    >>> from toolzero_verl.core.ground_truth import load_ground_truth
    >>> gt = load_ground_truth({"calls": [{"name": "f", "arguments": {"x": 1}}, {"name": "g", "arguments": {}}]})
    >>> keys_match([ToolCall("g", {}), ToolCall("f", {"x": 2})], gt), keys_match([ToolCall("f", {})], gt)
    (True, False)
    """
    gold = gt.calls
    if len(pred) != len(gold):
        return False
    if len(gold) == 1:
        return pred[0].name == gold[0].name and pred[0].arguments.keys() == gold[0].arguments.keys()
    # A one-to-one pairing of equal (name, key set) exists iff the sorted signature lists are equal.
    try:
        return sorted(map(_signature, pred)) == gt.memo("ast_gold_signatures", lambda: sorted(map(_signature, gold)))
    except TypeError:  # unorderable hostile names or keys
        return False


def _plan(gt: GroundTruth) -> tuple[_GoldCheck, ...]:
    """The compiled check of every gold call, built once per ground truth."""
    return gt.memo("ast_plan", _build_plan, gt)


def _build_plan(gt: GroundTruth) -> tuple[_GoldCheck, ...]:
    return tuple(_GoldCheck(name, params, gt.schema(name)) for name, params in _gold_params(gt))


def _gold_params(gt: GroundTruth) -> list[tuple[str, Mapping[str, list]]]:
    """(gold call name, its parameters' allowed values) for every gold call, in order."""
    possible = gt.possible_answers
    if len(possible) != len(gt.calls):  # a hand-built GroundTruth without them
        possible = derive_possible_answers(gt.calls, gt.tools)
    return [(call.name, next(iter(entry.values())) if entry else {}) for call, entry in zip(gt.calls, possible)]


def _perfect_matching(ok: list[list[bool]]) -> bool:
    """Whether the square pass/fail matrix admits a perfect matching: Kuhn's augmenting paths, O(n³),
    microseconds for the few calls of an answer (scipy's assignment solver costs more to call).

    >>> _perfect_matching([[True, True], [True, False]]), _perfect_matching([[True, False], [True, False]])
    (True, False)
    """
    n = len(ok)
    owner = [-1] * n  # column -> the row it is matched to

    def augment(row: int, seen: list[bool]) -> bool:
        for col in range(n):
            if ok[row][col] and not seen[col]:
                seen[col] = True
                if owner[col] < 0 or augment(owner[col], seen):
                    owner[col] = row
                    return True
        return False

    return all(augment(row, [False] * n) for row in range(n))


# Results are immutable and few (ok x error type): build each once, for speed.
_RESULTS: dict[tuple[bool, str | None], AstResult] = {}


def _result(ok: bool, error: str | None) -> AstResult:
    res = _RESULTS.get((ok, error))
    if res is None:
        res = _RESULTS[ok, error] = AstResult(ok, error)
    return res


_OK = _result(True, None)


def ast_match(pred: Sequence[ToolCall], gt: GroundTruth) -> AstResult:
    """Whole-response check: all gold calls matched one-to-one by passing predicted calls.

    ``gt.calls`` empty means ok iff no call was made. Parallel calls are matched in any order; BFCL's
    greedy pass is tried first, then a maximum bipartite matching, so we are never stricter than BFCL.
    Never raises on model output.
    """
    gold = gt.calls
    n = len(gold)
    if n == 0:
        return _result(False, IRRELEVANCE) if pred else _OK
    try:
        if len(pred) != n:
            return _result(False, WRONG_COUNT if n == 1 else PARALLEL_WRONG_COUNT)
        plan = gt.memo("ast_plan", _build_plan, gt)
        if n == 1:
            error = plan[0].check(pred[0])
            return _OK if error is None else _result(False, error)
        return _result(*_match_parallel(pred, plan))
    except (RecursionError, OverflowError, TypeError, ValueError):  # hostile nesting or values
        return _result(False, UNCHECKABLE)


def _match_parallel(pred: Sequence[ToolCall], plan) -> tuple[bool, str | None]:
    n = len(plan)
    verdicts: dict[tuple[int, int], bool] = {}
    unused = list(range(n))
    for i, entry in enumerate(plan):  # BFCL's greedy pass: first unused passing prediction per gold call
        for j in unused:
            ok = verdicts[i, j] = entry.check(pred[j]) is None
            if ok:
                unused.remove(j)
                break
        else:
            break
    else:
        return True, None
    full = [
        [verdicts[i, j] if (i, j) in verdicts else plan[i].check(pred[j]) is None for j in range(n)]
        for i in range(n)
    ]
    if not all(any(row) for row in full) or not all(any(col) for col in zip(*full)):
        return False, CANNOT_FIND_MATCH
    return (True, None) if _perfect_matching(full) else (False, CANNOT_FIND_MATCH)


# --- validity against the offered tools ------------------------------------------------------------
# GG-GRPO's −0.3 term (docs/rewards.md, "The −0.3 term") fires on an *invalid* answer: broken call
# syntax, or a call that no reading of the offered tools allows. Not a BFCL check: BFCL only asks
# whether an answer is right. The rules are the AST check's own (same schema parts, same type step),
# relaxed to everything some gold call of that function would accept, so an AST-exact answer is
# always valid and a near miss (right function, one value wrong, right type) is valid too.

UNKNOWN_FUNCTION = "validity:unknown_function"  # a function that was not offered
BROKEN_SYNTAX = "validity:broken_syntax"  # call syntax present but unreadable


class Validity(NamedTuple):
    """Whether an answer is valid against the offered tools, and how many calls lack a required parameter."""

    error: str | None  # the first reason the answer is invalid; None when it is valid
    missing_required: int  # calls of an offered function without one of its required parameters


VALID = Validity(None, 0)


class _FunctionRules:
    """What a call of one offered function may contain (see :func:`_validity_plan`)."""

    __slots__ = ("required", "params")

    def __init__(self, required: tuple, params: dict[Any, tuple[tuple[Sequence, tuple], ...]]):
        self.required = required
        self.params = params  # param -> alternatives (allowed values, value spec); valid if one admits the type

    def error(self, call: ToolCall) -> str | None:
        args = call.arguments
        for param in self.required:
            if param not in args:
                return MISSING_REQUIRED
        params = self.params
        for param, value in args.items():
            alternatives = params.get(param)
            if alternatives is None:
                return UNEXPECTED_PARAM
            error = None
            for allowed, spec in alternatives:
                if spec[1] is None:  # a type BFCL does not know and no gold value to infer it from
                    error = None
                    break
                error = _type_step(value, allowed, spec)[1]
                if error is None:
                    break
            if error is not None:
                return error
        return None


# An allowed list holding one empty list: BFCL's one-level item check then admits exactly the
# items of the schema's item type (a parameter no gold call gives has no allowed values of its own).
_SCHEMA_ONLY = ([],)


def _validity_plan(gt: GroundTruth) -> dict[str, _FunctionRules]:
    """The rules of every offered function (tool docs, plus gold functions without one), once per reference.

    With a tool doc: its properties and ``required``, each property's schema type. Without one (a
    ToolRL reference string, or a gold name missing from the tools): the gold calls' parameters,
    required when every gold call of that name requires them, types inferred from the gold values —
    the AST check's own fallback.
    """

    def build():
        golds: dict[str, list[Mapping[str, list]]] = {}
        for name, params in _gold_params(gt):
            golds.setdefault(name, []).append(params)
        rules: dict[str, _FunctionRules] = {}
        for name in (*gt.tool_names, *golds):
            if name in rules:
                continue
            props, required = _schema_parts(gt.schema(name))
            gold = golds.get(name, [])
            if props is None:
                names = list(dict.fromkeys(p for params in gold for p in params))
                required = tuple(p for p in names if all(p in g and "" not in g[p] for g in gold))
            else:
                names = list(props)
            table = {}
            for param in names:
                prop = None if props is None else props.get(param)
                alternatives = tuple((g[param], _value_spec(g[param], prop)) for g in gold if param in g)
                table[param] = alternatives or ((_SCHEMA_ONLY, _value_spec((), prop)),)
            rules[name] = _FunctionRules(tuple(required), table)
        return rules

    return gt.memo("validity_plan", build)  # built once per reference: the closure is fine here


def count_missing_required(pred: Sequence[ToolCall], gt: GroundTruth) -> int:
    """How many calls of an offered function lack one of its required parameters (the hack monitor's
    count, without the rest of :func:`check_validity`).

    >>> from toolzero_verl.core.ground_truth import load_ground_truth
    >>> gt = load_ground_truth({"calls": [{"name": "f", "arguments": {"x": 1}}]})
    >>> count_missing_required([ToolCall("f", {}), ToolCall("f", {"x": 2}), ToolCall("g", {})], gt)
    1
    """
    if not pred:
        return 0
    plan = _validity_plan(gt)
    missing = 0
    for call in pred:
        rules = plan.get(call.name)
        if rules is not None:
            args = call.arguments
            for param in rules.required:
                if param not in args:
                    missing += 1
                    break
    return missing


def check_validity(pred: Sequence[ToolCall], gt: GroundTruth, readable: bool = True) -> Validity:
    """Is the answer valid: readable call syntax (``readable``, the output format's verdict), and
    every call valid against the offered tools — a known function, every required parameter, no
    parameter outside its schema, every value of a type BFCL's rules accept? Never raises.

    >>> from toolzero_verl.core.ground_truth import load_ground_truth
    >>> gt = load_ground_truth({"calls": [{"name": "f", "arguments": {"x": 1}}], "tools": [{"name": "f",
    ...     "parameters": {"properties": {"x": {"type": "integer"}, "s": {"type": "string"}}, "required": ["x"]}}]})
    >>> check_validity([ToolCall("f", {"x": 2, "s": "a"})], gt)
    Validity(error=None, missing_required=0)
    >>> check_validity([ToolCall("f", {"s": "a"})], gt)
    Validity(error='simple_function_checker:missing_required', missing_required=1)
    >>> check_validity([ToolCall("f", {"x": "2"})], gt).error, check_validity([ToolCall("g", {})], gt).error
    ('type_error:simple', 'validity:unknown_function')
    """
    if not readable:
        return Validity(BROKEN_SYNTAX, 0)
    if not pred:
        return VALID
    try:
        plan = _validity_plan(gt)
        first, missing = None, 0
        for call in pred:
            rules = plan.get(call.name)
            error = UNKNOWN_FUNCTION if rules is None else rules.error(call)
            if error is None:
                continue
            missing += error == MISSING_REQUIRED
            if first is None:
                first = error
        return Validity(first, missing) if first is not None else VALID
    except (RecursionError, OverflowError, TypeError, ValueError):  # hostile values: invalid, never a crash
        return Validity(UNCHECKABLE, 0)
