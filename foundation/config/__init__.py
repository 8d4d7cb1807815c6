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

The fields' declaration is :mod:`foundation.config.fields`, their values :mod:`foundation.config.values`, the
command line :mod:`foundation.config.command_line`; every public name is importable from here.
"""
from foundation.config.command_line import CHOICES_USAGE_WIDTH, HELP_WIDTH, SUGGESTION_CUTOFF, ArgumentParser, \
    CommandLine, HelpFormatter
from foundation.config.fields import META_KEY, ConfigError, Option, excluded, field_options, option, options
from foundation.config.values import SEED_RANGE, check_ranges, coerce, config_mapping, make_config, range_problem, \
    table_values, to_toml

__all__ = ["CHOICES_USAGE_WIDTH", "HELP_WIDTH", "META_KEY", "SEED_RANGE", "SUGGESTION_CUTOFF", "ArgumentParser",
           "CommandLine", "ConfigError", "HelpFormatter", "Option", "check_ranges", "coerce", "config_mapping",
           "excluded", "field_options", "make_config", "option", "options", "range_problem", "table_values",
           "to_toml"]
