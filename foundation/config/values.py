"""Values for a config's options: a command-line token or a config file's value coerced to the field's type,
numbers' ranges checked, a TOML table (nested or flattened) read, the dataclass built from values, and configs
turned back into plain data and TOML text."""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import typing
from dataclasses import MISSING
from typing import Any, Callable, Mapping

from foundation.config.fields import (ConfigError, Option, base_type, element_type, excluded, field_default,
                                      field_options, options)


def wrap_parse(parse: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    def parse_token(text: str):
        try:
            return parse(text)
        except (ValueError, TypeError) as exc:
            raise argparse.ArgumentTypeError(str(exc) or f"invalid {what}: {text!r}")
    parse_token.__name__ = what
    return parse_token


def scalar_parser(tp: Any) -> Callable[[str], Any]:
    return {int: int, float: float}.get(tp, str)


def coerce(opt: Option, value: Any, where: str) -> Any:
    """``value`` from a config file as ``opt``'s type (ints accepted as floats, lists as tuples, strings
    through ``parse``); ConfigError naming ``where`` and the key when it does not fit."""
    key = f"{where} {'.'.join(opt.path)}".strip()
    parse = opt.meta["parse"]
    element = element_type(opt.type)
    try:
        if isinstance(value, str) and parse is not None:
            value = parse(value)
        elif element is not None:
            items = value if isinstance(value, (list, tuple)) else [value]
            value = tuple(_scalar(element[0], v) for v in items)
            if element[1] is not None and len(value) != element[1]:
                raise ValueError(f"expected {element[1]} values, got {len(value)}")
        else:
            value = _scalar(base_type(opt.type), value)
    except (ValueError, TypeError, argparse.ArgumentTypeError) as exc:
        raise ConfigError(f"{key}: {exc}") from None
    _check_choices(opt, value, key)
    problem = range_problem(opt.meta, value)
    if problem:
        raise ConfigError(f"{key}: {problem}")
    return value


def _scalar(tp: Any, value: Any) -> Any:
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    ok = {bool: isinstance(value, bool), int: isinstance(value, int) and not isinstance(value, bool),
          float: isinstance(value, (int, float)) and not isinstance(value, bool), str: isinstance(value, str)}
    if tp in ok and not ok[tp]:
        raise ValueError(f"expected {names[tp]}, got {value!r}")
    return float(value) if tp is float else value


#: The range of a seed: what every generator seeded with it takes (NumPy's legacy ``seed`` stops at 2**32 - 1).
SEED_RANGE = {"minimum": 0, "maximum": 2 ** 32 - 1}

_BOUNDS = (("minimum", lambda x, b: x >= b, "at least"), ("exclusive_minimum", lambda x, b: x > b, "more than"),
           ("maximum", lambda x, b: x <= b, "at most"), ("exclusive_maximum", lambda x, b: x < b, "less than"))


def range_problem(meta: dict, value: Any) -> str | None:
    """Why ``value`` (a number, a tuple or list of them, or anything else, which is not checked) is outside the
    range the :func:`option` description ``meta`` declares, in words (``must be more than 0, got 0``); None
    when it is inside. A float must be finite (``nan`` and ``inf`` never are), whatever the range."""
    for item in value if isinstance(value, (tuple, list)) else (value,):
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            continue
        if isinstance(item, float) and not math.isfinite(item):
            return f"must be a finite number, got {item}"
        for key, holds, words in _BOUNDS:
            bound = meta.get(key)
            if bound is not None and not holds(item, bound):
                return f"must be {words} {_number(bound)}, got {_number(item)}"
    return None


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_ranges(config: Any) -> None:
    """Raise ValueError naming the first field of the dataclass instance ``config`` whose value is outside its
    :func:`option` range (:func:`range_problem`); nested configs check their own fields when they are made.
    Config classes call this first in ``__post_init__``."""
    for field_ in dataclasses.fields(config):
        meta = field_options(field_)
        problem = range_problem(meta, getattr(config, field_.name)) if meta is not None else None
        if problem:
            raise ValueError(f"{type(config).__name__}.{field_.name} {problem}")


def _check_choices(opt: Option, value: Any, key: str) -> None:
    choices = opt.meta["choices"]
    if choices is None:
        return
    for item in value if isinstance(value, tuple) else (value,):
        if item not in choices:
            raise ConfigError(f"{key}: {item!r} is not one of {', '.join(map(str, choices))}")


def table_values(tables: Mapping[str, type], mapping: Mapping[str, Any], where: str = "",
                 exclude: Mapping[str, tuple[str, ...]] | None = None, *, cli_only: bool = True) -> dict[str, dict]:
    """Read a mapping (a TOML table) whose keys are fields of one or more config classes.

    Keys are field names; a nested dataclass field is a sub-table (``head = {kind = "dense"}``) or its own
    fields' names, flattened (``kind = "dense"``); a flattened key may also be an option's flag without its dashes
    (``whisper_pooling`` for ``--whisper-pooling``), which names it where two nested fields share a name.

    Parameters
    ----------
    tables : {name: config class}
        The classes whose options the mapping may set (their field names must not clash).
    mapping : mapping
    where : str
        How error messages name the mapping (``[train]``).
    exclude : {name: field paths}, optional
        Options of a class that this mapping may not set (set elsewhere), as dotted paths (a path excludes
        everything under it).
    cli_only : bool
        Only the fields that are options (default); False: every field, as a record written from the config holds.

    Returns
    -------
    {name: {path: value}}, for :func:`make_config`.

    Raises
    ------
    ConfigError
        Naming every unknown key, or the first value of the wrong type or choice.
    """
    exclude = exclude or {}
    known: dict[tuple[str, ...], tuple[str, Option]] = {}
    for name, cls in tables.items():
        for opt in options(cls, cli_only=cli_only):
            if not excluded(".".join(opt.path), exclude.get(name, ())):
                known[opt.path] = (name, opt)
    by_leaf: dict[str, list[tuple[str, ...]]] = {}
    by_flag: dict[str, tuple[str, ...]] = {}
    for path, (_, opt) in known.items():
        by_leaf.setdefault(path[-1], []).append(path)
        if not opt.is_bool:
            by_flag[opt.flag.lstrip("-").replace("-", "_")] = path
    out: dict[str, dict] = {name: {} for name in tables}
    unknown: list[str] = []

    def visit(prefix: tuple[str, ...], items: Mapping[str, Any]) -> None:
        for key, value in items.items():
            path = prefix + (key,)
            if path in known:
                name, opt = known[path]
                out[name][path] = coerce(opt, value, where)
            elif isinstance(value, Mapping) and any(p[:len(path)] == path for p in known):
                visit(path, value)
            elif not prefix and (key in by_flag or len(by_leaf.get(key, ())) == 1):
                name, opt = known[by_flag.get(key) or by_leaf[key][0]]
                out[name][opt.path] = coerce(opt, value, where)
            else:
                unknown.append(".".join(path))

    visit((), mapping)
    if unknown:
        names = sorted(".".join(p) for p in known)
        raise ConfigError(f"unknown key{'s' if len(unknown) > 1 else ''} in {where or 'the file'}: "
                          f"{', '.join(unknown)} (known: {', '.join(names)})")
    return out


def make_config(cls: type, values: Mapping[tuple[str, ...], Any] | None = None, *, base: Any = None,
                **fields_: Any):
    """An instance of ``cls`` with the given values (``{path: value}``, as :meth:`CommandLine.parse` and
    :func:`table_values` return them) and top-level ``fields_``; every other field keeps its default, or its value
    in ``base`` (an instance of ``cls``) when given.

    A nested dataclass field is built from its default (or base) with the given values replaced; a field declared
    with ``follows`` takes its sibling's value when only that one is given; a field without a default takes
    its ``cli_default`` when not given and there is no base.
    """
    values = dict(values or {})
    values.update({(k,): v for k, v in fields_.items()})
    return _build(cls, values, MISSING if base is None else base)


def _build(cls: type, values: dict, base: Any):
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for field_ in dataclasses.fields(cls):
        if (field_.name,) in values:
            kwargs[field_.name] = values[(field_.name,)]
            continue
        nested = {p[1:]: v for p, v in values.items() if p[0] == field_.name and len(p) > 1}
        if nested:
            inner = getattr(base, field_.name) if base is not MISSING else field_default(field_)
            kwargs[field_.name] = _build(base_type(hints[field_.name]), nested, inner)
    for field_ in dataclasses.fields(cls):
        meta = field_options(field_) or {}
        if meta.get("follows") in kwargs and field_.name not in kwargs:
            kwargs[field_.name] = kwargs[meta["follows"]]
        elif base is MISSING and field_.name not in kwargs and meta.get("cli_default", MISSING) is not MISSING:
            kwargs[field_.name] = meta["cli_default"]
    return dataclasses.replace(base, **kwargs) if base is not MISSING else cls(**kwargs)


def config_mapping(config: Any, exclude: tuple[str, ...] = ()) -> dict:
    """The user options of a config instance as plain data, nested like the class (tuples as lists);
    ``exclude``: dotted paths left out (each with everything under it)."""
    out: dict = {}
    for opt in options(type(config)):
        if excluded(".".join(opt.path), exclude):
            continue
        value = config
        for name in opt.path:
            value = getattr(value, name)
        target = out
        for name in opt.path[:-1]:
            target = target.setdefault(name, {})
        target[opt.name] = list(value) if isinstance(value, tuple) else value
    return out


def to_toml(data: Mapping[str, Any]) -> str:
    """TOML text of plain data: top-level values first, then one ``[table]`` per mapping (sub-mappings as
    ``[table.sub]``). None values are left out (TOML has no null: a key left out keeps its default)."""
    lines: list[str] = []

    def emit(prefix: str, table: Mapping[str, Any]) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, Mapping) and v is not None}
        if prefix and (scalars or not any(isinstance(v, Mapping) for v in table.values())):
            lines.extend(["", f"[{prefix}]"] if lines else [f"[{prefix}]"])
        lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars.items())
        for key, value in table.items():
            if isinstance(value, Mapping):
                emit(f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key), value)

    emit("", data)
    return "\n".join(lines) + "\n"


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")) if not math.isfinite(value) \
            else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    return json.dumps(str(value), ensure_ascii=False)
