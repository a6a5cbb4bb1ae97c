/* Compiled twins of two readers in toolzero_verl.core.pycalls (docs/rewards.md, "Speed").
 *
 * read_calls(body, max_depth) returns exactly what pycalls._py_fast_parse returns for `body`: a list
 * of ToolCall, or None where the Python reader declines (the caller then tries its other readers and
 * finally the ast path, the definition). read_masked_scalars(body, known, free) likewise returns what
 * pycalls._py_masked_scalars returns (names that are not Python, scalar values; see below).
 *
 * read_calls' grammar is pycalls' _FAST_TOKEN and _FastParser: whitespace [ \t\n\r\f], strings
 * quoted without backslashes or line breaks, decimal numbers not followed by [0-9A-Za-z_.], ASCII
 * names, the punctuation [](){},=:.+- ; any other character anywhere declines. Values are constants,
 * strings, numbers with an optional sign, dotted names (kept as strings), keyword calls (as
 * {name: {args}}), lists, tuples, sets (as lists) and dicts. tests/toolzero_verl/core/test_callreader.py
 * checks the equality with hypothesis.
 *
 * Model text is hostile: the reader never executes anything, walks the text once, and bounds its own
 * recursion (MAX_NESTING below, and Python's recursion guard); every error but MemoryError declines.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Deeper nesting declines to the Python readers (ast.parse itself refuses 200 nested brackets). */
#define MAX_NESTING 100

static PyObject *keywords = NULL;  /* frozenset(keyword.kwlist), given by configure() */
static PyObject *call_type = NULL; /* pycalls' ToolCall, given by configure() */
static PyObject *dot = NULL;       /* "." */

enum { T_END, T_STRING, T_NUMBER, T_NAME, T_PUNCT, T_OTHER };

typedef struct {
    int type;
    Py_ssize_t start, end; /* the token's text, whitespace before it excluded */
    Py_UCS4 ch;            /* the punctuation character (T_PUNCT) */
    int is_float;          /* T_NUMBER: has '.', 'e' or 'E' */
} Token;

typedef struct {
    PyObject *text;
    int kind;
    const void *data;
    Py_ssize_t n, pos;
    int nesting;
} Reader;

#define CHAR(r, i) PyUnicode_READ((r)->kind, (r)->data, (i))

