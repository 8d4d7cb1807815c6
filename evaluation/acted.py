"""Evaluate a voice valence embedding / model on an acted or natural emotion corpus.

Two measurements, on the clips whose emotion maps to positive or negative valence
(:mod:`evaluation.acted_corpora`; neutral and unmapped emotions, bad names and undecodable files are counted and
listed, never scored):

* **zero-shot**: a saved model (``pipelines.train``) scores every clip with exactly its own input pipeline:
  clip length, log-mel parameters, feature extractor (VGG16 cut layer and weights, checksum-verified; or eGeMAPS).
  The model was trained on another corpus, so the evaluation is speaker-disjoint by construction. ROC AUC with a
  bootstrap 95 % interval overall and per speaker, gender and intensity.
* **probe**: the same frozen embedding, and a head trained on the corpus's own valence labels with grouped
  cross-validation over speakers (leave-one-speaker-out by default; ``GroupKFold`` with ``n_folds``): no
  speaker is ever on both sides. Heads: the product's default (embeddings standardised per speaker, the
  class-balanced logistic head of :mod:`transfer.head`) and the dense head (early-stopped on one held-out
  training speaker). Pooled out-of-fold ROC AUC
  with its interval, and the AUC of every fold.

Each file is decoded, averaged to mono, resampled to 16 kHz and centred in a fixed clip (silence around a
shorter file, the middle of a longer one), as :func:`weaklabel.logmel.clip_logmel_for_files` does, then
embedded in chunks so memory stays bounded for corpora of thousands of files; an extractor that reads audio
(eGeMAPS) reads the file's audio in that clip without the silence.

The valence map (emotion -> valence) is named in every record (``valence_map``: its name, source and table;
:data:`evaluation.acted_corpora.VALENCE_MAPS`), since how ambiguous emotions such as RAVDESS's *surprised* are
counted moves every figure.

Every 95 % interval that pools several speakers is a **cluster bootstrap over speakers** (whole speakers
resampled, :func:`foundation.metrics.binary_metrics` with ``groups``): clips of one speaker are not
independent. A corpus without speaker names falls back to resampling clips, and says so
(``ci_resampling``). Every AUC carries a ``verdict`` (:func:`foundation.metrics.auc_verdict`); an interval
wholly below 0.5 is **inverted** -- the model ranks this corpus's negative clips above its positive ones --
and the record, the tables (a ``warning`` next to the figure) and the Markdown say so with the per-speaker
AUCs, rather than printing it like any other figure.

The result is one JSON-serialisable record (:func:`evaluate_acted_corpus`) with generic ``tables``
(``{"title", "columns", "rows", "note"}``) next to the structured values, rendered to Markdown by
:func:`evaluation_markdown` and written atomically by :func:`write_evaluation`.
"""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from foundation.config import SEED_RANGE, check_ranges, option
from transfer.features import EmbeddingConfig, weights_locations
from transfer.head import HeadConfig
from transfer.standardise import DEFAULT_STANDARDISATION
from transfer.weights import weights_text
from evaluation.acted_corpora import EMOTION_CORPUS_KINDS
from evaluation.acted_probes import BREAKDOWNS, PROBE_HEADS, dense_probe_predictions, describe_folds, \
    evaluate_scores, fold_metrics, inversion_warning, logistic_probe_predictions, select_clips, speaker_folds
from foundation.metrics import INVERTED_TEXT, auc_verdict
from foundation.atomic import write_record_atomic
from foundation.paths import display_path
from weaklabel.audio import CLIP_SECONDS_RANGE, DEFAULT_CLIP_SECONDS
from weaklabel.dataset import EVALUATION_JSON_FILE, EVALUATION_MARKDOWN_FILE
from weaklabel.logmel import LogMelParams
from foundation.tables import markdown_tables

EVALUATION_MODES = ("zero-shot", "probe", "both")
EMBED_CHUNK_FILES = 256  # files decoded and embedded together
MAX_LISTED_FILES = 50  # excluded files listed in the Markdown table (the JSON lists all)


