"""Former name of :mod:`pipelines.evaluate_acted` (the model against acted emotion corpora), kept so
``python -m pipelines.benchmark`` goes on working."""
from pipelines.evaluate_acted import main

if __name__ == "__main__":
    raise SystemExit(main())
