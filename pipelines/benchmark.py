"""``python -m pipelines.benchmark``: the same command as :mod:`pipelines.evaluate_acted` (the model against acted
emotion corpora)."""
from pipelines.evaluate_acted import command_line, main  # noqa: F401 (this command's options)

if __name__ == "__main__":
    raise SystemExit(main())