@dataclass(frozen=True)
class ActedEvaluationConfig:
    """What to evaluate and how.

    Parameters
    ----------
    corpus : str
        A kind of :data:`evaluation.acted_corpora.EMOTION_CORPUS_KINDS` (``auto`` detects it).
    roots : tuple of str
        The corpus's folders (``--root``, repeated for folders of one corpus: RAVDESS actors 1-6 and 7-12).
    valence_map : str, optional
        A named map (:data:`evaluation.acted_corpora.VALENCE_MAPS`) or a JSON file ``{emotion: valence}`` over the
        default table (:func:`evaluation.acted_corpora.resolve_valence_map`).
    mode : str, optional
        ``zero-shot``, ``probe`` or ``both``; default ``both`` with a model, ``probe`` without.
    model : str, optional
        A model folder written by ``pipelines.train`` (needed for zero-shot).
    embedding : EmbeddingConfig
        The embedding of a run without a model. With a model, the model's own (its weights found again where
        ``embedding`` says, e.g. ``--weights``, ``--whisper-model``), unless an option other than the batch size
        differs from its default: then that embedding, which only a probe may use.
    clip_seconds : float, optional
        Clip length in seconds; default the model's, else :data:`weaklabel.audio.DEFAULT_CLIP_SECONDS`.
    n_folds : int, optional
        Probe folds (``GroupKFold`` over speakers); default one per speaker.
    probe_heads : tuple of str
        Heads of :data:`PROBE_HEADS` to train in the probe.
    head_config : HeadConfig
        Hyper-parameters of the dense probe head.
    n_bootstrap : int
        Bootstrap resamples of every ROC AUC interval.
    seed : int
        Seeds the probes, the dense head and the bootstrap.
    """

    corpus: str = option("auto", choices=EMOTION_CORPUS_KINDS,
                         help="corpus file-name convention (auto: detected from the names)")
    roots: tuple[str, ...] = option((".",), flag="--root", repeat=True, required=True, metavar="ROOT",
                                    help="the corpus folder (searched recursively; repeat --root for several folders "
                                         "of one corpus)")
    valence_map: str | None = option(None, metavar="VALENCE_MAP", default_text="the default map",
                                     help="a named valence map (surprised-positive, ..., see README) or a JSON object "
                                          "{emotion: positive|negative|neutral|null} over the default table")
    mode: str | None = option(None, choices=EVALUATION_MODES, default_text="both with --model, probe without",
                              help="zero-shot (a trained model scores every clip), probe (heads trained on the "
                                   "corpus's own labels, speaker-disjoint) or both")
    model: str | None = option(None, metavar="MODEL", help="a model folder written by pipelines.train (for zero-shot)")
    embedding: EmbeddingConfig = option(default_factory=EmbeddingConfig,
                                        help="the embedding of a run without --model; with one, the model's own "
                                             "unless these options change it (then a probe only)")
    clip_seconds: float | None = option(None, default_text=f"the model's, else {DEFAULT_CLIP_SECONDS:g}",
                                        **CLIP_SECONDS_RANGE, help="clip length for probe-only runs")
    n_folds: int | None = option(None, flag="--folds", default_text="leave-one-speaker-out", minimum=2,
                                 help="probe folds, grouped by speaker")
    probe_heads: tuple[str, ...] = option(PROBE_HEADS, choices=PROBE_HEADS, help="probe heads to train")
    head_config: HeadConfig = option(default_factory=lambda: HeadConfig(kind="dense"), cli=False,
                                     help="hyper-parameters of the dense probe head")
    n_bootstrap: int = option(1000, flag="--bootstrap", minimum=0,
                              help="bootstrap resamples per AUC interval (of speakers when the corpus names them)")
    seed: int = option(0, **SEED_RANGE, help="probe, head and bootstrap seed")

    def __post_init__(self):
        check_ranges(self)

    def resolved_mode(self) -> str:
        mode = self.mode or ("both" if self.model else "probe")
        if mode not in EVALUATION_MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(EVALUATION_MODES)}")
        if mode in ("zero-shot", "both") and not self.model:
            raise ValueError(f"mode {mode} scores a trained model: pass --model DIR (from python -m pipelines.train)")
        unknown = [h for h in self.probe_heads if h not in PROBE_HEADS]
        if unknown or not self.probe_heads:
            raise ValueError(f"unknown probe head(s) {unknown}; choose from {', '.join(PROBE_HEADS)}")
        return mode