static int is_space(Py_UCS4 c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
static int is_digit(Py_UCS4 c) { return c >= '0' && c <= '9'; }
static int is_name_start(Py_UCS4 c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static int is_name_char(Py_UCS4 c) { return is_name_start(c) || is_digit(c); }

static int is_punct(Py_UCS4 c) {
    switch (c) {
    case '[': case ']': case '(': case ')': case '{': case '}':
    case ',': case '=': case ':': case '.': case '+': case '-':
        return 1;
    default:
        return 0;
    }
}

/* The token at r->pos (after whitespace), without consuming it. */
static void peek(const Reader *r, Token *t) {
    Py_ssize_t i = r->pos, n = r->n;
    while (i < n && is_space(CHAR(r, i)))
        i++;
    t->start = i;
    t->is_float = 0;
    if (i >= n) {
        t->type = T_END;
        t->end = i;
        return;
    }
    Py_UCS4 c = CHAR(r, i);
    if (c == '"' || c == '\'') {
        Py_ssize_t j = i + 1;
        while (j < n) {
            Py_UCS4 d = CHAR(r, j);
            if (d == c || d == '\\' || d == '\n' || d == '\r')
                break;
            j++;
        }
        if (j < n && CHAR(r, j) == c) {
            t->type = T_STRING;
            t->end = j + 1;
        } else {
            t->type = T_OTHER; /* unclosed, or holds an escape or a line break */
            t->end = i + 1;
        }
        return;
    }
    if (is_digit(c)) {
        /* (?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?(?![0-9A-Za-z_.]): taken greedily; every
         * shorter match would be followed by a digit, '.', 'e' or 'E', so the lookahead decides alone. */
        Py_ssize_t j = i + 1;
        if (c != '0')
            while (j < n && is_digit(CHAR(r, j)))
                j++;
        if (j < n && CHAR(r, j) == '.') {
            t->is_float = 1;
            j++;
            while (j < n && is_digit(CHAR(r, j)))
                j++;
        }
        if (j < n && (CHAR(r, j) == 'e' || CHAR(r, j) == 'E')) {
            Py_ssize_t k = j + 1;
            if (k < n && (CHAR(r, k) == '+' || CHAR(r, k) == '-'))
                k++;
            if (k < n && is_digit(CHAR(r, k))) {
                while (k < n && is_digit(CHAR(r, k)))
                    k++;
                t->is_float = 1;
                j = k;
            }
        }
        if (j < n && (is_name_char(CHAR(r, j)) || CHAR(r, j) == '.')) {
            t->type = T_OTHER;
            t->end = i + 1;
        } else {
            t->type = T_NUMBER;
            t->end = j;
        }
        return;
    }
    if (is_name_start(c)) {
        Py_ssize_t j = i + 1;
        while (j < n && is_name_char(CHAR(r, j)))
            j++;
        t->type = T_NAME;
        t->end = j;
        return;
    }
    t->type = is_punct(c) ? T_PUNCT : T_OTHER;
    t->ch = c;
    t->end = i + 1;
}

/* NULL without an exception set: the reader declines. */
#define DECLINE NULL

static int next_is(const Reader *r, Py_UCS4 punct) {
    Token t;
    peek(r, &t);
    return t.type == T_PUNCT && t.ch == punct;
}

static int expect(Reader *r, Py_UCS4 punct) {
    Token t;
    peek(r, &t);
    if (t.type != T_PUNCT || t.ch != punct)
        return 0;
    r->pos = t.end;
    return 1;
}

/* A name token that is no Python keyword. */
static PyObject *read_name(Reader *r) {
    Token t;
    peek(r, &t);
    if (t.type != T_NAME)
        return DECLINE;
    PyObject *name = PyUnicode_Substring(r->text, t.start, t.end);
    if (name == NULL)
        return NULL;
    int kw = PySet_Contains(keywords, name);
    if (kw != 0) {
        Py_DECREF(name);
        return DECLINE; /* a keyword (kw == 1) or an error (kw == -1, reported by the caller) */
    }
    r->pos = t.end;
    return name;
}

/* name ("." name)*, joined with "." (whitespace around the dots dropped, as Python reads it). */
static PyObject *read_dotted(Reader *r) {
    PyObject *first = read_name(r);
    if (first == NULL || !next_is(r, '.'))
        return first;
    PyObject *parts = PyList_New(0);
    if (parts == NULL || PyList_Append(parts, first) < 0)
        goto fail;
    Py_CLEAR(first);
    while (expect(r, '.')) {
        PyObject *part = read_name(r);
        if (part == NULL)
            goto fail;
        int rc = PyList_Append(parts, part);
        Py_DECREF(part);
        if (rc < 0)
            goto fail;
    }
    PyObject *joined = PyUnicode_Join(dot, parts);
    Py_DECREF(parts);
    return joined;
fail:
    Py_XDECREF(first);
    Py_XDECREF(parts);
    return NULL;
}

static PyObject *read_value(Reader *r, int depth);

static PyObject *number(Reader *r, const Token *t) {
    PyObject *text = PyUnicode_Substring(r->text, t->start, t->end);
    if (text == NULL)
        return NULL;
    /* float(text) / int(text), as pycalls._number: ValueError past Python's int-string limit declines */
    PyObject *value = t->is_float ? PyFloat_FromString(text) : PyLong_FromUnicodeObject(text, 10);
    Py_DECREF(text);
    return value;
}

/* number() with its sign ('+', '-' or 0): the sign is a separate token, as Python reads it. */
static PyObject *signed_number(Reader *r, const Token *t, Py_UCS4 sign) {
    PyObject *value = number(r, t);
    if (value == NULL || sign != '-')
        return value;
    PyObject *negative = PyNumber_Negative(value);
    Py_DECREF(value);
    return negative;
}

static int is_word(const Reader *r, const Token *t, const char *word) {
    Py_ssize_t len = (Py_ssize_t)strlen(word);
    if (t->end - t->start != len)
        return 0;
    for (Py_ssize_t k = 0; k < len; k++)
        if (CHAR(r, t->start + k) != (Py_UCS4)(unsigned char)word[k])
            return 0;
    return 1;
}

/* True, False or None for a name token that spells one (borrowed); else NULL. */
static PyObject *constant_of(const Reader *r, const Token *t) {
    return is_word(r, t, "True") ? Py_True : is_word(r, t, "False") ? Py_False : is_word(r, t, "None") ? Py_None : NULL;
}

/* args[key] = value, taking both references; -1 with an exception set on failure. */
static int set_arg(PyObject *args, PyObject *key, PyObject *value) {
    int rc = PyDict_SetItem(args, key, value);
    Py_DECREF(key);
    Py_DECREF(value);
    return rc;
}

/* calls.append(tuple.__new__(ToolCall, (name, args))), as pycalls builds its calls; takes both references. */
static int append_call(PyObject *calls, PyObject *name, PyObject *args) {
    PyObject *pair = PyTuple_Pack(2, name, args);
    Py_DECREF(name);
    Py_DECREF(args);
    PyObject *new_args = pair == NULL ? NULL : PyTuple_Pack(1, pair);
    Py_XDECREF(pair);
    PyObject *call = new_args == NULL ? NULL : PyTuple_Type.tp_new((PyTypeObject *)call_type, new_args, NULL);
    Py_XDECREF(new_args);
    if (call == NULL)
        return -1;
    int rc = PyList_Append(calls, call);
    Py_DECREF(call);
    return rc;
}

/* `key=value` pairs up to ")" (consumed); a repeated key declines, as Python rejects it. */
static PyObject *read_kwargs(Reader *r, int depth) {
    PyObject *args = PyDict_New();
    if (args == NULL)
        return NULL;
    while (!expect(r, ')')) {
        PyObject *key = read_name(r);
        if (key == NULL)
            goto fail;
        int seen = PyDict_Contains(args, key);
        if (seen != 0 || !expect(r, '=')) {
            Py_DECREF(key);
            goto fail;
        }
        PyObject *value = read_value(r, depth);
        if (value == NULL) {
            Py_DECREF(key);
            goto fail;
        }
        if (set_arg(args, key, value) < 0 || (!expect(r, ',') && !next_is(r, ')')))
            goto fail;
    }
    return args;
fail:
    Py_DECREF(args);
    return NULL;
}

/* Values up to `close` (consumed), each one level deeper; *trailing: the last item had a comma. */
static PyObject *read_items(Reader *r, Py_UCS4 close, int depth, int *trailing) {
    PyObject *items = PyList_New(0);
    if (items == NULL)
        return NULL;
    *trailing = 0;
    while (!expect(r, close)) {
        PyObject *value = read_value(r, depth - 1);
        if (value == NULL)
            goto fail;
        int rc = PyList_Append(items, value);
        Py_DECREF(value);
        if (rc < 0)
            goto fail;
        *trailing = expect(r, ',');
        if (!*trailing && !next_is(r, close))
            goto fail;
    }
    return items;
fail:
    Py_DECREF(items);
    return NULL;
}

/* After "{": a dict, or a set read as the list of its items. */
static PyObject *read_braces(Reader *r, int depth) {
    int trailing;
    if (expect(r, '}'))
        return PyDict_New();
    PyObject *first = read_value(r, depth - 1);
    if (first == NULL)
        return NULL;
    if (!next_is(r, ':')) {
        if (!expect(r, ',') && !next_is(r, '}')) {
            Py_DECREF(first);
            return DECLINE;
        }
        PyObject *rest = read_items(r, '}', depth, &trailing);
        if (rest == NULL || PyList_Insert(rest, 0, first) < 0) {
            Py_DECREF(first);
            Py_XDECREF(rest);
            return NULL;
        }
        Py_DECREF(first);
        return rest;
    }
    PyObject *out = PyDict_New();
    PyObject *key = first;
    if (out == NULL)
        goto fail;
    for (;;) {
        if (!expect(r, ':'))
            goto fail;
        PyObject *value = read_value(r, depth - 1);
        if (value == NULL)
            goto fail;
        int rc = set_arg(out, key, value); /* TypeError on an unhashable key: declines */
        key = NULL;
        if (rc < 0)
            goto fail;
        if (!expect(r, ',') && !next_is(r, '}'))
            goto fail;
        if (expect(r, '}'))
            return out;
        key = read_value(r, depth - 1);
        if (key == NULL)
            goto fail;
    }
fail:
    Py_XDECREF(key);
    Py_XDECREF(out);
    return NULL;
}

static PyObject *read_value_inner(Reader *r, int depth) {
    Token t;
    int trailing;
    if (depth <= 0)
        return DECLINE; /* the ast path reports "nesting too deep" */
    peek(r, &t);
    switch (t.type) {
    case T_STRING:
        r->pos = t.end;
        return PyUnicode_Substring(r->text, t.start + 1, t.end - 1);
    case T_NUMBER:
        r->pos = t.end;
        return number(r, &t);
    case T_NAME: {
        PyObject *constant = constant_of(r, &t);
        if (constant != NULL) {
            r->pos = t.end;
            if (next_is(r, '.'))
                return DECLINE;
            Py_INCREF(constant);
            return constant;
        }
        PyObject *name = read_dotted(r);
        if (name == NULL || !expect(r, '('))
            return name; /* a bare name is a "variable": its string */
        PyObject *args = read_kwargs(r, depth - 1); /* a keyword call as a value: {name: {args}} */
        PyObject *out = args == NULL ? NULL : PyDict_New();
        if (out != NULL && PyDict_SetItem(out, name, args) < 0)
            Py_CLEAR(out);
        Py_DECREF(name);
        Py_XDECREF(args);
        return out;
    }
    case T_PUNCT:
        r->pos = t.end;
        switch (t.ch) {
        case '+':
        case '-': {
            Token num;
            peek(r, &num);
            if (num.type != T_NUMBER || depth <= 1) /* the ast path walks the operand one level deeper */
                return DECLINE;
            r->pos = num.end;
            return signed_number(r, &num, t.ch);
        }
        case '[':
            return read_items(r, ']', depth, &trailing);
        case '(': {
            PyObject *items = read_items(r, ')', depth, &trailing);
            if (items == NULL)
                return NULL;
            if (PyList_GET_SIZE(items) == 1 && !trailing) { /* parentheses around one value */
                PyObject *item = PyList_GET_ITEM(items, 0);
                Py_INCREF(item);
                Py_DECREF(items);
                return item;
            }
            PyObject *tuple = PyList_AsTuple(items);
            Py_DECREF(items);
            return tuple;
        }
        case '{':
            return read_braces(r, depth);
        default:
            return DECLINE;
        }
    default:
        return DECLINE;
    }
}

static PyObject *read_value(Reader *r, int depth) {
    if (r->nesting >= MAX_NESTING)
        return DECLINE;
    if (Py_EnterRecursiveCall(" in the call reader"))
        return NULL;
    r->nesting++;
    PyObject *value = read_value_inner(r, depth);
    r->nesting--;
    Py_LeaveRecursiveCall();
    return value;
}

static PyObject *read_calls_inner(Reader *r, int max_depth) {
    PyObject *calls = PyList_New(0);
    if (calls == NULL || r->n == 0 || CHAR(r, 0) != '[') /* the list starts the text, no whitespace first */
        goto fail;
    r->pos = 1;
    while (!expect(r, ']')) {
        PyObject *name = read_dotted(r);
        if (name == NULL)
            goto fail;
        if (!expect(r, '(')) {
            Py_DECREF(name);
            goto fail;
        }
        PyObject *args = read_kwargs(r, max_depth);
        if (args == NULL) {
            Py_DECREF(name);
            goto fail;
        }
        if (append_call(calls, name, args) < 0 || (!expect(r, ',') && !next_is(r, ']')))
            goto fail;
    }
    Token t;
    peek(r, &t);
    if (t.type != T_END) /* anything after the list */
        goto fail;
    return calls;
fail:
    Py_XDECREF(calls);
    return NULL;
}

/* --- call lists with names that are not Python, scalar values only ------------------------------------
 * read_masked_scalars(body, known, free) is pycalls._py_masked_scalars: the loop of _scalar_masked_parse
 * (its _MASKED_CALL / _MASKED_ARGS regexes), after that function's own checks of the whole body. */

static int is_free_call_char(Py_UCS4 c) { /* pycalls._NAME_CHARS: A-Za-z0-9_./\-@&+*%$!?~|^<>; */
    if (is_name_char(c))
        return 1;
    switch (c) {
    case '.': case '/': case '-': case '@': case '&': case '+': case '*': case '%': case '$':
    case '!': case '?': case '~': case '|': case '^': case '<': case '>': case ';':
        return 1;
    default:
        return 0;
    }
}

static int is_free_key_char(Py_UCS4 c) { return is_name_char(c) || c == '.' || c == '-'; }

static void skip_space(Reader *r) {
    while (r->pos < r->n && is_space(CHAR(r, r->pos)))
        r->pos++;
}

/* Words of `is_char` characters with runs of ' ' between them (no trailing space); 0 if none at pos. */
static int scan_words(Reader *r, int (*is_char)(Py_UCS4), Py_ssize_t *end) {
    Py_ssize_t i = r->pos, n = r->n;
    if (i >= n || !is_char(CHAR(r, i)))
        return 0;
    for (;;) {
        while (i < n && is_char(CHAR(r, i)))
            i++;
        Py_ssize_t j = i;
        while (j < n && CHAR(r, j) == ' ')
            j++;
        if (j == i || j >= n || !is_char(CHAR(r, j)))
            break;
        i = j;
    }
    *end = i;
    return 1;
}

/* pycalls._needs_mask: not a dotted name of ASCII identifiers, or a part is a keyword. */
static int needs_mask(Reader *r, Py_ssize_t start, Py_ssize_t end, PyObject *name) {
    Py_ssize_t i = start;
    int dotted = 0;
    for (;;) {
        if (i >= end || !is_name_start(CHAR(r, i)))
            return 1;
        while (i < end && is_name_char(CHAR(r, i)))
            i++;
        if (i == end)
            break;
        if (CHAR(r, i) != '.')
            return 1;
        dotted = 1;
        i++;
    }
    if (!dotted)
        return PySet_Contains(keywords, name); /* -1 on error */
    PyObject *parts = PyUnicode_Split(name, dot, -1);
    if (parts == NULL)
        return -1;
    int found = 0;
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(parts) && !found; k++)
        found = PySet_Contains(keywords, PyList_GET_ITEM(parts, k));
    Py_DECREF(parts);
    return found;
}

/* A scalar value as _scalar_arg reads it: a string, a signed decimal number, True, False or None. */
static PyObject *read_scalar(Reader *r) {
    Token t;
    peek(r, &t);
    if (t.type == T_STRING) {
        r->pos = t.end;
        return PyUnicode_Substring(r->text, t.start + 1, t.end - 1);
    }
    if (t.type == T_NAME) {
        PyObject *constant = constant_of(r, &t);
        if (constant == NULL)
            return DECLINE;
        r->pos = t.end;
        Py_INCREF(constant);
        return constant;
    }
    Py_UCS4 sign = 0;
    if (t.type == T_PUNCT && (t.ch == '+' || t.ch == '-')) {
        sign = t.ch;
        r->pos = t.end;
        peek(r, &t);
    }
    if (t.type != T_NUMBER)
        return DECLINE;
    r->pos = t.end;
    return signed_number(r, &t, sign);
}

static int at(const Reader *r, Py_UCS4 c) { return r->pos < r->n && CHAR(r, r->pos) == c; }

/* `]` then whitespace to the end (pycalls._LIST_END), from pos. */
static int list_end(const Reader *r, Py_ssize_t pos) {
    while (pos < r->n && is_space(CHAR(r, pos)))
        pos++;
    if (pos >= r->n || CHAR(r, pos) != ']')
        return 0;
    pos++;
    while (pos < r->n && is_space(CHAR(r, pos)))
        pos++;
    return pos == r->n;
}

/* key = scalar, ... up to ")" (not consumed); *masked is set by a key that needs masking or has a dot. */
static PyObject *read_masked_args(Reader *r, int *masked) {
    PyObject *args = PyDict_New();
    if (args == NULL)
        return NULL;
    while (!at(r, ')')) {
        Py_ssize_t start = r->pos, end;
        if (!scan_words(r, is_free_key_char, &end))
            goto fail;
        PyObject *key = PyUnicode_Substring(r->text, start, end);
        if (key == NULL)
            goto fail;
        r->pos = end;
        int seen = PyDict_Contains(args, key);
        int mask = seen == 0 ? needs_mask(r, start, end, key) : -1;
        if (seen != 0 || mask < 0) {
            Py_DECREF(key);
            goto fail;
        }
        for (Py_ssize_t k = start; k < end && !mask; k++)
            mask = CHAR(r, k) == '.';
        *masked |= mask;
        skip_space(r);
        PyObject *value = NULL;
        if (at(r, '=')) {
            r->pos++;
            skip_space(r);
            value = read_scalar(r);
        }
        if (value == NULL) {
            Py_DECREF(key);
            goto fail;
        }
        if (set_arg(args, key, value) < 0)
            goto fail;
        skip_space(r);
        if (at(r, ',')) {
            r->pos++;
            skip_space(r);
        } else if (!at(r, ')')) {
            goto fail;
        }
    }
    return args;
fail:
    Py_DECREF(args);
    return NULL;
}

static PyObject *read_masked_inner(Reader *r, PyObject *known, int free) {
    int masked = 0;
    PyObject *calls = PyList_New(0);
    /* as the Python loop, from index 1 whatever index 0 holds (_scalar_masked_parse checked for "[") */
    if (calls == NULL || r->n == 0 || list_end(r, 1))
        goto fail;
    r->pos = 1;
    for (;;) {
        skip_space(r);
        Py_ssize_t start = r->pos, end;
        if (!scan_words(r, is_free_call_char, &end))
            goto fail;
        PyObject *name = PyUnicode_Substring(r->text, start, end);
        if (name == NULL)
            goto fail;
        r->pos = end;
        int mask = needs_mask(r, start, end, name);
        if (mask == 1 && !free) /* masking reads only known names outside an explicit list */
            mask = PySequence_Contains(known, name) == 1 ? 1 : -1;
        masked |= mask == 1;
        PyObject *args = NULL;
        skip_space(r);
        if (mask >= 0 && at(r, '(')) {
            r->pos++;
            skip_space(r);
            args = read_masked_args(r, &masked);
        }
        if (args == NULL) {
            Py_DECREF(name);
            goto fail;
        }
        r->pos++; /* the ")" read_masked_args stopped at */
        if (append_call(calls, name, args) < 0)
            goto fail;
        skip_space(r);
        if (at(r, ']')) {
            r->pos++;
            skip_space(r);
            if (r->pos != r->n || !masked)
                goto fail;
            return calls;
        }
        if (!at(r, ','))
            goto fail;
        r->pos++;
        skip_space(r);
        if (list_end(r, r->pos)) { /* a trailing comma */
            if (!masked)
                goto fail;
            return calls;
        }
    }
fail:
    Py_XDECREF(calls);
    return NULL;
}

static PyObject *finish(PyObject *calls) {
    if (calls != NULL)
        return calls;
    if (PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_MemoryError))
            return NULL;
        PyErr_Clear(); /* ValueError (int-string limit), TypeError (unhashable key), RecursionError */
    }
    Py_RETURN_NONE;
}

