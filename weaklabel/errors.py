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