def clip_audio(path: str, clip_seconds: float, sample_rate: int) -> np.ndarray:
    """The audio of a file that a centred clip of ``clip_seconds`` holds, without the silence around it: the whole
    file when shorter, its middle ``clip_seconds`` when longer (:func:`weaklabel.audio.centred_clip`)."""
    from weaklabel.audio import AudioDecodeError, AudioReader, seconds_to_samples

    with AudioReader(str(path), target_sr=sample_rate) as reader:
        samples = reader.read_span(0.0, reader.duration_s)
    if samples.size == 0:
        raise AudioDecodeError(f"no audio decoded from {path}")
    clip_samples = seconds_to_samples(clip_seconds, sample_rate)
    if len(samples) > clip_samples:
        start = (len(samples) - clip_samples) // 2
        samples = samples[start:start + clip_samples]
    return np.ascontiguousarray(samples, dtype=np.float32)


def embed_files(paths: list[str], embedder, clip_seconds: float, params: LogMelParams, batch_size: int = 16,
                progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, list[str | None]]:
    """Decode, centre in a clip of ``clip_seconds`` and embed files, in bounded-memory chunks.

    ``embedder`` is a :class:`transfer.features.ClipEmbedder` (the log-mel of the centred clips for one that needs
    it; the audio in the clip, without the silence, for one that reads audio) or a VGG16
    :class:`~transfer.features.vgg16.Embedder`.

    Returns
    -------
    X : ndarray (n_files, embedder.dim), float32; rows of files that failed to decode are zeros.
    errors : list of str or None, why each file failed.
    """
    from weaklabel.audio import AudioDecodeError
    from weaklabel.logmel import clip_logmel_for_files

    X = np.zeros((len(paths), embedder.dim), dtype=np.float32)
    errors: list[str | None] = []
    needs_logmel = getattr(embedder, "needs_logmel", True)
    needs_audio = getattr(embedder, "needs_audio", False)
    for first in range(0, len(paths), EMBED_CHUNK_FILES):
        chunk = paths[first:first + EMBED_CHUNK_FILES]
        logmel, chunk_errors = (clip_logmel_for_files(chunk, clip_seconds, params) if needs_logmel
                                else (None, [None] * len(chunk)))
        samples: list[np.ndarray | None] = [None] * len(chunk)
        if needs_audio:
            for i, path in enumerate(chunk):
                if chunk_errors[i] is None:
                    try:
                        samples[i] = clip_audio(path, clip_seconds, params.sample_rate)
                    except AudioDecodeError as exc:
                        chunk_errors[i] = str(exc)
        ok = np.flatnonzero([e is None for e in chunk_errors])
        if ok.size and hasattr(embedder, "embed_logmel"):  # a VGG16 Embedder itself
            X[first + ok] = embedder.embed_logmel(logmel[ok], batch_size=batch_size, progress=progress)
        elif ok.size:
            X[first + ok] = embedder.embed([samples[i] for i in ok], None if logmel is None else logmel[ok],
                                           batch_size=batch_size)
            if progress:
                progress(int(ok.size))
        if progress and len(chunk) > ok.size:
            progress(len(chunk) - ok.size)
        errors.extend(chunk_errors)
    return X, errors


# ---------------------------------------------------------------------------------------------------------
# The whole run
# ---------------------------------------------------------------------------------------------------------

def _embedding_setup(config: ActedEvaluationConfig, mode: str):
    """(model or None, the resolved :class:`~transfer.features.Embedding`, clip_seconds, LogMelParams) for the
    configuration: the model's own embedding (rebuilt from its record, weights verified), or the one asked for."""
    from transfer.model import load_valence_model

    asked_for_another = config.embedding != EmbeddingConfig(batch_size=config.embedding.batch_size)
    if config.model:
        model = load_valence_model(config.model)
        clip_seconds, params = model.clip_seconds, model.mel
        if config.clip_seconds is not None and abs(config.clip_seconds - clip_seconds) > 1e-9:
            raise ValueError(f"--clip-seconds {config.clip_seconds} differs from the model's clip length "
                             f"{clip_seconds} s; a model only scores clips like those it was trained on")
        # rebuilt from its record; verifies the weights' checksums
        embedding = replace(model.embedding(weights_locations(config.embedding)),
                            batch_size=config.embedding.batch_size)
        if asked_for_another:
            asked = config.embedding.resolve()
            if asked.key != embedding.key:
                if mode != "probe":
                    raise ValueError(f"the embedding asked for, {asked.describe()}, differs from the model's, "
                                     f"{embedding.describe()}; zero-shot scoring needs the model's own embedding "
                                     "(drop those options, or use --mode probe)")
                embedding = asked
        return model, embedding, clip_seconds, params
    clip_seconds = float(config.clip_seconds or DEFAULT_CLIP_SECONDS)
    if clip_seconds <= 0:
        raise ValueError(f"--clip-seconds must be positive, got {clip_seconds}")
    return None, config.embedding.resolve(), clip_seconds, LogMelParams()