/* A reader at the start of `body`; -1 with RuntimeError before configure() gave the keywords and call type. */
static int start_reader(Reader *r, PyObject *body) {
    if (call_type == NULL || keywords == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "call reader used before configure()");
        return -1;
    }
    *r = (Reader){body, PyUnicode_KIND(body), PyUnicode_DATA(body), PyUnicode_GET_LENGTH(body), 0, 0};
    return 0;
}

static PyObject *read_masked_scalars(PyObject *self, PyObject *args) {
    PyObject *body, *known;
    int free;
    if (!PyArg_ParseTuple(args, "UOp:read_masked_scalars", &body, &known, &free))
        return NULL;
    Reader r;
    if (start_reader(&r, body) < 0)
        return NULL;
    return finish(read_masked_inner(&r, known, free));
}

static PyObject *read_calls(PyObject *self, PyObject *args) {
    PyObject *body, *depth_arg;
    int overflow;
    if (!PyArg_ParseTuple(args, "UO!:read_calls", &body, &PyLong_Type, &depth_arg))
        return NULL;
    long depth = PyLong_AsLongAndOverflow(depth_arg, &overflow);
    if (depth == -1 && PyErr_Occurred())
        return NULL;
    /* any depth past MAX_NESTING reads the same; a non-positive one declines every value */
    int max_depth = overflow > 0 || depth > INT_MAX ? INT_MAX : overflow < 0 || depth < 0 ? 0 : (int)depth;
    Reader r;
    if (start_reader(&r, body) < 0)
        return NULL;
    return finish(read_calls_inner(&r, max_depth));
}

static PyObject *configure(PyObject *self, PyObject *args) {
    PyObject *kw, *type;
    if (!PyArg_ParseTuple(args, "O!O!:configure", &PyFrozenSet_Type, &kw, &PyType_Type, &type))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "the call type must be a tuple subclass");
        return NULL;
    }
    Py_INCREF(kw);
    Py_INCREF(type);
    Py_XSETREF(keywords, kw);
    Py_XSETREF(call_type, type);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"read_calls", read_calls, METH_VARARGS,
     "read_calls(body, max_depth) -> list of calls, or None where pycalls' Python token walk declines."},
    {"read_masked_scalars", read_masked_scalars, METH_VARARGS,
     "read_masked_scalars(body, known, free) -> list of calls, or None where pycalls._py_masked_scalars declines."},
    {"configure", configure, METH_VARARGS,
     "configure(keywords: frozenset, call_type: type): the keyword set and the tuple subclass of the calls."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_callreader",
    "Compiled reader of simple Python-syntax call lists (see toolzero_verl.core.pycalls).", -1, methods,
};

PyMODINIT_FUNC PyInit__callreader(void) {
    if (dot == NULL && (dot = PyUnicode_InternFromString(".")) == NULL)
        return NULL;
    return PyModule_Create(&module);
}
