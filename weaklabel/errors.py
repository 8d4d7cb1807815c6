"""Errors that end a whole run (as opposed to per-segment failures, which are recorded as a status)."""


class CorpusError(Exception):
    """The corpus as a whole cannot be read: wrong root, unknown layout, no segments at all.

    Command-line entry points print its message on one line and exit non-zero.
    """


class OutputConflictError(Exception):
    """The output directory holds a build made with a different configuration."""