def _versions() -> dict:
    import sklearn

    versions = {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
                "scikit-learn": sklearn.__version__}
    try:
        import keras
        import tensorflow as tf

        versions.update(tensorflow=tf.__version__, keras=keras.__version__)
    except ImportError:  # pragma: no cover
        pass
    return versions


def evaluate_acted_corpus(config: ActedEvaluationConfig, log: Callable[[str], None] | None = None,
                          on_start: Callable[[int], None] | None = None,
                          progress: Callable[[int], None] | None = None) -> dict:
    """Read the corpus, embed its clips, run the zero-shot and/or probe evaluations.

    Parameters
    ----------
    config : ActedEvaluationConfig
    log : callable, optional
        Receives one-line progress messages.
    on_start, progress : callable, optional
        ``on_start(n_files)`` before embedding, ``progress(n)`` after every ``n`` files (a progress bar).

    Returns
    -------
    dict, JSON-serialisable: ``corpus``, ``root``, ``mode``, ``n_clips``, ``n_speakers``, ``class_balance``,
    ``excluded``, ``valence_map``, ``features``, ``weights``, ``zero_shot`` and ``probe`` (None when not
    run), ``clips`` (one record per scored clip: path, speaker, labels, probe fold, scores), ``tables``.

    Raises
    ------
    weaklabel.errors.CorpusError
        Bad root or corpus.
    transfer.model.ModelError, transfer.weights.WeightsError
        A model folder that cannot be loaded, weights that cannot be resolved or do not match the model.
    ValueError
        A bad valence map, an impossible configuration, no usable clip, or (probe) speakers missing or fewer
        than two.
    """
    log = log or (lambda message: None)
    mode = config.resolved_mode()
    corpus = _read_corpus(config, mode, log)
    model, embedding, clip_seconds, params = _embedding_setup(config, mode)
    embedder = embedding.clip_embedder(params, clip_seconds)
    weights = embedding.weights_record()
    log(f"embedding {len(corpus.clips)} clips: {embedding.describe()} ({embedding.key}), {clip_seconds:g} s clips"
        + (f", weights {weights_text(weights)} (verified={weights.get('verified')})"
           if weights and "source" in weights else "") + (f"; {embedding.note}" if embedding.note else ""))
    if on_start:
        on_start(len(corpus.clips))
    X, decode_errors = embed_files(corpus.clips["path"].tolist(), embedder, clip_seconds, params,
                                   embedding.batch_size, progress)
    decoded = np.array([e is None for e in decode_errors], dtype=bool)
    failed = [{"path": path, "error": error} for path, error in zip(corpus.clips["path"], decode_errors) if error]
    clips, X = corpus.clips[decoded].reset_index(drop=True), X[decoded]
    if clips.empty:
        raise ValueError(f"none of the {len(decoded)} positive/negative clips could be decoded "
                         f"(e.g. {failed[0]['error']})")
    y = clips["y"].to_numpy()
    n_speakers = int(clips["speaker"].nunique()) if clips["speaker"].notna().any() else None
    n_pos = int(y.sum())
    summary = corpus.summary
    record: dict = {
        "corpus": corpus.kind, "corpus_requested": config.corpus, "root": ", ".join(str(r) for r in config.roots),
        "mode": mode,
        "n_clips": int(len(clips)), "n_speakers": n_speakers,
        "class_balance": {"positive": n_pos, "negative": int(len(y) - n_pos), "positive_share": n_pos / len(y)},
        "excluded": {
            "neutral": summary["neutral_excluded"], "unmapped": summary["unmapped"],
            "unmapped_emotions": summary["unmapped_emotions"], "name_errors": summary["name_errors"],
            "name_error_files": [{"path": p, "error": e} for p, e in summary["errors"]],
            "decode_errors": len(failed), "decode_error_files": failed,
        },
        "corpus_files": summary["files"],
        "valence_map": corpus.valence_map,
        "features": {"clip_seconds": clip_seconds, "log_mel": params.to_dict(),
                     **{k: v for k, v in embedding.extractor.cache_record(embedding.settings).items()
                        if k in ("backbone", "layer", "pooling", "pooling_description", "image_version")},
                     "dim": int(embedder.dim), "extractor": embedding.record()},
        "weights": ({**weights, "path": display_path(weights["path"])} if weights and "path" in weights else weights),
        "config": {"mode": mode, "n_folds": config.n_folds, "probe_heads": list(config.probe_heads),
                   "dense_head": config.head_config.to_dict(), "n_bootstrap": config.n_bootstrap,
                   "seed": config.seed, "batch_size": embedding.batch_size,
                   # what logistic_probe_predictions trains: the product's default head and standardisation
                   "logistic_head": HeadConfig().to_dict(), "standardise": DEFAULT_STANDARDISATION},
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "versions": _versions(),
        "zero_shot": None, "probe": None,
    }
    clip_records = clips[["path", "speaker", "gender", "intensity", "emotion", "valence", "y"]].copy()
    if mode in ("zero-shot", "both"):
        record["zero_shot"] = _zero_shot(model, config, clips, X, clip_records, log)
    if mode in ("probe", "both"):
        record["probe"] = _probe(config, clips, X, embedder, n_speakers, clip_records, log)
    record["clips"] = [{k: _plain(v) for k, v in row.items()} for row in clip_records.to_dict("records")]
    record["tables"] = evaluation_tables(record)
    return record


