"""Unit tests of the BFCL-semantics AST matcher, one rule at a time (docs/rewards.md, "AST-exact matching")."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.formats import MalformedArguments
from toolzero_verl.core.ground_truth import GroundTruth, load_ground_truth
from toolzero_verl.core.matching import (
    VALID,
    AstResult,
    Validity,
    ast_match,
    check_call,
    check_validity,
    keys_match,
    normalize_string,
)
from toolzero_verl.testing.budget import examples


def tool(name: str, required=(), **props) -> dict:
    """A BFCL-style tool doc; each keyword is a parameter and its schema type (or a full property dict)."""
    properties = {p: (t if isinstance(t, dict) else {"type": t, "description": p}) for p, t in props.items()}
    parameters = {"type": "dict", "properties": properties, "required": list(required)}
    return {"name": name, "description": name, "parameters": parameters}


def check(args: dict, possible: dict, schema: dict | None, name: str = "f") -> str | None:
    return check_call(ToolCall(name, args), "f", possible, schema)


# --- names ----------------------------------------------------------------------------------------


def test_name_must_match_exactly_and_case_sensitively():
    schema = tool("math.factorial", ["number"], number="integer")
    possible = {"number": [5]}
    assert check_call(ToolCall("math.factorial", {"number": 5}), "math.factorial", possible, schema) is None
    for wrong in ("math_factorial", "Math.factorial", "factorial", "math.factorial "):
        error = check_call(ToolCall(wrong, {"number": 5}), "math.factorial", possible, schema)
        assert error == "simple_function_checker:wrong_func_name", wrong


# --- parameter presence ---------------------------------------------------------------------------


def test_required_parameter_missing():
    schema = tool("f", ["a", "b"], a="integer", b="integer")
    assert check({"a": 1}, {"a": [1], "b": [2]}, schema) == "simple_function_checker:missing_required"


def test_required_is_checked_before_unexpected():
    schema = tool("f", ["a"], a="integer")
    assert check({"zz": 1}, {"a": [1]}, schema) == "simple_function_checker:missing_required"


def test_parameter_outside_schema_is_unexpected():
    schema = tool("f", ["a"], a="integer")
    assert check({"a": 1, "zz": 1}, {"a": [1]}, schema) == "simple_function_checker:unexpected_param"


def test_schema_parameter_outside_possible_answers_is_unexpected_even_with_default_value():
    schema = tool("f", ["a"], a="integer", unit={"type": "string", "default": "units"})
    assert check({"a": 1, "unit": "units"}, {"a": [1]}, schema) == "simple_function_checker:unexpected_param"


def test_possible_answer_parameter_outside_schema_is_unexpected():
    # BFCL v3 parallel_multiple_26: the answer key allows `type`, the schema has no such property.
    schema = tool("f", ["a"], a="integer")
    possible = {"a": [1], "type": ["credit", ""]}
    assert check({"a": 1, "type": "credit"}, possible, schema) == "simple_function_checker:unexpected_param"
    assert check({"a": 1}, possible, schema) is None


def test_omitted_optional_needs_empty_string_allowed():
    schema = tool("f", ["a"], a="integer", unit="string")
    assert check({"a": 1}, {"a": [1], "unit": ["units", ""]}, schema) is None
    assert check({"a": 1}, {"a": [1], "unit": ["units"]}, schema) == "simple_function_checker:missing_optional"


def test_empty_string_allowed_also_admits_values_that_normalise_to_empty():
    # BFCL normalises "" too, so an explicit empty string (or ", ") passes a "may be omitted" slot.
    schema = tool("f", [], unit="string")
    assert check({"unit": ""}, {"unit": ["units", ""]}, schema) is None
    assert check({"unit": ", "}, {"unit": ["units", ""]}, schema) is None
    assert check({"unit": "feet"}, {"unit": ["units", ""]}, schema) == "value_error:string"


# --- types ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema_type", "value", "allowed", "error"),
    [
        ("float", 2, [2.0], None),  # int widened for a scalar float
        ("number", 2, [2.0], None),  # JSON-Schema spelling of float
        ("float", 2.5, [2.5], None),
        ("integer", 10.0, [10], "type_error:simple"),  # float never accepted for integer
        ("integer", True, [1], "type_error:simple"),  # bool is not int
        ("integer", "10", [10], "type_error:simple"),
        ("float", True, [1.0], "type_error:simple"),
        ("boolean", 1, [True], "type_error:simple"),
        ("boolean", "true", [True], "type_error:simple"),
        ("boolean", True, [True], None),
        ("boolean", False, [True], "value_error:others"),
        ("string", 5, ["5"], "type_error:simple"),
        ("string", None, ["x"], "type_error:simple"),
        ("array", (1, 2), [[1, 2]], "type_error:simple"),  # a tuple is not an array
        ("array", "1, 2", [[1, 2]], "type_error:simple"),
        ("dict", [("a", 1)], [{"a": [1]}], "type_error:simple"),
        ("object", {"a": 1}, [{"a": [1]}], None),  # JSON-Schema spelling of dict
        ("any", "anything", ["anything"], None),  # BFCL maps any to str
        ("any", 3, ["3"], "type_error:simple"),
    ],
)
def test_scalar_type_rules(schema_type, value, allowed, error):
    assert check({"p": value}, {"p": allowed}, tool("f", ["p"], p=schema_type)) == error


def test_tuple_parameter_accepts_tuple_and_list():
    schema = tool("f", ["t"], t={"type": "tuple", "items": {"type": "float"}})
    possible = {"t": [[1.5, 2.5]]}
    assert check({"t": (1.5, 2.5)}, possible, schema) is None
    assert check({"t": [1.5, 2.5]}, possible, schema) is None
    assert check({"t": (2.5, 1.5)}, possible, schema) == "value_error:list/tuple"


def test_array_items_checked_one_level_deep():
    schema = tool("f", ["interval"], interval={"type": "array", "items": {"type": "float"}})
    possible = {"interval": [[1.0, 3.0]]}
    assert check({"interval": [1.0, 3.0]}, possible, schema) is None
    # int -> float leniency applies to scalars only
    assert check({"interval": [1, 3]}, possible, schema) == "type_error:nested"
    assert check({"interval": [1.0, "3"]}, possible, schema) == "type_error:nested"
    # two levels down nothing is type-checked: the value check (==) decides
    deep = tool("f", ["m"], m={"type": "array", "items": {"type": "array"}})
    assert check({"m": [[1, 2]]}, {"m": [[[1.0, 2.0]]]}, deep) is None


def test_array_items_of_the_gold_items_type_pass_as_variables():
    # BFCL v3 parallel_multiple_187/195: gold ints inside a float array; ints then pass the item check.
    schema = tool("f", ["interval"], interval={"type": "array", "items": {"type": "float"}})
    assert check({"interval": [0, 5]}, {"interval": [[0, 5]]}, schema) is None
    assert check({"interval": [0.0, 5.0]}, {"interval": [[0, 5]]}, schema) is None
    assert check({"interval": [0, 6]}, {"interval": [[0, 5]]}, schema) == "value_error:list/tuple"


def test_empty_string_in_allowed_values_skips_the_item_check():
    # BFCL quirk: an allowed value that is not a list ("" = may be omitted) admits any item types.
    schema = tool("f", [], interval={"type": "array", "items": {"type": "float"}})
    assert check({"interval": [1, 3]}, {"interval": ["", [1.0, 3.0]]}, schema) is None


def test_variable_escape_hatch():
    # The allowed values' type differs from the schema's: a value of the allowed type is a "variable",
    # compared by plain membership (no string normalisation).
    schema = tool("f", ["data"], data="dict")
    assert check({"data": "my_data"}, {"data": ["my_data"]}, schema) is None
    assert check({"data": "My Data"}, {"data": ["my_data"]}, schema) == "value_error:others"
    assert check({"data": 3}, {"data": ["my_data"]}, schema) == "type_error:simple"
    arrays = tool("f", ["x"], x={"type": "array", "items": {"type": "float"}})
    assert check({"x": "data['sales']"}, {"x": ["data['sales']"]}, arrays) is None


def test_int_gold_for_float_parameter_compares_numerically():
    # BFCL v3 parallel_84: the answer key holds 0 (int) for a float parameter.
    schema = tool("f", ["acceleration"], acceleration="float")
    assert check({"acceleration": 0}, {"acceleration": [0]}, schema) is None
    assert check({"acceleration": 0.0}, {"acceleration": [0]}, schema) is None
    assert check({"acceleration": 0.5}, {"acceleration": [0]}, schema) == "value_error:others"


def test_unknown_schema_type_falls_back_to_the_gold_values_type():
    schema = tool("f", ["n"], n={"type": ["integer", "null"]})  # not a BFCL type name
    assert check({"n": 3}, {"n": [3]}, schema) is None
    assert check({"n": 3.0}, {"n": [3]}, schema) == "type_error:simple"


# --- values ---------------------------------------------------------------------------------------


def test_normalize_string_matches_bfcl_standardisation():
    assert normalize_string("Units.") == "units"
    assert normalize_string("Los Angeles") == normalize_string("los-angeles") == "losangeles"
    assert normalize_string("x^2") == normalize_string("x**2") == "x2"
    assert normalize_string("a/b_c,d") == "abcd"
    assert normalize_string("it's") == 'it"s'
    assert normalize_string("a\tb") == "a\tb"  # only the space character is removed


def test_strings_are_normalised():
    schema = tool("f", ["city"], city="string")
    assert check({"city": "los-angeles"}, {"city": ["Los Angeles"]}, schema) is None
    assert check({"city": "LOS ANGELES"}, {"city": ["Los Angeles"]}, schema) is None
    assert check({"city": "SF"}, {"city": ["San Francisco"]}, schema) == "value_error:string"
    assert check({"city": "San Francisco, CA"}, {"city": ["San Francisco"]}, schema) == "value_error:string"


def test_lists_compared_whole_in_order_with_string_items_normalised():
    schema = tool("f", ["stops"], stops={"type": "array", "items": {"type": "string"}})
    possible = {"stops": [["New York", "Boston"]]}
    assert check({"stops": ["new york", "BOSTON"]}, possible, schema) is None
    assert check({"stops": ["Boston", "New York"]}, possible, schema) == "value_error:list/tuple"
    assert check({"stops": ["New York"]}, possible, schema) == "value_error:list/tuple"
    both_orders = {"stops": [["New York", "Boston"], ["Boston", "New York"]]}
    assert check({"stops": ["Boston", "New York"]}, both_orders, schema) is None


def test_empty_string_allowed_admits_an_empty_list():
    schema = tool("f", [], tags={"type": "array", "items": {"type": "string"}})
    assert check({"tags": []}, {"tags": [["a"], ""]}, schema) is None


def test_dicts_checked_key_by_key():
    schema = tool("f", ["d"], d="dict")
    possible = {"d": [{"city": ["Paris", "paris, fr"], "days": [3], "unit": ["", "c"]}]}
    assert check({"d": {"city": "PARIS", "days": 3}}, possible, schema) is None
    assert check({"d": {"city": "Paris", "days": 3, "unit": "c"}}, possible, schema) is None
    assert check({"d": {"city": "Paris", "days": 3, "extra": 1}}, possible, schema) == "value_error:dict_key"
    assert check({"d": {"city": "Lyon", "days": 3}}, possible, schema) == "value_error:dict_value"
    assert check({"d": {"city": "Paris"}}, possible, schema) == "value_error:dict_key"  # days not optional
    # BFCL reports a missing key even when a value was already wrong
    assert check({"d": {"city": "Lyon"}}, possible, schema) == "value_error:dict_key"


def test_list_of_dicts_checked_position_by_position():
    schema = tool("f", ["items"], items={"type": "array", "items": {"type": "dict"}})
    possible = {"items": [[{"name": ["apple"], "qty": [2]}, {"name": ["pear"], "qty": [1]}]]}
    assert check({"items": [{"name": "Apple", "qty": 2}, {"name": "pear", "qty": 1}]}, possible, schema) is None
    swapped = [{"name": "pear", "qty": 1}, {"name": "apple", "qty": 2}]
    assert check({"items": swapped}, possible, schema) == "value_error:dict_value"
    assert check({"items": [{"name": "apple", "qty": 2}]}, possible, schema) == "value_error:list_dict_count"
    assert check({"items": [{"name": "apple", "qty": 2}, "pear"]}, possible, schema) == "type_error:nested"


def test_other_values_by_membership_without_tolerance():
    schema = tool("f", ["x", "y"], x="integer", y="float")
    assert check({"x": -450, "y": 0.3}, {"x": [450], "y": [0.3]}, schema) == "value_error:others"
    assert check({"x": 450, "y": 0.1 + 0.2}, {"x": [450], "y": [0.3]}, schema) == "value_error:others"
    assert check({"x": 450, "y": 0.3}, {"x": [450, 451], "y": [0.3]}, schema) is None


def test_none_is_a_legal_allowed_value():
    schema = tool("f", [], mod="float")
    assert check({"mod": None}, {"mod": [None, ""]}, schema) is None
    assert check({"mod": 3.0}, {"mod": [None, ""]}, schema) == "value_error:others"


# --- ground truths without schemas (ToolRL reference strings) ------------------------------------

TOOLRL_GT = (
    "<think>Look it up.</think>\n<tool_call>\n"
    '{"name": "get_weather", "parameters": {"city": "New York", "days": 3, "metric": true, "ratio": 0.5}}\n'
    "</tool_call>"
)


def test_toolrl_ground_truth_without_schema():
    gt = load_ground_truth(TOOLRL_GT)
    assert gt.tools == ()
    good = {"city": "new-york", "days": 3, "metric": True, "ratio": 0.5}

    def match(**changes):
        args = {k: v for k, v in {**good, **changes}.items() if v is not ...}
        call = [ToolCall("get_weather", args)]
        return ast_match(call, gt)

    assert match() == AstResult(True, None)
    assert match(ratio=1 / 2) == AstResult(True, None)
    assert match(days=...).error == "simple_function_checker:missing_required"
    assert match(zz=1).error == "simple_function_checker:unexpected_param"
    assert match(city="Boston") == AstResult(False, "value_error:string")
    assert keys_match([ToolCall("get_weather", {**good, "city": "Boston"})], gt)
    # types are inferred from the gold values: still no float for an int, bool strict, int for a float
    assert match(days=3.0).error == "type_error:simple"
    assert match(metric=1).error == "type_error:simple"
    assert match(days=True).error == "type_error:simple"
    assert match(ratio=0).error == "value_error:others"


def test_schema_less_optional_argument():
    gt = GroundTruth((ToolCall("f", {"a": 1}),), (), ({"f": {"a": [1], "b": ["", "x"]}},))
    assert ast_match([ToolCall("f", {"a": 1})], gt).ok
    assert ast_match([ToolCall("f", {"a": 1, "b": "X"})], gt).ok
    assert ast_match([ToolCall("f", {"b": "x"})], gt).error == "simple_function_checker:missing_required"


def test_possible_answers_derived_when_absent():
    gt = GroundTruth((ToolCall("f", {"a": [1, 2], "s": "Hi there"}),), (tool("f", ["a"], a="array", s="string"),))
    assert ast_match([ToolCall("f", {"a": [1, 2], "s": "hi-there"})], gt).ok
    assert not ast_match([ToolCall("f", {"a": [2, 1], "s": "hi-there"})], gt).ok


# --- whole responses ------------------------------------------------------------------------------

WEATHER = tool("get_weather", ["city"], city="string", unit="string")


def weather_gt(*cities: str) -> GroundTruth:
    calls = tuple(ToolCall("get_weather", {"city": c}) for c in cities)
    possible = tuple({"get_weather": {"city": [c], "unit": ["", "celsius"]}} for c in cities)
    return GroundTruth(calls, (WEATHER,), possible)


def weather(city: str, **more) -> ToolCall:
    return ToolCall("get_weather", {"city": city, **more})


def test_no_call_reference():
    gt = GroundTruth((), (WEATHER,), (), answer="I cannot do that.")
    assert (ast_match([], gt), keys_match([], gt)) == (AstResult(True, None), True)
    assert ast_match([weather("Paris")], gt) == AstResult(False, "irrelevance_error:decoder_success")
    assert not keys_match([weather("Paris")], gt)


def test_call_counts_must_match():
    one, two = weather_gt("Paris"), weather_gt("Paris", "Rome")
    assert (ast_match([], one), keys_match([], one)) == (AstResult(False, "simple_function_checker:wrong_count"), False)
    assert ast_match([weather("Paris"), weather("Paris")], one).error == "simple_function_checker:wrong_count"
    assert ast_match([weather("Paris")], two).error == "parallel_function_checker_no_order:wrong_count"
    extra = [weather("Paris"), weather("Rome"), weather("Oslo")]
    assert ast_match(extra, two).error == "parallel_function_checker_no_order:wrong_count"


def test_parallel_calls_match_in_any_order():
    gt = weather_gt("Paris", "Rome", "Oslo")
    assert ast_match([weather("oslo"), weather("Paris", unit="celsius"), weather("rome")], gt).ok
    pred = [weather("oslo"), weather("Paris"), weather("Berlin")]
    assert ast_match(pred, gt) == AstResult(False, "parallel_function_checker_no_order:cannot_find_match")
    assert keys_match(pred, gt)


def test_duplicate_gold_calls_need_two_predictions():
    gt = weather_gt("Paris", "Paris")
    assert ast_match([weather("Paris"), weather("paris")], gt).ok
    assert ast_match([weather("Paris"), weather("Rome")], gt).error.endswith("cannot_find_match")


def bfcl_greedy(pred, gt) -> bool:
    """BFCL's order-free parallel checker: each gold call takes the first unused passing prediction."""
    used: set[int] = set()
    for possible in gt.possible_answers:
        ((name, params),) = possible.items()
        schema = gt.schema(name)
        j = next((j for j, p in enumerate(pred) if j not in used and check_call(p, name, params, schema) is None), None)
        if j is None:
            return False
        used.add(j)
    return True


