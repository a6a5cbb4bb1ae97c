"""Typed options: the one validation layer for every config (rewards, the replay buffer, toolzero-prep).

A config is a frozen dataclass deriving from :class:`Options`. Each field declares its type by its
annotation and, with :func:`option`, its allowed choices, range and help text. Constructing a config
checks every value against its declaration and raises :class:`ConfigError` with one line naming
the option, so a typo or a bad value in a recipe fails before any work:

- ``bool``: a bool, or the strings ``true/false/yes/no/on/off/1/0`` (any case); ``"False"`` is false;
- ``int``: an int (not a bool), an integral float (``2.0``) or an integer string (``"2"``);
- ``float``: a finite int or float, or a string naming one; NaN and ±inf are rejected;
- ``str``: a string; ``tuple[str, ...]``: a list/tuple of strings or a comma-separated string;
- ``X | None``: ``None`` or an ``X``.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Demo(Options):
...     kappa: float = option(0.1, min=0.0, help="steepness")
...     mode: str = option("a", choices=("a", "b"))
...     strict: bool = False
>>> Demo(kappa="0.5", strict="False")
Demo(kappa=0.5, mode='a', strict=False)
>>> Demo(kappa=float("nan"))
Traceback (most recent call last):
...
toolzero_verl.core.options.ConfigError: option 'kappa' must be a finite number, got nan
>>> Demo.from_mapping({"mdoe": "b"})
Traceback (most recent call last):
...
toolzero_verl.core.options.ConfigError: unknown option(s) ['mdoe'] for Demo; valid: ['kappa', 'mode', 'strict']
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
import types
import typing
from functools import lru_cache
from typing import Any, ClassVar, Iterable, Mapping

from toolzero_verl.core.logs import warn_once


class ConfigError(ValueError):
    """An option or the training-step wiring is wrong: raised before work starts, never swallowed."""


_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def option(
    default: Any = dataclasses.MISSING,
    *,
    choices: tuple | None = None,
    min: float | None = None,  # noqa: A002 - reads naturally at the call sites
    max: float | None = None,  # noqa: A002
    above: float | None = None,
    help: str = "",  # noqa: A002
    flag: str | None = None,
    metavar: str | None = None,
) -> Any:
    """A dataclass field with its constraints: ``choices``, inclusive ``min``/``max``, exclusive ``above``.

    ``help``, ``flag`` and ``metavar`` are for command lines generated from the config
    (:func:`add_arguments`); ``help`` is the one place an option is described.
    """
    meta = {"choices": choices, "min": min, "max": max, "above": above, "help": help, "flag": flag, "metavar": metavar}
    if isinstance(default, (list, dict, set)):
        raise TypeError("mutable defaults are not allowed; use a tuple")
    return dataclasses.field(default=default, metadata=meta)


class Options:
    """Base of every config dataclass: validates and normalises each field on construction.

    Subclasses may declare ``_aliases = {"old_name": "new_name"}`` for renamed options: the old name is
    accepted by :meth:`from_mapping` with a warning.
    """

    _aliases: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            checked = check_value(f.name, value, hints[f.name], f.metadata)
            if checked is not value:
                object.__setattr__(self, f.name, checked)

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], where: str | None = None):
        """Build from user input (Hydra ``reward_kwargs``, ``sampler_kwargs``, …); unknown keys raise."""
        given = dict(options)
        for old, new in cls._aliases.items():
            if old in given:
                warn_once(f"alias:{cls.__name__}:{old}",
                          f"toolzero: option {old!r} of {where or cls.__name__} is renamed {new!r}; the old name "
                          "will be removed")
                if new in given:
                    raise ConfigError(f"give {new!r} or its old name {old!r}, not both")
                given[new] = given.pop(old)
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ConfigError(f"unknown option(s) {unknown} for {where or cls.__name__}; valid: {sorted(names)}")
        return cls(**given)


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def check_value(name: str, value: Any, annotation: Any, meta: Mapping[str, Any] | None = None) -> Any:
    """``value`` converted to ``annotation`` and checked against ``meta``; :class:`ConfigError` otherwise."""
    meta = meta or {}
    value = _convert(name, value, annotation)
    if value is None:
        return value
    choices = meta.get("choices")
    if choices is not None:
        items = value if isinstance(value, tuple) else (value,)
        bad = [v for v in items if v not in choices]
        if bad:
            raise ConfigError(f"option {name!r} must be one of {', '.join(map(str, choices))}; got {show(bad[0])}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high, above = meta.get("min"), meta.get("max"), meta.get("above")
        if low is not None and value < low:
            raise ConfigError(f"option {name!r} must be at least {low}, got {show(value)}")
        if high is not None and value > high:
            raise ConfigError(f"option {name!r} must be at most {high}, got {show(value)}")
        if above is not None and value <= above:
            raise ConfigError(f"option {name!r} must be above {above}, got {show(value)}")
    return value


def show(value: Any, limit: int = 80) -> str:
    """``repr(value)`` for a one-line error message: cut to ``limit`` characters, and never raising
    (Python refuses to print integers of more than 4300 digits).

    >>> show(10**5000), show("x" * 100)[-5:]
    ('<an int too large to show>', 'xx...')
    """
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"<an {type(value).__name__} too large to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _convert(name: str, value: Any, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = typing.get_args(annotation)
        if value is None and type(None) in members:
            return None
        errors = []
        for member in members:
            if member is type(None):
                continue
            try:
                return _convert(name, value, member)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"option {name!r} has an unusable value {show(value)}")
    if origin in (tuple, list):
        return _convert_sequence(name, value, annotation, origin)
    if annotation is bool:
        return _to_bool(name, value)
    if annotation is int:
        return _to_int(name, value)
    if annotation is float:
        return _to_float(name, value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"option {name!r} must be a string, got {show(value)}")
        return value
    if annotation is Any:
        return value
    if isinstance(annotation, type) and isinstance(value, annotation):
        return value
    raise ConfigError(f"option {name!r} must be {getattr(annotation, '__name__', annotation)}, got {show(value)}")


def _to_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigError(f"option {name!r} must be true or false, got {show(value)}")


def _to_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"option {name!r} must be a whole number, got {show(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"option {name!r} must be a whole number, got {show(value)}")


def _to_float(name: str, value: Any) -> float:
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None:
        raise ConfigError(f"option {name!r} must be a number, got {show(value)}")
    if not math.isfinite(number):
        raise ConfigError(f"option {name!r} must be a finite number, got {show(value)}")
    return number


def _convert_sequence(name: str, value: Any, annotation: Any, origin: type) -> Any:
    args = typing.get_args(annotation)
    item = args[0] if args else Any
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)):
        try:
            value = list(value)  # OmegaConf ListConfig and other sequences
        except TypeError:
            raise ConfigError(f"option {name!r} must be a list, got {show(value)}") from None
    items = [_convert(name, v, item) for v in value]
    return tuple(items) if origin is tuple else items


def describe(cls: type) -> list[tuple[str, Any, str]]:
    """``(name, default, help)`` of every option of ``cls``, in declaration order (for docs and --help)."""
    return [(f.name, f.default, f.metadata.get("help", "")) for f in dataclasses.fields(cls)]


# --- command lines generated from a config ------------------------------------------------------


def add_arguments(
    parser: Any,
    cls: type,
    *,
    only: Iterable[str] | None = None,
    prefix: str = "",
    renamed: Mapping[str, str] | None = None,
) -> None:
    """Add one flag per option of ``cls`` (the fields declared with :func:`option` help, or those in ``only``,
    in that order) to an ``argparse`` parser or argument group.

    The flag is ``--field-name`` unless the field gives ``flag``; its help, default and metavar (or
    ``{choices}``) come from the field, so they are stated once. A value is converted and checked as
    the config would (:func:`check_value`), so a bad one fails in argparse (exit 2) naming the flag. A
    ``bool`` option defaulting to False is a switch, one defaulting to True a ``--no-…`` switch (name it
    with ``flag``). A flag not given stores nothing: :func:`from_arguments` then leaves the field's
    default in force. ``renamed`` maps old flags to field names: they still work, stay out of ``--help``,
    and print a deprecation note. Destinations are ``prefix + field name``.

    >>> import argparse
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Demo(Options):
    ...     rate: float = option(0.0, min=0.0, max=1.0, metavar="R", help="a rate")
    ...     fast: bool = option(True, flag="--slow", help="go slowly")
    >>> p = argparse.ArgumentParser(prog="demo")
    >>> add_arguments(p, Demo, renamed={"--old-rate": "rate"})
    >>> from_arguments(Demo, p.parse_args(["--rate", "0.5", "--slow"]))
    Demo(rate=0.5, fast=False)
    >>> from_arguments(Demo, p.parse_args([]))
    Demo(rate=0.0, fast=True)
    """
    import argparse  # only command lines need it; the reward path imports this module too

    by_name = {f.name: f for f in dataclasses.fields(cls)}
    names = list(only) if only is not None else [n for n, f in by_name.items() if "help" in f.metadata]
    hints = _hints(cls)
    flags = {}
    for name in names:
        f = by_name[name]
        flag = f.metadata.get("flag") or "--" + name.replace("_", "-")
        flags[name] = flag
        kwargs: dict[str, Any] = {"dest": prefix + name, "default": argparse.SUPPRESS, "help": _help_text(f)}
        if hints[name] is bool:
            kwargs["action"] = "store_false" if f.default is True else "store_true"
        else:
            kwargs["type"] = _argument_type(name, hints[name], f.metadata)
            kwargs["metavar"] = f.metadata.get("metavar") or _choices_metavar(f.metadata.get("choices"))
            kwargs["required"] = f.default is dataclasses.MISSING
        parser.add_argument(flag, **kwargs)
    for old, name in (renamed or {}).items():
        parser.add_argument(old, dest=prefix + name, default=argparse.SUPPRESS, help=argparse.SUPPRESS,
                            type=_argument_type(name, hints[name], by_name[name].metadata),
                            action=_deprecated_flag(flags.get(name) or "--" + name.replace("_", "-")))


def from_arguments(cls: type, namespace: Any, *, prefix: str = "", **given: Any):
    """``cls`` built from the flags :func:`add_arguments` added (those given on the command line) and ``given``."""
    values = {}
    for f in dataclasses.fields(cls):
        if hasattr(namespace, prefix + f.name):
            values[f.name] = getattr(namespace, prefix + f.name)
    return cls(**{**values, **given})


def _help_text(f: dataclasses.Field) -> str:
    text = f.metadata.get("help", "")
    if f.default is not dataclasses.MISSING and not isinstance(f.default, bool) and f.default not in (None, "", ()):
        text = f"{text.rstrip('.')}. Default: {f.default}"
    return text.replace("%", "%%")  # argparse formats help with %


def _choices_metavar(choices: tuple | None) -> str | None:
    return "{" + ",".join(map(str, choices)) + "}" if choices else None


_OPTION_PREFIX = re.compile(r"^option '[^']*' ")


def _argument_type(name: str, annotation: Any, meta: Mapping[str, Any]):
    import argparse

    def convert(text: str) -> Any:
        try:
            return check_value(name, text, annotation, meta)
        except ConfigError as exc:  # argparse names the flag; drop our "option 'x' " prefix
            raise argparse.ArgumentTypeError(_OPTION_PREFIX.sub("", str(exc))) from None

    convert.__name__ = getattr(annotation, "__name__", "value")  # argparse shows it in "invalid <name> value"
    return convert


def _deprecated_flag(new: str) -> type:
    import argparse

    class Deprecated(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            print(f"{parser.prog}: {option_string} is deprecated; use {new}", file=sys.stderr)
            setattr(namespace, self.dest, values)

    return Deprecated
