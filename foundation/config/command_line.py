"""The command line a config's options make: :class:`CommandLine` (an argparse option per field, the values given
read back), :class:`ArgumentParser` (a mistake as one ``error:`` line, a mistyped option named with the one it
most likely means, common options with ``--help`` and every one with ``--help-all``) and :class:`HelpFormatter`
(help wrapped to the terminal, :data:`HELP_WIDTH` columns at most)."""
from __future__ import annotations

import argparse
import difflib
import re
import shutil
import sys
import textwrap
from typing import Any, Iterable, Mapping

from foundation.config.fields import Option, base_type, element_type, excluded, options
from foundation.config.values import make_config, range_problem, scalar_parser, wrap_parse
from foundation.tables import counted

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
    copies = 2 if element_type(opt.type) is not None and not opt.meta["repeat"] else 1
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
    element = element_type(opt.type)
    if meta["parse"] is not None:
        kwargs["type"] = wrap_parse(meta["parse"], opt.name)
    elif element is not None:
        kwargs["type"] = scalar_parser(element[0])
        if meta["repeat"]:
            kwargs["action"] = "append"
        else:
            kwargs["nargs"] = element[1] or "+"
    else:
        kwargs["type"] = scalar_parser(base_type(opt.type))
    if meta["choices"] is not None:
        kwargs["choices"] = list(meta["choices"])
    if meta["metavar"] or meta["choices"] is None or _long_choices(opt, flag):
        kwargs["metavar"] = meta["metavar"] or flag.lstrip("-").replace("-", "_").upper()
    return kwargs