def test_maximum_matching_succeeds_where_greedy_first_match_fails():
    # Gold 1 accepts Paris or Rome, gold 2 only Paris. Greedy gives the Paris prediction to gold 1 and
    # then finds nothing for gold 2; the perfect matching gives Rome to gold 1 and Paris to gold 2.
    calls = (ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Paris"}))
    possible = ({"get_weather": {"city": ["Paris", "Rome"]}}, {"get_weather": {"city": ["Paris"]}})
    gt = GroundTruth(calls, (WEATHER,), possible)
    pred = [weather("Paris"), weather("Rome")]
    assert not bfcl_greedy(pred, gt)
    assert (ast_match(pred, gt), keys_match(pred, gt)) == (AstResult(True, None), True)
    assert bfcl_greedy(pred[::-1], gt) and ast_match(pred[::-1], gt).ok
    assert not ast_match([weather("Rome"), weather("Rome")], gt).ok


def test_keys_match_tracks_names_and_argument_names_only():
    gt = weather_gt("Paris", "Rome")
    both = [weather("Oslo"), weather("Berlin")]
    assert ast_match(both, gt) == AstResult(False, "parallel_function_checker_no_order:cannot_find_match")
    assert keys_match(both, gt)
    assert not keys_match([weather("Paris", unit="c"), weather("Rome")], gt)
    assert not keys_match([weather("Paris"), ToolCall("get_time", {"city": "Rome"})], gt)
    single = weather_gt("Paris")
    assert ast_match([weather("Oslo")], single) == AstResult(False, "value_error:string")
    assert keys_match([weather("Oslo")], single)
    # an omitted optional gold argument passes the AST check but changes the key set
    possible = ({"get_weather": {"city": ["Paris"], "unit": ["celsius", ""]}},)
    gt_with_unit = GroundTruth((weather("Paris", unit="celsius"),), (WEATHER,), possible)
    assert ast_match([weather("Paris")], gt_with_unit) == AstResult(True, None)
    assert not keys_match([weather("Paris")], gt_with_unit)


def test_malformed_toolrl_arguments_are_checked_as_empty():
    assert ast_match([ToolCall("get_weather", MalformedArguments())], weather_gt("Paris")).error == (
        "simple_function_checker:missing_required"
    )


def test_hostile_values_never_raise():
    gt = GroundTruth(
        (ToolCall("f", {"x": 1.0, "l": [1.0]}),),
        (tool("f", ["x", "l"], x="float", l={"type": "array", "items": {"type": "float"}}),),
    )
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    assert ast_match([ToolCall("f", {"x": 10**400, "l": [1.0]})], gt).error == "type_error:simple"
    assert not ast_match([ToolCall("f", {"x": 1.0, "l": deep})], gt).ok
    assert not ast_match([ToolCall("f", {"x": float("nan"), "l": [1.0]})], gt).ok
    assert not ast_match([ToolCall("f", {"x": 1.0, "l": {"a": {1, 2}}})], gt).ok


# --- validity against the offered tools (the −0.3 term's default trigger) ------------------------------


def test_validity_follows_the_schema_of_every_offered_function():
    gt = load_ground_truth({"calls": [{"name": "f", "arguments": {"n": 2}}], "tools": [
        tool("f", ["n"], n="integer", x="float", t="tuple", items={"type": "array", "items": {"type": "string"}}),
        tool("g", ["q"], q="string", flag="boolean"),
    ]})
    valid = [
        [ToolCall("f", {"n": 9})],  # a wrong value of the right type
        [ToolCall("f", {"n": 1, "x": 3})],  # an int for a float: BFCL's widening
        [ToolCall("f", {"n": 1, "t": (1, 2)}), ToolCall("f", {"n": 1, "t": [1]})],  # a tuple for a tuple parameter
        [ToolCall("f", {"n": 1, "items": ["a", "b"]})],
        [ToolCall("g", {"q": "x", "flag": False})],  # another offered function: valid, just not the answer
        [],
    ]
    for calls in valid:
        assert check_validity(calls, gt) == VALID, calls
    invalid = {
        "type_error:simple": [ToolCall("f", {"n": True}), ToolCall("f", {"n": 1, "x": "3"}), ToolCall("g", {"q": 1}),
                              ToolCall("f", {"n": 1, "items": ["a", 2]})],  # BFCL names a bad item "simple" here
        "simple_function_checker:unexpected_param": [ToolCall("f", {"n": 1, "m": 2}),
                                                     ToolCall("g", {"q": "x", "n": 1})],
        "validity:unknown_function": [ToolCall("h", {}), ToolCall("F", {"n": 1})],
    }
    for error, calls in invalid.items():
        for call in calls:
            assert check_validity([call], gt) == Validity(error, 0), call
    assert check_validity([ToolCall("f", {})], gt) == Validity("simple_function_checker:missing_required", 1)
    # several calls: the first error is reported, every call without a required parameter is counted
    calls = [ToolCall("h", {}), ToolCall("f", {}), ToolCall("g", {"flag": True}), ToolCall("f", {"n": 1})]
    assert check_validity(calls, gt) == Validity("validity:unknown_function", 2)
    assert check_validity(calls, gt, readable=False) == Validity("validity:broken_syntax", 0)


def test_validity_without_schemas_uses_the_gold_calls():
    """A ToolRL reference string offers only its gold functions; a parameter is required when every gold
    call of that function gives it, and its type is the gold value's."""
    text = ('<think>x</think>\n<tool_call>\n{"name": "f", "parameters": {"a": 1, "b": "x"}}\n'
            '{"name": "f", "parameters": {"a": 2}}\n</tool_call>')
    gt = load_ground_truth(text)
    assert check_validity([ToolCall("f", {"a": 5})], gt) == VALID
    assert check_validity([ToolCall("f", {"a": 5, "b": "y"})], gt) == VALID
    assert check_validity([ToolCall("f", {"b": "y"})], gt) == Validity("simple_function_checker:missing_required", 1)
    assert check_validity([ToolCall("f", {"a": 5.0})], gt).error == "type_error:simple"  # a float for a gold int
    assert check_validity([ToolCall("f", {"a": 1, "c": 1})], gt).error == "simple_function_checker:unexpected_param"
    assert check_validity([ToolCall("g", {})], gt).error == "validity:unknown_function"
    # a gold call whose function has no tool doc is checked the same way
    mixed = load_ground_truth({"calls": [{"name": "f", "arguments": {"a": 1}}], "tools": [tool("g", q="string")]})
    assert check_validity([ToolCall("f", {"a": 3})], mixed) == VALID
    assert check_validity([ToolCall("f", {"a": "3"})], mixed).error == "type_error:simple"


def test_a_gold_value_of_another_type_than_the_schema_is_valid_like_in_the_ast_check():
    """BFCL's "variable" escape hatch: a value of the gold value's type passes the type step."""
    gt = load_ground_truth({"calls": [{"name": "f", "arguments": {"n": "count"}}],
                            "tools": [tool("f", ["n"], n="integer")]})
    assert ast_match([ToolCall("f", {"n": "count"})], gt).ok
    assert check_validity([ToolCall("f", {"n": "other"})], gt) == VALID
    assert check_validity([ToolCall("f", {"n": 3})], gt) == VALID
    assert check_validity([ToolCall("f", {"n": 3.5})], gt).error == "type_error:simple"


def test_validity_never_raises_on_hostile_values():
    gt = load_ground_truth({"calls": [{"name": "f", "arguments": {"x": 1.5}}], "tools": [tool("f", ["x"], x="float")]})
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    for value in (10**400, deep, {"k": deep}, float("nan"), MalformedArguments()):
        result = check_validity([ToolCall("f", {"x": value})], gt)
        assert isinstance(result, Validity)
    assert check_validity([ToolCall("f", {"x": 10**400})], gt).error == "type_error:simple"  # too big for a float


@settings(max_examples=examples(500), deadline=None)
@given(st.integers(1, 5).flatmap(lambda n: st.lists(st.lists(st.booleans(), min_size=n, max_size=n),
                                                     min_size=n, max_size=n)))
def test_perfect_matching_agrees_with_trying_every_pairing(ok):
    from itertools import permutations

    from toolzero_verl.core.matching import _perfect_matching

    n = len(ok)
    assert _perfect_matching(ok) == any(all(ok[i][p[i]] for i in range(n)) for p in permutations(range(n)))
