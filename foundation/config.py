"""A step's options, declared once as a frozen dataclass, and the command line and config files made from it.

Each field of a config dataclass carries its user-facing description (:func:`option`): the help text and,
where the default is not right, the flag, aliases, metavar, choices, a parse function and an argparse group.
From the class alone:

* :class:`CommandLine` generates an argparse option per field (nested dataclass fields flattened: ``--n-mels``
  sets ``BuildConfig.mel.n_mels``; booleans as flags; tuples as several values, or one token with ``parse``)
  and reads back, as ``{path: value}``, the options given;
* the help text ends with the field's default, read from the field when the parser is built, so it cannot
  go stale; ``default_text`` describes a default that depends on something else (``None``: "the model's");
* a number's range (``minimum``, ``maximum``, ``exclusive_minimum``, ``exclusive_maximum``; every number must
  be finite) is checked where a value enters: the command line (a one-line ``error: --flag: ...``, exit
  status 2), a config file (:class:`ConfigError` naming the key) and the dataclass itself (its
  ``__post_init__`` calls :func:`check_ranges`);
* :func:`table_values` reads a mapping (a TOML table), nested (``head = {kind = "dense"}``) or flattened
  (``kind = "dense"``), checks types and choices, and names every unknown key;
* :func:`make_config` builds the dataclass from such values, keeping the default of every field not given;
* :func:`config_mapping` and :func:`to_toml` turn configs back into plain data and TOML text;
* every command's parser is an :class:`ArgumentParser` (the one :class:`CommandLine` makes): a command-line
  mistake is one ``error:`` line with exit status 2, a mistyped option named with the one it most likely means;
  its help (:class:`HelpFormatter`) is wrapped to the terminal, :data:`HELP_WIDTH` columns at most, and a command
  with many options shows the common ones with ``--help`` and every one with ``--help-all``
  (:meth:`ArgumentParser.set_short_help`).

A field without :func:`option` metadata, or declared with ``cli=False``, is not a user option: it is set
neither on the command line nor in a config file.
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import math
import re
import shutil
import sys
import textwrap
import typing
from dataclasses import MISSING, dataclass, field
from types import UnionType
from typing import Any, Callable, Iterable, Iterator, Mapping

from foundation.tables import counted

META_KEY = "weaklabel.option"


class ConfigError(ValueError):
    """A config file or table that does not fit its config class (unknown key, wrong type or choice)."""


def option(default: Any = MISSING, *, help: str, default_factory: Any = MISSING, flag: str | None = None,
           aliases: tuple[str, ...] = (), metavar: str | None = None, choices=None,
           parse: Callable[[str], Any] | None = None, default_text: str | None = None, group: str | None = None,
           cli: bool = True, repeat: bool = False, required: bool | None = None, cli_default: Any = MISSING,
           follows: str | None = None, minimum: float | None = None, maximum: float | None = None,
           exclusive_minimum: float | None = None, exclusive_maximum: float | None = None, compare: bool = True):
    """A dataclass field with its command-line and config-file description.

    Parameters
    ----------
    default, default_factory :
        As for :func:`dataclasses.field`.
    help : str
        What the option means; the generated help appends ``(default: ...)`` from the field.
    flag : str, optional
        The option's name (default ``--`` + the field name with ``-`` for ``_``; ``--no-NAME`` for a boolean
        whose default is True).
    aliases : tuple of str
        Further names of the same option (former names kept working).
    metavar, choices :
        As for :meth:`argparse.ArgumentParser.add_argument`.
    parse : callable(str) -> value, optional
        Turns one command-line token (or a config-file string) into the value, raising ValueError with a
        message; a tuple field with ``parse`` takes one token (``--split 0.8,0.1,0.1``).
    default_text : str, optional
        Describes the default in the help instead of the field's value (for a default of None that means
        "decided later", or one that depends on another setting).
    group : str, optional
        Title of the argparse group the option is listed under.
    cli : bool
        False: documented, but not a user option (neither command line nor config file).
    repeat : bool
        A tuple field given one value per repeated flag (``--root A --root B``) instead of several values after
        one flag.
    required : bool, optional
        Whether the command line must give it; default: when the field has no default and no ``cli_default``.
    cli_default :
        For a field without a default: the value :func:`make_config` gives it when neither the command line
        nor a config file does (``BuildConfig.corpus``: ``auto``).
    follows : str, optional
        Name of a sibling field whose value this one takes when that one is given and this one is not
        (``LogMelParams.win_length`` follows ``n_fft``).
    minimum, maximum, exclusive_minimum, exclusive_maximum : number, optional
        The range of a number (of each item of a tuple of numbers), in the field's units; a number must be
        finite whatever its range (:func:`range_problem`).
    compare : bool
        As for :func:`dataclasses.field`: False for a field that says how a value was reached, not what it is
        (two configurations that hold the same values are equal).
    """
    meta = {"help": help, "flag": flag, "aliases": tuple(aliases), "metavar": metavar, "choices": choices,
            "parse": parse, "default_text": default_text, "group": group, "cli": cli, "repeat": repeat,
            "required": required, "cli_default": cli_default, "follows": follows, "minimum": minimum,
            "maximum": maximum, "exclusive_minimum": exclusive_minimum, "exclusive_maximum": exclusive_maximum}
    return field(default=default, default_factory=default_factory, compare=compare, metadata={META_KEY: meta})


# -------------------------------------------------------------------------------------------------- fields
@dataclass(frozen=True)
class Option:
    """One user option of a config class: a leaf field, reached through ``path`` from the class."""

    path: tuple[str, ...]
    field: dataclasses.Field
    type: Any
    default: Any  # MISSING when there is none
    meta: dict

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def flag(self) -> str:
        if self.meta["flag"]:
            return self.meta["flag"]
        name = self.name.replace("_", "-")
        return f"--no-{name}" if self.is_bool and self.default is True else f"--{name}"

    @property
    def is_bool(self) -> bool:
        return _base_type(self.type) is bool

    @property
    def required(self) -> bool:
        """Whether the command line must give it."""
        if self.meta["required"] is not None:
            return self.meta["required"]
        return self.default is MISSING and self.meta["cli_default"] is MISSING

    def shown_default(self) -> str | None:
        """The default as the help shows it (None: not shown)."""
        if self.meta["default_text"] is not None:
            return self.meta["default_text"]
        if self.required:
            return None
        value = self.meta["cli_default"] if self.default is MISSING else self.default
        if value is MISSING or value is None or self.is_bool or value == ():
            return None
        if isinstance(value, (tuple, list)):
            return ("," if self.meta["parse"] else " ").join(map(str, value))
        return str(value)


def field_options(field_: dataclasses.Field) -> dict | None:
    """The :func:`option` description of a dataclass field, or None when it has none."""
    return field_.metadata.get(META_KEY)


def _field_default(field_: dataclasses.Field) -> Any:
    if field_.default is not MISSING:
        return field_.default
    if field_.default_factory is not MISSING:
        return field_.default_factory()
    return MISSING


def _base_type(tp: Any) -> Any:
    """``T`` for ``T | None``; else ``tp``."""
    if typing.get_origin(tp) in (typing.Union, UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _element_type(tp: Any) -> tuple[Any, int | None] | None:
    """For ``tuple[T, ...]``: (T, None); for ``tuple[T, T, T]``: (T, 3); else None."""
    tp = _base_type(tp)
    if typing.get_origin(tp) not in (tuple, list):
        return None
    args = typing.get_args(tp)
    if len(args) == 2 and args[1] is Ellipsis:
        return args[0], None
    return (args[0] if args else str), len(args) or None


def options(cls: type, *, cli_only: bool = True) -> list[Option]:
    """The user options of config class ``cls``, nested dataclass fields flattened, in declaration order."""
    return list(_walk(cls, (), MISSING, cli_only))


def _walk(cls: type, prefix: tuple[str, ...], base: Any, cli_only: bool) -> Iterator[Option]:
    hints = typing.get_type_hints(cls)
    for field_ in dataclasses.fields(cls):
        meta = field_options(field_)
        if meta is None or (cli_only and not meta["cli"]):
            continue
        tp = hints[field_.name]
        if dataclasses.is_dataclass(_base_type(tp)):
            # a nested config made by its class's own defaults shows them as its fields declare them
            own = base is MISSING and field_.default_factory is _base_type(tp)
            inner = MISSING if own else getattr(base, field_.name) if base is not MISSING else _field_default(field_)
            yield from _walk(_base_type(tp), prefix + (field_.name,), inner, cli_only)
        else:
            default = getattr(base, field_.name) if base is not MISSING else _field_default(field_)
            yield Option(prefix + (field_.name,), field_, tp, default, meta)


def excluded(dotted: str, exclude) -> bool:
    """Whether the option at ``dotted`` is excluded by ``exclude`` (dotted paths; a path excludes everything under
    it: ``embedding`` excludes ``embedding.vgg16.layer``)."""
    return any(dotted == e or dotted.startswith(e + ".") for e in exclude)


# ---------------------------------------------------------------------------------------------- values
def _wrap_parse(parse: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    def parse_token(text: str):
        try:
            return parse(text)
        except (ValueError, TypeError) as exc:
            raise argparse.ArgumentTypeError(str(exc) or f"invalid {what}: {text!r}")
    parse_token.__name__ = what
    return parse_token


def _scalar_parser(tp: Any) -> Callable[[str], Any]:
    return {int: int, float: float}.get(tp, str)


def coerce(opt: Option, value: Any, where: str) -> Any:
    """``value`` from a config file as ``opt``'s type (ints accepted as floats, lists as tuples, strings
    through ``parse``); ConfigError naming ``where`` and the key when it does not fit."""
    key = f"{where} {'.'.join(opt.path)}".strip()
    parse = opt.meta["parse"]
    element = _element_type(opt.type)
    try:
        if isinstance(value, str) and parse is not None:
            value = parse(value)
        elif element is not None:
            items = value if isinstance(value, (list, tuple)) else [value]
            value = tuple(_scalar(element[0], v) for v in items)
            if element[1] is not None and len(value) != element[1]:
                raise ValueError(f"expected {element[1]} values, got {len(value)}")
        else:
            value = _scalar(_base_type(opt.type), value)
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
            inner = getattr(base, field_.name) if base is not MISSING else _field_default(field_)
            kwargs[field_.name] = _build(_base_type(hints[field_.name]), nested, inner)
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


# ------------------------------------------------------------------------------------------ command line
#: The widest a command's ``--help`` is drawn, in characters (narrower on a narrower terminal).
HELP_WIDTH = 100


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's help at the terminal's width, :data:`HELP_WIDTH` at most: each option's help wrapped to it (an
    option's name never cut at its hyphens); in the description and the epilog, each paragraph of prose (lines
    that start in the first column) wrapped to it, and indented lines (commands, examples, a file's text) kept as
    they are written."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        if width is None:
            width = min(shutil.get_terminal_size().columns, HELP_WIDTH) - 2
        super().__init__(prog, indent_increment, max_help_position, width)

    def _split_lines(self, text, width):
        return textwrap.wrap(re.sub(r"\s+", " ", text).strip(), width, break_on_hyphens=False)

    def _fill_text(self, text, width, indent):
        lines: list[str] = []
        prose: list[str] = []

        def end_paragraph() -> None:
            lines.extend(textwrap.wrap(" ".join(prose), width, initial_indent=indent, subsequent_indent=indent,
                                       break_on_hyphens=False))
            prose.clear()

        for line in text.splitlines():
            if line[:1].strip():
                prose.append(line.strip())
                continue
            end_paragraph()
            lines.append(indent + line if line.strip() else "")
        end_paragraph()
        return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


#: How close an unknown option's name must be to a known one for the error to suggest it
#: (:func:`difflib.get_close_matches`'s ratio, compared without the leading dashes).
SUGGESTION_CUTOFF = 0.6


class ArgumentParser(argparse.ArgumentParser):
    """:class:`argparse.ArgumentParser` whose errors are one line on standard error, ``error: MESSAGE``, with exit
    status 2 and no usage dump; an option it does not know is named with the closest one it does
    (``error: unrecognized option --neutral-bnad (did you mean --neutral-band?)``), before any other complaint (a
    missing required option is often the typo's consequence). Its help is drawn by :class:`HelpFormatter`."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.short_help: tuple[str, list[argparse.Action]] | None = None  # (summary, options shown): set_short_help

    def set_short_help(self, summary: str, flags: Iterable[str]) -> None:
        """Make ``--help`` short: ``summary`` for the description and, in their groups, only the options named by
        ``flags`` (and the required ones); ``--help-all`` then shows the whole description and every option.
        Raises ValueError for a flag the parser does not have."""
        missing = [flag for flag in flags if flag not in self._option_string_actions]
        if missing:
            raise ValueError(f"no such option: {', '.join(missing)}")
        self._option_string_actions["-h"].help = "show the common options and exit"
        full = self.add_argument("--help-all", action=_FullHelp, help="show every option and the details, and exit")
        shown = [self._option_string_actions[flag] for flag in ("-h", *flags)] + [full]
        self.short_help = (summary, shown)

    def format_short_help(self) -> str:
        """The ``--help`` of :meth:`set_short_help` (the full help when it was not called)."""
        if self.short_help is None:
            return self.format_help()
        summary, shown = self.short_help
        hidden = [a for a in self._actions if a not in shown and not a.required and a.help != argparse.SUPPRESS]
        saved = (self.description, self.epilog, [(action, action.help) for action in hidden])
        try:
            for action in hidden:
                action.help = argparse.SUPPRESS
            self.description = summary
            self.epilog = f"{counted(len(hidden), 'more option')} and the details: {self.prog} --help-all"
            return self.format_help()
        finally:
            self.description, self.epilog = saved[0], saved[1]
            for action, text in saved[2]:
                action.help = text

    def print_help(self, file=None):
        self._print_message(self.format_short_help(), file or sys.stdout)

    def parse_args(self, args=None, namespace=None):
        argv = sys.argv[1:] if args is None else list(args)
        unknown = self.unknown_options(argv)
        if unknown:
            self.error(f"unrecognized option{'s' if len(unknown) > 1 else ''} "
                       + ", ".join(self._with_suggestion(name) for name in unknown))
        return super().parse_args(argv, namespace)

    def unknown_options(self, argv: list[str]) -> list[str]:
        """The ``--name`` words of ``argv`` (``--name=value`` as ``--name``) that name no option of this parser,
        nor abbreviate one where abbreviations are allowed; words after ``--`` are not options."""
        known = self._option_string_actions
        out = []
        for word in argv:
            if word == "--":
                break
            name = word.split("=", 1)[0]
            if not name.startswith("--") or name in known:
                continue
            if not (self.allow_abbrev and any(option.startswith(name) for option in known)):
                out.append(name)
        return out

    def _with_suggestion(self, name: str) -> str:
        """``name`` and the known option it most likely means: the closest by spelling, else the longest whose
        name begins it (``--csv-file``: ``--csv``); else where to find the options."""
        options = {option[2:]: option for option in self._option_string_actions if option.startswith("--")}
        typed = name.lstrip("-").replace("_", "-")
        close = difflib.get_close_matches(typed, list(options), n=1, cutoff=SUGGESTION_CUTOFF) or \
            sorted((o for o in options if typed.startswith(o + "-")), key=len, reverse=True)[:1]
        return f"{name} (did you mean {options[close[0]]}?)" if close else f"{name} (--help lists the options)"

    def error(self, message: str):
        """Print ``error: message`` on one line and exit with status 2."""
        self.exit(2, f"error: {' '.join(message.split())}\n")


class _FullHelp(argparse.Action):
    """``--help-all``: the whole help (every option, the full description), then exit."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        parser._print_message(parser.format_help(), sys.stdout)
        parser.exit()


class CommandLine:
    """An argparse parser whose options are generated from config classes.

    Parameters
    ----------
    prog, description : str
        As for :class:`argparse.ArgumentParser` (the description is shown as written).
    groups : list of str
        Titles of option groups to create first, in this order (others follow as options name them).

    Examples
    --------
    >>> cli = CommandLine("python -m pipelines.embed", __doc__)                 # doctest: +SKIP
    >>> cli.add("embed", EmbedConfig)                                          # doctest: +SKIP
    >>> args, values = cli.parse(argv)                                         # doctest: +SKIP
    >>> config = make_config(EmbedConfig, values["embed"])                     # doctest: +SKIP
    """

    def __init__(self, prog: str, description: str | None = None, groups: tuple[str, ...] = (),
                 allow_abbrev: bool = True):
        self.parser = ArgumentParser(prog=prog, description=description, allow_abbrev=allow_abbrev)
        self.groups = {title: self.parser.add_argument_group(title) for title in groups}
        self.tables: dict[str, list[tuple[str, Option]]] = {}
        self.classes: dict[str, type] = {}
        self.flags: dict[str, str] = {}  # dest -> the flag it is given with

    def group(self, title: str | None):
        """The argument group called ``title`` (created on first use), or the parser itself for None."""
        if title is None:
            return self.parser
        if title not in self.groups:
            self.groups[title] = self.parser.add_argument_group(title)
        return self.groups[title]

    def add(self, name: str, cls: type, *, exclude: tuple[str, ...] = (), flags: Mapping[str, str] | None = None,
            notes: Mapping[str, str] | None = None, group: str | None = None) -> None:
        """Add an option for every user option of ``cls``; :meth:`parse` returns their values under ``name``.

        ``exclude``: dotted paths not offered (each with everything under it); ``flags``: dotted path -> another
        flag; ``notes``: dotted path -> a sentence added to the help; ``group``: the group of options that name none.
        """
        flags, notes = flags or {}, notes or {}
        self.tables[name], self.classes[name] = [], cls
        for opt in options(cls):
            dotted = ".".join(opt.path)
            if excluded(dotted, exclude):
                continue
            dest = f"{name}:{dotted}"
            flag = flags.get(dotted, opt.flag)
            self.group(opt.meta["group"] or group).add_argument(
                flag, *opt.meta["aliases"], dest=dest, default=argparse.SUPPRESS,
                help=_help(opt, notes.get(dotted), flag), **_argparse_kwargs(opt, flag))
            self.tables[name].append((dest, opt))
            self.flags[dest] = flag

    def parse(self, argv: list[str] | None = None) -> tuple[argparse.Namespace, dict[str, dict]]:
        """Parse ``argv``: the namespace (for the options added to :attr:`parser` directly) and, per name given
        to :meth:`add`, ``{path: value}`` of the options the command line gave (absent ones keep defaults).

        A number outside its option's range ends the program with one line, ``error: --flag: must be ...``,
        and exit status 2 (what argparse does for a value it cannot parse, without the usage)."""
        args = self.parser.parse_args(argv)
        for entries in self.tables.values():
            for dest, opt in entries:
                problem = range_problem(opt.meta, getattr(args, dest)) if hasattr(args, dest) else None
                if problem:
                    self.parser.error(f"{self.flags[dest]}: {problem}")
        return args, self.values(args)

    def configs(self, values: dict[str, dict]) -> dict[str, Any]:
        """Per name given to :meth:`add`, its config built from ``values`` (:func:`make_config`); ValueError when
        a config rejects them."""
        return {name: make_config(cls, values[name]) for name, cls in self.classes.items()}

    def values(self, args: argparse.Namespace) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for name, entries in self.tables.items():
            out[name] = {}
            for dest, opt in entries:
                if hasattr(args, dest):
                    value = getattr(args, dest)
                    out[name][opt.path] = tuple(value) if isinstance(value, list) else value
        return out


#: An option whose choices, as argparse writes them in the usage (``--policy {auto,e5,...}``, twice for several
#: values), are longer than this is shown with a name for its value instead (``--policy POLICY``), the choices
#: listed in its help: the usage stays within :data:`HELP_WIDTH`.
CHOICES_USAGE_WIDTH = 48


def _long_choices(opt: Option, flag: str) -> bool:
    choices = opt.meta["choices"]
    if choices is None or opt.meta["metavar"]:
        return False
    copies = 2 if _element_type(opt.type) is not None and not opt.meta["repeat"] else 1
    return len(flag) + 1 + copies * (len(",".join(map(str, choices))) + 2) > CHOICES_USAGE_WIDTH


def _help(opt: Option, note: str | None, flag: str) -> str:
    text = opt.meta["help"] + (f"; {note}" if note else "")
    if _long_choices(opt, flag):
        text += f" (one of: {', '.join(map(str, opt.meta['choices']))})"
    shown = opt.shown_default()
    if shown is not None:
        text += f" (default: {shown})"
    return text.replace("%", "%%")


def _argparse_kwargs(opt: Option, flag: str) -> dict:
    meta = opt.meta
    if opt.is_bool:
        return {"action": "store_false" if opt.default is True else "store_true"}
    kwargs: dict[str, Any] = {"required": True} if opt.required else {}
    element = _element_type(opt.type)
    if meta["parse"] is not None:
        kwargs["type"] = _wrap_parse(meta["parse"], opt.name)
    elif element is not None:
        kwargs["type"] = _scalar_parser(element[0])
        if meta["repeat"]:
            kwargs["action"] = "append"
        else:
            kwargs["nargs"] = element[1] or "+"
    else:
        kwargs["type"] = _scalar_parser(_base_type(opt.type))
    if meta["choices"] is not None:
        kwargs["choices"] = list(meta["choices"])
    if meta["metavar"] or meta["choices"] is None or _long_choices(opt, flag):
        kwargs["metavar"] = meta["metavar"] or flag.lstrip("-").replace("-", "_").upper()
    return kwargs