@dataclass
class _Corpus:
    """An acted corpus as read: its kind, :func:`~evaluation.acted_corpora.corpus_summary`, the resolved valence
    map and the clips to score (:func:`~evaluation.acted_probes.select_clips`)."""

    kind: str
    summary: dict
    valence_map: dict
    clips: pd.DataFrame


def _read_corpus(config: ActedEvaluationConfig, mode: str, log: Callable[[str], None]) -> _Corpus:
    """Read the corpus under the configured valence map; raise ValueError when no clip can be scored, or (probe)
    when its speakers cannot make speaker-disjoint folds, before anything is embedded."""
    from evaluation.acted_corpora import corpus_summary, read_emotion_corpora, resolve_valence_map

    valence_map = resolve_valence_map(config.valence_map)
    frame = read_emotion_corpora(config.corpus, config.roots, valence=valence_map["table"])
    kind = frame.attrs["corpus"]
    summary = corpus_summary(frame)
    log(f"{kind}: {summary['files']} files, {summary['usable_clips']} positive/negative clips, "
        f"{summary['neutral_excluded']} neutral, {summary['unmapped']} unmapped, {summary['name_errors']} errors")
    clips = select_clips(frame)
    if clips.empty:
        raise ValueError(f"no clip of {', '.join(config.roots)} has a positive or negative valence "
                         f"({summary['files']} files, {summary['neutral_excluded']} neutral, "
                         f"{summary['unmapped']} unmapped, {summary['name_errors']} errors)")
    if mode in ("probe", "both"):
        speaker_folds(clips["speaker"], config.n_folds)
    return _Corpus(kind, summary, valence_map, clips)


def _zero_shot(model, config: ActedEvaluationConfig, clips: pd.DataFrame, X: np.ndarray,
               clip_records: pd.DataFrame, log: Callable[[str], None]) -> dict:
    """The record's ``zero_shot`` block: the saved model's scores of the clips' embeddings ``X`` (n, dim), with the
    model's per-speaker standardisation; adds each clip's score to ``clip_records`` (``p_zero_shot``)."""
    p = model.predict_embeddings(X, _standardisation_groups(clips))
    clip_records["p_zero_shot"] = p
    trained_on = model.meta.trained_on.to_dict() if model.meta.trained_on is not None else {}
    if trained_on.get("dataset"):  # the record is committed: no local path in it
        trained_on["dataset"] = display_path(trained_on["dataset"])
    zs = {
        "model": str(config.model), "trained_on": trained_on, "speaker_disjoint": True,
        "train_config": model.meta.train_config,
        "note": (f"speaker-disjoint by construction: the model was trained on "
                 f"{trained_on.get('dataset', 'another corpus')} and never heard these speakers"),
        **evaluate_scores(clips, p, config.n_bootstrap, config.seed),
    }
    zs["verdict"] = zs["overall"]["verdict"]
    zs["warning"] = inversion_warning("Zero-shot", zs)
    log(f"zero-shot ROC AUC {_auc_text(zs['overall'])}" + (f" -- {INVERTED_TEXT}" if zs["warning"] else ""))
    return zs


