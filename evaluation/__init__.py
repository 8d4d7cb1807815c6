"""evaluation: measurements of the product on corpora whose true valence is known (not part of the product).

The product (``foundation``, ``weaklabel``, ``transfer``) never imports this package; it imports them, and
``pipelines.evaluate_acted`` and ``pipelines.weak_supervision`` are its command lines.

* :mod:`evaluation.acted_corpora`: readers of acted emotion corpora (RAVDESS, TESS, SAVEE, CREMA-D, EmoDB, class
  folders, MELD), each file's emotion mapped to valence by a named valence map;
* :mod:`evaluation.acted`: a trained model zero-shot and speaker-disjoint probes on such a corpus
  (:class:`ActedEvaluationConfig`, :func:`evaluate_acted`); :mod:`evaluation.acted_probes` holds the folds,
  probes and metrics;
* :mod:`evaluation.weak_pairing`: acted clips paired with human-labelled sentences at a match probability,
  written as a manifest corpus with speaker rotations;
* :mod:`evaluation.weak_benchmark`: the weak-supervision benchmark over those pairings
  (:class:`WeakSupervisionConfig`, :func:`run_weak_supervision`).

From Python::

    from evaluation.acted import ActedEvaluationConfig, evaluate_acted
    record = evaluate_acted(ActedEvaluationConfig(roots=("RAVDESS/",), model="build/talks/model"))
"""
