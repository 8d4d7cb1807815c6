"""Errors that end a whole run (as opposed to per-segment failures, which are recorded as a status)."""


class CorpusError(Exception):
    """The corpus as a whole cannot be read: wrong root, unknown layout, no segments at all.

    Command-line entry points print its message on one line and exit non-zero.
    """


class OutputConflictError(Exception):
    """The output directory holds a build made with a different configuration."""


class ExportError(Exception):
    """An export cannot start: its dataset is not a finished build, or its output folder is one it may not write
    (inside the dataset, a file)."""


class DatasetError(ValueError):
    """A dataset folder that is not the build its ``build.json`` describes (a file edited, truncated or replaced by
    hand, a record this code cannot read): the message says what is wrong and what to run. A ValueError, so every
    command reports it as its one-line ``error:``."""