def _probe(config: ActedEvaluationConfig, clips: pd.DataFrame, X: np.ndarray, embedder, n_speakers: int | None,
           clip_records: pd.DataFrame, log: Callable[[str], None]) -> dict:
    """The record's ``probe`` block: every configured head trained and scored out of fold on the clips' embeddings
    ``X`` (n, dim), speaker-disjointly; adds the fold and each head's scores to ``clip_records``."""
    from transfer.features import block_scale

    y = clips["y"].to_numpy()
    folds = speaker_folds(clips["speaker"], config.n_folds)
    fold_info = describe_folds(clips["speaker"], folds, y)
    clip_records["fold"] = folds
    heads = {}
    for head in config.probe_heads:
        log(f"probe: {head}, {len(fold_info)} speaker-disjoint folds")
        if head == "logistic_regression":
            scale = block_scale(embedder.dims) if getattr(embedder, "dims", None) else None
            p = logistic_probe_predictions(X, y, folds, seed=config.seed, speakers=clips["speaker"].to_numpy(),
                                           column_scale=scale)
        else:
            p = dense_probe_predictions(X, y, folds, clips["speaker"], config=config.head_config, seed=config.seed)
        clip_records[f"p_probe_{head}"] = p
        per_fold = fold_metrics(y, p, folds, fold_info, clips["speaker"], config.n_bootstrap, config.seed)
        fold_aucs = [f["roc_auc"] for f in per_fold if f["roc_auc"] is not None]
        heads[head] = {**evaluate_scores(clips, p, config.n_bootstrap, config.seed), "per_fold": per_fold,
                       "mean_fold_auc": float(np.mean(fold_aucs)) if fold_aucs else None}
        heads[head]["verdict"] = heads[head]["overall"]["verdict"]
        heads[head]["warning"] = inversion_warning(f"Probe ({head}) pooled out-of-fold", heads[head])
        log(f"probe {head}: pooled out-of-fold ROC AUC {_auc_text(heads[head]['overall'])}"
            + (f" -- {INVERTED_TEXT}" if heads[head]["warning"] else ""))
    n_groups = len(fold_info)
    return {
        "validation": ("leave-one-speaker-out" if config.n_folds is None or n_groups == n_speakers
                       else f"GroupKFold over speakers, {n_groups} folds"),
        "speaker_disjoint": True, "n_folds": n_groups, "folds": fold_info, "heads": heads,
        "note": "out-of-fold scores: every clip is scored by a head trained without its speaker; "
                "the pooled AUC ranks clips across folds, the fold AUCs within one",
    }


def _standardisation_groups(clips: pd.DataFrame) -> np.ndarray:
    """The group of each clip for a model's per-group standardisation: its speaker, else one group for all.

    Returns ndarray (n,) of str.
    """
    speakers = clips["speaker"] if "speaker" in clips else pd.Series([None] * len(clips), dtype=object)
    if speakers.notna().all():
        return speakers.astype(str).to_numpy()
    return np.where(speakers.notna(), speakers.astype(str), "(no speaker)")


