"""Command-line entry points (``python -m pipelines.<step>``): argument parsing, progress and I/O only."""
