"""Sentences per second of each text scorer of the registry, in this process, on the same distinct sentences.

    python -m benchmarks.run --sections build --update       # part of the build section of reports/benchmarks.md

Each scorer scores the same list of distinct normalised sentences (the bench corpus's, plus MELD dev's lines when
``../shared/data`` is beside the project: real dialogue, longer and more varied), best of ``rounds``, with no
sentence cache (``score_many`` directly); the costly E5 scorer also with one thread, as each of the build's worker
processes runs it when there are several. A model's load is paid once, before timing.
"""
from __future__ import annotations

import time
from pathlib import Path

from benchmarks.common import load1


def sentences_for_rates(corpus_root: Path, meld_csv: Path | None = None, limit: int = 600) -> list[str]:
    """Distinct normalised sentences: the bench corpus's transcripts, then MELD dev's lines (when given), at most
    ``limit``."""
    from weaklabel.readers import read_corpus
    from weaklabel.text import has_text, normalize_text

    texts = [seg.text for seg in read_corpus("mosei", str(corpus_root))]
    if meld_csv is not None and Path(meld_csv).is_file():
        import pandas as pd

        texts += pd.read_csv(meld_csv)["Utterance"].tolist()
    return sorted({normalize_text(t) for t in texts if has_text(t)})[:limit]


def measure_scorer_rates(texts: list[str], rounds: int = 3) -> dict:
    """Per scorer: sentences per second (best of ``rounds``) on ``texts``; E5 with all threads and with one."""
    from threadpoolctl import threadpool_limits

    from weaklabel.scorers import SCORERS

    rows = []
    for name, scorer in SCORERS.items():
        reason = scorer.unavailable()
        if reason:
            rows.append({"scorer": name, "version": scorer.version, "unavailable": reason})
            continue
        scorer.score_many(texts[:2])  # load its model or lexicon once
        for threads in ((None, 1) if scorer.cached else (None,)):
            best = float("inf")
            for _ in range(rounds):
                started = time.perf_counter()
                if threads is None:
                    scorer.score_many(texts)
                else:
                    with threadpool_limits(limits=threads):
                        scorer.score_many(texts)
                best = min(best, time.perf_counter() - started)
            rows.append({"scorer": name, "version": scorer.version, "threads": threads or "all",
                         "sentences_per_s": round(len(texts) / best, 1), "cached": scorer.cached})
    lengths = sorted(len(t) for t in texts)
    return {"sentences": len(texts), "median_characters": lengths[len(lengths) // 2] if lengths else None,
            "rounds": rounds, "rows": rows, "load1": load1()}
