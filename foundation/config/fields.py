"""A config dataclass's fields as user options: :func:`option` declares one (help, flag, aliases, metavar,
choices, parse function, range, group), :class:`Option` is one field with its dotted path (nested dataclasses
flattened), :func:`options` lists a class's."""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import MISSING, dataclass, field
from types import UnionType
from typing import Any, Callable, Iterator


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
        Further names of the same option, each accepted as well as ``flag``.
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
        return base_type(self.type) is bool

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


def field_default(field_: dataclasses.Field) -> Any:
    if field_.default is not MISSING:
        return field_.default
    if field_.default_factory is not MISSING:
        return field_.default_factory()
    return MISSING


def base_type(tp: Any) -> Any:
    """``T`` for ``T | None``; else ``tp``."""
    if typing.get_origin(tp) in (typing.Union, UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def element_type(tp: Any) -> tuple[Any, int | None] | None:
    """For ``tuple[T, ...]``: (T, None); for ``tuple[T, T, T]``: (T, 3); else None."""
    tp = base_type(tp)
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
        if dataclasses.is_dataclass(base_type(tp)):
            # a nested config made by its class's own defaults shows them as its fields declare them
            own = base is MISSING and field_.default_factory is base_type(tp)
            inner = MISSING if own else getattr(base, field_.name) if base is not MISSING else field_default(field_)
            yield from _walk(base_type(tp), prefix + (field_.name,), inner, cli_only)
        else:
            default = getattr(base, field_.name) if base is not MISSING else field_default(field_)
            yield Option(prefix + (field_.name,), field_, tp, default, meta)


def excluded(dotted: str, exclude) -> bool:
    """Whether the option at ``dotted`` is excluded by ``exclude`` (dotted paths; a path excludes everything under
    it: ``embedding`` excludes ``embedding.vgg16.layer``)."""
    return any(dotted == e or dotted.startswith(e + ".") for e in exclude)