def _plain(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


# ---------------------------------------------------------------------------------------------------------
# Tables and output
# ---------------------------------------------------------------------------------------------------------

def _auc_text(m: dict) -> str:
    if m.get("roc_auc") is None:
        return "n/a"
    ci = m.get("roc_auc_ci95")
    return f"{m['roc_auc']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _num(value, digits: int = 3):
    return "n/a" if value is None else round(float(value), digits)


def _ci(m: dict) -> str:
    ci = m.get("roc_auc_ci95")
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "n/a"


VERDICT_CELLS = {"inverted": "INVERTED (below chance)", "chance": "chance", "above chance": "above chance",
                 "undefined": "n/a"}


def _metric_row(label: list, m: dict) -> list:
    verdict = m.get("verdict") or auc_verdict(m)
    return [*label, m["n"], m["n_positive"], _num(m["positive_share"]), _num(m["roc_auc"]), _ci(m),
            VERDICT_CELLS[verdict], _num(m["balanced_accuracy"])]


def _interval_note(m: dict) -> str:
    """How the table's pooled interval was drawn."""
    if m.get("ci_resampling") == "groups":
        return f"ROC AUC with a 95% interval from a cluster bootstrap over the {m['n_groups']} speakers."
    return "ROC AUC with a bootstrap 95% interval over clips (no speaker names to resample)."


VERDICT_NOTE = ("Verdict: the 95% interval above 0.5, containing it (chance) or wholly below it (INVERTED: the "
                "model ranks negative clips above positive ones).")


def _na_note(rows: list, why: str, note: str = "") -> str:
    if any(cell == "n/a" for row in rows for cell in row):
        note = f"{note} n/a: {why}.".strip()
    return note


METRIC_COLUMNS = ["n", "positive", "positive share", "ROC AUC", "95% CI", "verdict", "balanced accuracy"]


def valence_map_text(valence_map: dict) -> str:
    """The map a record used, in words: ``map surprised-excluded (surprised excluded ...)``."""
    name = valence_map.get("name") or valence_map.get("source", "default")
    description = valence_map.get("description")
    if not valence_map.get("name"):  # a record with an unnamed table
        return f"{valence_map.get('source', 'default')} table"
    return f"map {name}" + (f": {description}" if description else "")


def features_text(features: dict) -> str:
    """The extractor a record's ``features`` block names, in words (``vgg16 block2_conv2, bands4``)."""
    from transfer.features import LEGACY_FEATURES

    extractor = (features.get("extractor") or {}).get("name") or features.get("backbone") or LEGACY_FEATURES
    detail = ", ".join(str(features[k]) for k in ("layer", "pooling") if features.get(k))
    licence = (features.get("extractor") or {}).get("licence") if extractor != LEGACY_FEATURES else None
    return f"{extractor} {detail}".strip() + (f" ({licence})" if licence else "")


def evaluation_tables(record: dict) -> list[dict]:
    """The record's results as generic tables: ``[{"title", "columns", "rows", "note"}]`` (cells: str or number)."""
    ex = record["excluded"]
    tables = [{
        "title": f"Corpus: {record['corpus']}",
        "columns": ["root", "files", "clips scored", "speakers", "positive", "negative", "positive share",
                    "neutral excluded", "unmapped", "name errors", "decode errors"],
        "rows": [[record["root"], record["corpus_files"], record["n_clips"],
                  "unknown" if record["n_speakers"] is None else record["n_speakers"],
                  record["class_balance"]["positive"], record["class_balance"]["negative"],
                  _num(record["class_balance"]["positive_share"]), ex["neutral"], ex["unmapped"],
                  ex["name_errors"], ex["decode_errors"]]],
        "note": (f"Valence from emotion ({valence_map_text(record['valence_map'])}); features "
                 f"{features_text(record['features'])}, {record['features']['clip_seconds']:g} s clips"
                 + (f", weights {weights_text(record['weights'], path=False)} "
                    f"(verified={record['weights']['verified']})" if record.get("weights") else "") + "."),
    }]
    zs = record.get("zero_shot")
    if zs:
        table = {"title": "Zero-shot: the trained model on this corpus",
                 "columns": ["model", *METRIC_COLUMNS],
                 "rows": [_metric_row([zs["model"]], zs["overall"])],
                 "note": f"{zs['note']}. {_interval_note(zs['overall'])} {VERDICT_NOTE}"}
        if zs.get("warning"):
            table["warning"] = zs["warning"]
        tables.append(table)
        speaker_rows = [_metric_row(["speaker", g["group"]], g) for g in zs.get("by_speaker", [])]
        if zs.get("warning") and speaker_rows:  # the per-speaker breakdown right next to the inverted figure
            tables.append({"title": "Zero-shot per speaker (the overall ranking is inverted)",
                           "columns": ["breakdown", "group", *METRIC_COLUMNS], "rows": speaker_rows,
                           "note": _na_note(speaker_rows, "the speaker's clips hold a single valence class",
                                            "Each speaker's interval resamples that speaker's clips.")})
        rows = [_metric_row([column, g["group"]], g) for column in BREAKDOWNS for g in zs.get(f"by_{column}", [])
                if not (zs.get("warning") and column == "speaker")]
        if rows:
            tables.append({"title": "Zero-shot by speaker, gender and intensity" if not zs.get("warning")
                           else "Zero-shot by gender and intensity",
                           "columns": ["breakdown", "group", *METRIC_COLUMNS], "rows": rows,
                           "note": _na_note(rows, "the group holds a single valence class",
                                            "A speaker's interval resamples its clips; a gender's or intensity's "
                                            "resamples its speakers.")})
    probe = record.get("probe")
    if probe:
        heads = probe["heads"]
        first = next(iter(heads.values()))["overall"]
        table = {"title": f"Probe: heads trained on this corpus ({probe['validation']})",
                 "columns": ["head", *METRIC_COLUMNS, "folds", "mean fold AUC"],
                 "rows": [_metric_row([h], r["overall"]) + [probe["n_folds"], _num(r["mean_fold_auc"])]
                          for h, r in heads.items()],
                 "note": f"Pooled out-of-fold ROC AUC; no speaker is on both sides of any fold. "
                         f"{_interval_note(first)} {VERDICT_NOTE}"}
        warnings = [r["warning"] for r in heads.values() if r.get("warning")]
        if warnings:
            table["warning"] = " ".join(warnings)
        tables.append(table)
        rows = [[f["fold"], ", ".join(f["test_speakers"]), f["n_test"], _num(f["n_test_positive"] / f["n_test"]),
                 *[_num(heads[h]["per_fold"][i]["roc_auc"]) for h in heads]] for i, f in enumerate(probe["folds"])]
        tables.append({"title": "Probe: ROC AUC per fold",
                       "columns": ["fold", "test speakers", "n", "positive share", *[f"AUC {h}" for h in heads]],
                       "rows": rows,
                       "note": _na_note(rows, "the fold's test speakers hold a single valence class",
                                        "Each fold's head was trained on the other folds' speakers only.")})
        for h, r in heads.items():
            rows = [_metric_row([column, g["group"]], g) for column in ("gender", "intensity")
                    for g in r.get(f"by_{column}", [])]
            if rows:
                tables.append({"title": f"Probe ({h}) by gender and intensity",
                               "columns": ["breakdown", "group", *METRIC_COLUMNS], "rows": rows,
                               "note": _na_note(rows, "the group holds a single valence class",
                                                "Out-of-fold scores grouped after the fact.")})
    listed = [[f["path"] or "-", "name", f["error"]] for f in ex["name_error_files"]] + \
             [[f["path"], "decode", f["error"]] for f in ex["decode_error_files"]]
    if listed:
        tables.append({"title": "Files not scored because of an error",
                       "columns": ["file", "kind", "reason"], "rows": listed[:MAX_LISTED_FILES],
                       "note": (f"{len(listed)} files" + (f"; the first {MAX_LISTED_FILES} shown, acted_evaluation.json "
                                                          "lists all" if len(listed) > MAX_LISTED_FILES else "")
                                + f". Also excluded: {ex['neutral']} neutral and {ex['unmapped']} unmapped clips.")})
    return tables


def evaluation_markdown(record: dict) -> str:
    """The whole report: a header line (clips, speakers, class balance), a warning for every inverted result,
    and every table (an inverted table with its warning right above it)."""
    balance = record["class_balance"]
    speakers = "unknown speakers" if record["n_speakers"] is None else f"{record['n_speakers']} speakers"
    header = (f"# Acted-corpus evaluation: {record['corpus']}\n\n{record['n_clips']} clips, {speakers}; class balance "
              f"{balance['positive']} positive / {balance['negative']} negative (positive share "
              f"{balance['positive_share']:.2f}); mode {record['mode']}.\n\n")
    n_warnings = sum(1 for t in record["tables"] if t.get("warning"))
    if n_warnings:
        header += (f"> **Warning:** {n_warnings} result table(s) below show an inverted ranking ({INVERTED_TEXT}); "
                   "each is flagged where it appears, with its per-speaker AUCs.\n\n")
    body = [(f"> **Warning.** {t['warning']}\n\n" if t.get("warning") else "")
            + markdown_tables([t]) for t in record["tables"]]
    return header + "\n".join(body)


def write_evaluation(record: dict, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``acted_evaluation.json`` and ``acted_evaluation.md`` into ``out_dir`` atomically; return their paths."""
    return write_record_atomic(out_dir, record, EVALUATION_JSON_FILE, evaluation_markdown(record),
                               EVALUATION_MARKDOWN_FILE)


def evaluate_acted(config: ActedEvaluationConfig, out_dir: str | Path | None = None, *,
                   log: Callable[[str], None] | None = None, on_start: Callable[[int], None] | None = None,
                   progress: Callable[[int], None] | None = None) -> dict:
    """:func:`evaluate_acted_corpus`, and, with ``out_dir``, :func:`write_evaluation` of its record there.

    Returns
    -------
    dict, the record (:func:`evaluate_acted_corpus`).
    """
    record = evaluate_acted_corpus(config, log=log, on_start=on_start, progress=progress)
    if out_dir is not None:
        write_evaluation(record, out_dir)
    return record


__all__ = ["EVALUATION_MODES", "ActedEvaluationConfig", "clip_audio", "embed_files", "evaluate_acted",
           "evaluate_acted_corpus", "evaluation_markdown", "evaluation_tables", "features_text", "valence_map_text",
           "write_evaluation"]
