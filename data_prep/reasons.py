"""Reason codes: why a record (or one turn of it) was not written. Every drop has exactly one.

>>> sorted(REASONS)[:3]
['duplicate_tool_name', 'empty_answer', 'empty_query']
"""

MALFORMED_RECORD = "malformed_record"      # not the corpus's record shape (missing/wrong-typed fields, bad JSON)
TOOLS_UNPARSEABLE = "tools_unparseable"    # ToolACE/ToolRL: no tool list could be read from the prompt
EMPTY_TOOLS = "empty_tools"                # no tool offered at all
EMPTY_QUERY = "empty_query"                # no (non-blank) user turn before the target
EMPTY_ANSWER = "empty_answer"              # a no-call target (text turn) with blank reference text
UNPARSEABLE_CALL = "unparseable_call"      # the gold call text/JSON is not a call list
UNKNOWN_FUNCTION = "unknown_function"      # a gold call names a function that is not among the tools
DUPLICATE_TOOL_NAME = "duplicate_tool_name"  # a gold call names a tool offered twice with different schemas
MISSING_REQUIRED = "missing_required"      # a gold call omits a required parameter
UNEXPECTED_ARGUMENT = "unexpected_argument"  # a gold argument is not in the tool's schema
TYPE_MISMATCH = "type_mismatch"            # a gold value does not have the schema's type (after lossless coercion)
VALUE_NOT_IN_ENUM = "value_not_in_enum"    # a gold value is outside the schema's enum
UNSERIALISABLE = "unserialisable"          # a gold value has no JSON form (NaN, infinity)
PROMPT_TOO_LONG = "prompt_too_long"        # --max-prompt-tokens: the chat-templated prompt is longer
TOO_DEEP = "too_deep"                      # nesting beyond data_prep.limits (a record, a JSON field, a type, a value)
RECORD_TOO_LARGE = "record_too_large"      # one raw record longer than data_prep.limits.MAX_RECORD_CHARS
INVALID_TEXT = "invalid_text"              # a string that is not valid Unicode (lone surrogate, non-UTF-8 bytes)
UNANSWERABLE = "unanswerable_in_format"    # the row's own answer key, rendered in the output format, fails it
UNSUPPORTED_DIALOGUE = "unsupported_dialogue"  # --agent-loop: a dialogue shape an episode cannot replay

REASONS = {
    MALFORMED_RECORD, TOOLS_UNPARSEABLE, EMPTY_TOOLS, EMPTY_QUERY, EMPTY_ANSWER, UNPARSEABLE_CALL, UNKNOWN_FUNCTION,
    DUPLICATE_TOOL_NAME, MISSING_REQUIRED, UNEXPECTED_ARGUMENT, TYPE_MISMATCH, VALUE_NOT_IN_ENUM,
    UNSERIALISABLE, PROMPT_TOO_LONG, TOO_DEEP, RECORD_TOO_LARGE, INVALID_TEXT, UNANSWERABLE, UNSUPPORTED_DIALOGUE,
}
