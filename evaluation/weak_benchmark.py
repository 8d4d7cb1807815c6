"""The weak-supervision benchmark: how good must transcript labels be, and what model do they give?

Input: an acted emotion corpus (any reader of :mod:`evaluation.acted_corpora`; true valence known, speakers named)
and sentences with human sentiment (MELD's CSV by default). For each match probability ``p`` and pairing
seed, every positive or negative clip is paired with a sentence whose human valence matches the clip's with
probability ``p`` (:mod:`evaluation.weak_pairing`), and the pairs are written as a manifest corpus. Then
the real pipeline runs on it:

1. ``build_dataset`` once per pairing (the audio is decoded once; the features do not depend on the text);
2. per speaker rotation (train, validation and test speakers disjoint) and per recipe, the build re-labelled
   with the recipe's policy and re-split by the rotation's folds (:func:`weaklabel.relabel.relabel_dataset`:
   what a fresh build with that policy and folds writes);
3. ``train_and_evaluate`` with the recipe's :class:`~transfer.training.TrainConfig` (embeddings cached by the
   features' content, so each backbone/pooling is embedded once for the whole sweep);
4. the exported model's p(positive) on the **held-out test speakers** scored against their **true**
   valence (the manifest's ``human_label`` column).

Recipes: the default (the policy and model this product ships), and as references the original project's
recipe (policy ``mean``, block3_conv3, global average pooling, dense head, hard labels), this project's
previous defaults, and the true-label ceiling (the default model trained on the clips' true valence, which
does not depend on ``p``). Each row: the AUC averaged over rotations (and pairing seeds) with a 95 % interval
from a bootstrap that resamples the pairing seeds (the label noise drawn) and, within each, the test speakers
of every rotation, the per-rotation AUCs, the weak labels'
coverage and accuracy against the truth, and a verdict (:func:`foundation.metrics.auc_verdict`), so an inverted
model is named as such.
"""
from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from foundation.config import SEED_RANGE, check_ranges, option
from foundation.metrics import auc_verdict, binary_metrics
from transfer.features import FEATURES, ORIGINAL_FEATURES, EmbeddingConfig
from transfer.weights import weights_text
from transfer.training import ORIGINAL_RECIPE, PREVIOUS_DEFAULTS, TrainConfig, train_and_evaluate
from foundation.atomic import write_record_atomic
from weaklabel.dataset import EMBEDDINGS_DIR
from evaluation.acted_corpora import EMOTION_CORPUS_KINDS
from weaklabel.policies import DEFAULT_POLICY, FALLBACK_POLICY, ORIGINAL_POLICY, POLICIES, default_band
from weaklabel.splits import TEST
from foundation.tables import markdown_tables
from evaluation.weak_pairing import (DEFAULT_MATCH_PROBABILITIES, MELD_LABEL_COLUMN, MELD_TEXT_COLUMN,
                                     load_sentences, pair_sentences, paired_manifest, rotations_record,
                                     speaker_rotations, weak_label_quality, write_manifest, write_rotation_folds)

JSON_FILE, MARKDOWN_FILE = "weak_supervision.json", "weak_supervision.md"
DEFAULT_RECIPE = "default"
LEXICON_TEACHER = "default model, lexicon teacher"
CEILING = "true-label ceiling"


@dataclass(frozen=True)
class Recipe:
    """A labelling policy and a model configuration, trained on weak labels (or, for the ceiling, true ones)."""

    name: str
    policy: str
    model: TrainConfig
    description: str
    neutral_band: float | None = None  # None: the policy's own

    @property
    def band(self) -> float:
        return default_band(self.policy) if self.neutral_band is None else self.neutral_band


def recipes(policy: str = DEFAULT_POLICY, model: TrainConfig = TrainConfig(), references: bool = True,
            neutral_band: float | None = None, features: tuple[str, ...] = ()) -> list[Recipe]:
    """The default recipe, then (with ``references``) the same model taught by the lexicon label model (the
    teacher before E5), the original recipe, the previous defaults and the ceiling; then, for each extractor of
    ``features`` (:data:`transfer.features.FEATURES`) other than the model's, the default recipe and the ceiling
    on that extractor."""
    band = default_band(policy) if neutral_band is None else neutral_band
    out = [Recipe(DEFAULT_RECIPE, policy, model, f"policy {policy} (band {band:g}); {describe_model(model)}",
                  neutral_band)]
    if references:
        lexicon_band = default_band(FALLBACK_POLICY)
        out += [Recipe(LEXICON_TEACHER, FALLBACK_POLICY, model,
                       f"policy {FALLBACK_POLICY} (band {lexicon_band:g}); {describe_model(model)}"),
                Recipe("original recipe", ORIGINAL_POLICY, ORIGINAL_RECIPE,
                       f"policy {ORIGINAL_POLICY} (band {default_band(ORIGINAL_POLICY):g}); "
                       f"{describe_model(ORIGINAL_RECIPE)}"),
                Recipe("previous defaults", FALLBACK_POLICY, PREVIOUS_DEFAULTS,
                       f"policy {FALLBACK_POLICY} (band {lexicon_band:g}); {describe_model(PREVIOUS_DEFAULTS)}"),
                Recipe(CEILING, policy, replace(model, labels="human"),
                       f"true valence of every training clip; {describe_model(model)}")]
    for name in features:  # the same recipe on other feature extractors
        if name == model.embedding.features:
            continue
        other = replace(model, embedding=model.embedding.updated(features=name))
        out.append(Recipe(f"{DEFAULT_RECIPE}, features {name}", policy, other,
                          f"policy {policy} (band {band:g}); {describe_model(other)}", neutral_band))
        if references:
            out.append(Recipe(f"{CEILING}, features {name}", policy, replace(other, labels="human"),
                              f"true valence of every training clip; {describe_model(other)}"))
    return out


def is_ceiling(name: str) -> bool:
    """Whether a recipe is a true-label ceiling (of any extractor): it does not depend on p."""
    return name.startswith(CEILING)


def describe_model(model: TrainConfig) -> str:
    return (f"features {model.embedding.describe()}, standardise {model.standardise}, {model.head.kind} head, "
            f"weighting {model.weighting}")


@dataclass(frozen=True)
class WeakSupervisionConfig:
    """What the weak-supervision benchmark runs.

    Parameters
    ----------
    roots : corpus folders (read with ``corpus``'s reader and concatenated)
    sentences : CSV of sentences with human sentiment (``text_column``, ``label_column``)
    probabilities : match probabilities ``p`` to sweep
    pairing_seeds : seeds of the pairing (each a separate corpus; figures are averaged over them)
    n_test, n_validation : speakers per rotation on the test and validation sides
    n_rotations : rotations (default: every speaker tested once)
    policy, neutral_band : the default recipe's labelling policy
    model : the default recipe's model (its head, standardisation, weighting), with ``embedding`` as its features
    embedding : the default recipe's features (and the weights every recipe's extractor uses)
    references : also run the original recipe, the previous defaults and the true-label ceiling
    """

    roots: tuple[str, ...] = option(
        flag="--root", repeat=True, metavar="ROOT",
        help="an acted emotion corpus folder (repeat to combine folders of one corpus)")
    sentences: str = option(metavar="SENTENCES",
                            help="CSV of sentences with human sentiment (MELD's *_sent_emo.csv layout by default)")
    corpus: str = option("auto", choices=EMOTION_CORPUS_KINDS, help="file-name convention (auto: detected)")
    valence_map: str | None = option(None, metavar="VALENCE_MAP", default_text="the default map",
                                     help="a named valence map (surprised-excluded, surprised-positive, calm-excluded) "
                                          "or a JSON file {emotion: positive|negative|neutral|null}")
    text_column: str = option(MELD_TEXT_COLUMN, help="text column of --sentences")
    label_column: str = option(MELD_LABEL_COLUMN, help="sentiment column of --sentences")
    probabilities: tuple[float, ...] = option(DEFAULT_MATCH_PROBABILITIES, flag="--p", metavar="P", minimum=0.0,
                                              maximum=1.0, help="match probabilities to sweep")
    pairing_seeds: tuple[int, ...] = option((0,), **SEED_RANGE, help="pairing seeds; figures average over them")
    n_test: int = option(4, flag="--test-speakers", minimum=1, help="speakers held out for test per rotation")
    n_validation: int = option(2, flag="--validation-speakers", minimum=1,
                               help="speakers for validation per rotation")
    n_rotations: int | None = option(None, flag="--rotations", default_text="every speaker tested once", minimum=1,
                                     help="rotations")
    policy: str = option(DEFAULT_POLICY, choices=tuple(POLICIES), help="the default recipe's labelling policy")
    neutral_band: float | None = option(None, minimum=0.0, maximum=1.0, default_text="the policy's own",
                                        help="the default recipe's neutral band")
    model: TrainConfig = option(default_factory=TrainConfig, cli=False, help="the default recipe's model")
    references: bool = option(True, help="whether the reference rows run too (the original recipe, the previous "
                                         "defaults and the true-label ceiling); --no-references skips them")
    embedding: EmbeddingConfig = option(default_factory=EmbeddingConfig, help="the default recipe's features")
    features: tuple[str, ...] = option((ORIGINAL_FEATURES,), metavar="NAME", choices=tuple(FEATURES),
                                       flag="--extra-features",
                                       help="other feature extractors to run the default recipe and the ceiling on "
                                            "(the original method's network by default, so its row is in every table)")
    workers: int | None = option(None, metavar="N", default_text="CPU count", minimum=1, help="build processes")
    n_bootstrap: int = option(1000, flag="--bootstrap", minimum=0, help="bootstrap resamples of every AUC interval")
    seed: int = option(0, **SEED_RANGE, help="seed of the builds, the training and the bootstrap")

    def __post_init__(self):
        check_ranges(self)

    @property
    def default_model(self) -> TrainConfig:
        """The default recipe's model: :attr:`model` with :attr:`embedding` as its features."""
        return replace(self.model, embedding=self.embedding)


def read_clips(config: WeakSupervisionConfig) -> tuple[pd.DataFrame, dict]:
    """The corpus's positive and negative clips with speaker and duration, and a summary of what was left out."""
    from weaklabel.audio import AudioReader
    from evaluation.acted_corpora import read_emotion_corpora, resolve_valence_map

    valence = resolve_valence_map(config.valence_map)["table"]
    corpus = read_emotion_corpora(config.corpus, config.roots, valence)
    errors = corpus["error"].notna() if "error" in corpus else pd.Series(False, index=corpus.index)
    usable = corpus[~errors & corpus["valence"].isin(["positive", "negative"]) & corpus["speaker"].notna()].copy()
    durations, unreadable = [], []
    for path in usable["path"]:
        try:
            with AudioReader(str(path)) as reader:
                durations.append(reader.duration_s)
        except Exception as exc:  # noqa: BLE001 - a clip that cannot be read is left out and listed
            durations.append(np.nan)
            unreadable.append({"path": str(path), "error": str(exc)})
    usable["duration_s"] = durations
    usable = usable[usable["duration_s"] > 0].sort_values("path").reset_index(drop=True)
    summary = {"files": int(len(corpus)), "clips": int(len(usable)), "errors": int(errors.sum()),
               "excluded_valence": {str(k): int(v) for k, v in
                                    corpus.loc[~errors & ~corpus["valence"].isin(["positive", "negative"]),
                                               "valence"].fillna("unmapped").value_counts().items()},
               "unreadable": unreadable,
               "positive": int((usable["valence"] == "positive").sum()),
               "negative": int((usable["valence"] == "negative").sum()),
               "speakers": sorted(usable["speaker"].astype(str).unique().tolist())}
    return usable, summary


def _p_name(p: float) -> str:
    return f"p{p:.2f}"


def rank_auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney rank sum (ties share their mean rank), as scikit-learn computes it.

    y : (n,) of 0/1 with both classes; p : (n,) scores. Fast enough for thousands of bootstrap resamples.
    """
    from scipy.stats import rankdata

    y = np.asarray(y).astype(bool)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    ranks = rankdata(p)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def speaker_resamples(speakers: list[np.ndarray], pairings: list | None, n_bootstrap: int, seed: int = 0):
    """Bootstrap resamples of several evaluations: pairings with replacement, then speakers within each part.

    Parameters
    ----------
    speakers : one array (n_i,) of speaker ids per part (a rotation under one pairing)
    pairings : one label per part, or None (every part its own pairing, kept fixed: only speakers resampled)

    Yields
    ------
    ``n_bootstrap`` lists of ``(part index, rows)``: the parts of the drawn pairings, each with row indices
    of whole speakers drawn with replacement.
    """
    labels = list(range(len(speakers))) if pairings is None else list(pairings)
    order = list(dict.fromkeys(labels))
    by_pairing = {k: [i for i, label in enumerate(labels) if label == k] for k in order}
    members = [[np.flatnonzero(part == s) for s in np.unique(part)] for part in speakers]
    rng = np.random.default_rng(seed)
    for _ in range(n_bootstrap):
        drawn = order if pairings is None else [order[i] for i in rng.integers(0, len(order), len(order))]
        yield [(i, np.concatenate([members[i][j] for j in rng.integers(0, len(members[i]), len(members[i]))]))
               for k in drawn for i in by_pairing[k]]


def mean_auc_over_rotations(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n_bootstrap: int = 1000,
                            seed: int = 0, pairings: list | None = None) -> dict:
    """Average ROC AUC over several evaluations, with a bootstrap over pairings and over speakers.

    Parameters
    ----------
    parts : list of ``(y, p, speaker)``, each three arrays of shape (n_i,): true 0/1, p(positive), speaker id.
        One per rotation and pairing seed.
    pairings : list, optional, one label per part: which pairing (seed) the part's weak labels came from.
        Each bootstrap resample draws pairings with replacement (their labels are one draw of the label
        noise; the training it causes varies with it), then, within every part of a drawn pairing, its test
        speakers with replacement (:func:`speaker_resamples`). Without ``pairings`` every part is its own
        pairing kept fixed, and only the speakers are resampled.

    Returns
    -------
    dict: ``roc_auc`` (the mean of the parts' AUCs), ``roc_auc_ci95`` ([2.5, 97.5] percentiles of the
    bootstrap means), ``per_part`` AUCs, ``per_pairing`` mean AUCs, ``ci_resampling``, ``n`` clips and
    ``n_speakers``.
    """
    aucs = [rank_auc(y, p) for y, p, _ in parts]
    means = []
    for resample in speaker_resamples([s for _, _, s in parts], pairings, n_bootstrap, seed):
        values = [rank_auc(parts[i][0][rows], parts[i][1][rows]) for i, rows in resample
                  if parts[i][0][rows].min() != parts[i][0][rows].max()]
        if values:
            means.append(np.mean(values))
    ci = [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))] if means else None
    labels = list(range(len(parts))) if pairings is None else list(pairings)
    per_pairing = {str(k): float(np.mean([a for a, label in zip(aucs, labels) if label == k]))
                   for k in dict.fromkeys(labels)}
    return {"roc_auc": float(np.mean(aucs)), "roc_auc_ci95": ci, "per_part": aucs, "per_pairing": per_pairing,
            "ci_resampling": "speakers" if pairings is None else "pairings and speakers",
            "n": int(sum(len(y) for y, _, _ in parts)),
            "n_speakers": int(len(np.unique(np.concatenate([s for _, _, s in parts]))))}


def run_weak_supervision(config: WeakSupervisionConfig, work_dir: str | Path,
                         log: Callable[[str], None] = lambda message: None) -> dict:
    """Run the sweep in ``work_dir`` (builds, datasets and the shared embedding cache; re-runs resume).

    Returns the JSON-serialisable record (see the module docstring); :func:`write_weak_supervision` saves it.
    """
    from weaklabel.build import BuildConfig, build_dataset
    from evaluation.acted_corpora import resolve_valence_map
    from weaklabel.relabel import Relabelling, relabel_dataset

    started = time.time()
    work_dir = Path(work_dir)
    clips, corpus_summary = read_clips(config)
    if clips["valence"].nunique() < 2:
        raise ValueError("the corpus needs positive and negative clips")
    sentences = load_sentences(config.sentences, config.text_column, config.label_column)
    rotations = speaker_rotations(clips["speaker"].astype(str), config.n_test, config.n_validation,
                                  config.n_rotations)
    truth = (clips["valence"] == "positive").to_numpy(dtype=int)
    all_recipes = recipes(config.policy, config.default_model, config.references, config.neutral_band,
                          config.features)
    # every distinct embedding resolved once (the reference recipes' weights found where the default's are)
    located = {r.name: _locate_weights(r.model.embedding, config.embedding) for r in all_recipes}
    resolved = {c: c.resolve() for c in dict.fromkeys(located.values())}
    embeddings = {name: resolved[c] for name, c in located.items()}
    cache = work_dir / EMBEDDINGS_DIR  # one cache shared by every re-labelled dataset
    runs: list[dict] = []
    collected: dict[tuple[str, float], list] = {}
    quality: dict[float, list[dict]] = {}
    for p in config.probabilities:
        for pairing_seed in config.pairing_seeds:
            tag = f"{_p_name(p)}-seed{pairing_seed}"
            chosen = pair_sentences(truth, sentences["valence"].to_numpy(), p, seed=pairing_seed)
            manifest = paired_manifest(clips, sentences, chosen)
            manifest_path = write_manifest(manifest, work_dir / tag)
            base = work_dir / tag / "build"
            build_config = BuildConfig(corpus="manifest", root=str(manifest_path.resolve()), policy=config.policy,
                                       neutral_band=all_recipes[0].band, seed=config.seed)
            # spawned workers: this process has run TensorFlow and CTranslate2 by the second build
            result = build_dataset(build_config, base, workers=config.workers, overwrite=True, start_method="spawn")
            log(f"{tag}: build {'up to date' if result.up_to_date else 'done'} ({result.counts.segments} clips)")
            for rotation_index, rotation in enumerate(rotations):
                folds = write_rotation_folds(manifest, rotation, work_dir / tag / f"folds-rot{rotation_index}.json")
                labelled: dict[tuple, tuple[Path, dict]] = {}  # per (policy, band): the dataset, its label quality
                for recipe in all_recipes:
                    if is_ceiling(recipe.name) and (p != config.probabilities[-1] or pairing_seed != config.pairing_seeds[0]):
                        continue  # the ceiling does not depend on the pairing: run it once
                    teacher = (recipe.policy, recipe.band)
                    if teacher not in labelled:
                        dataset = relabel_dataset(
                            base, work_dir / tag / f"{recipe.policy}-band{recipe.band:g}-rot{rotation_index}",
                            Relabelling(policy=recipe.policy, neutral_band=recipe.band, folds=str(folds.resolve())))
                        segments = dataset.segments
                        labels = segments.set_index("segment_id").loc[manifest["segment_id"], "label"]
                        labelled[teacher] = dataset, weak_label_quality(
                            manifest, labels.astype("Float64").to_numpy(dtype=float, na_value=np.nan))
                    dataset, label_quality = labelled[teacher]
                    trained = train_and_evaluate(dataset, replace(recipe.model, seed=config.seed),
                                                 embeddings[recipe.name], n_bootstrap=config.n_bootstrap,
                                                 embeddings_cache=cache, baselines=False)
                    test = trained.predictions[(trained.predictions["split"] == TEST)
                                               & trained.predictions["human_label"].notna()]
                    y = test["human_label"].to_numpy(dtype=int)
                    scores = test["p_head"].to_numpy(dtype=float)
                    speakers = test["group_id"].astype(str).to_numpy()
                    metrics = binary_metrics(y, scores, n_bootstrap=config.n_bootstrap, seed=config.seed,
                                             groups=speakers)
                    runs.append({"recipe": recipe.name, "p": p, "pairing_seed": pairing_seed,
                                 "rotation": rotation.name, "test_speakers": list(rotation.test),
                                 "n_train": trained.metrics.n_train, "test": _compact(metrics),
                                 "verdict": auc_verdict(metrics), "weak_labels": label_quality,
                                 "embedding": trained.metrics.embedding.key,
                                 "head": trained.metrics.head_kind})
                    key = (recipe.name, None if is_ceiling(recipe.name) else p)
                    collected.setdefault(key, []).append((y, scores, speakers, pairing_seed))
                    if not is_ceiling(recipe.name):
                        quality.setdefault((recipe.name, p), []).append(label_quality)
                    log(f"{tag} {rotation.name} {recipe.name}: test AUC {metrics['roc_auc']:.3f} "
                        f"(n={len(y)}, trained on {trained.metrics.n_train})")
    summary = []
    for recipe in all_recipes:
        for p in ([None] if is_ceiling(recipe.name) else config.probabilities):
            parts = collected.get((recipe.name, p))
            if not parts:
                continue
            pooled = mean_auc_over_rotations([part[:3] for part in parts], config.n_bootstrap, config.seed,
                                             pairings=[part[3] for part in parts])
            row = {"recipe": recipe.name, "p": p, **pooled, "verdict": auc_verdict(pooled)}
            if (recipe.name, p) in quality:
                q = quality[(recipe.name, p)]
                row["weak_label_coverage"] = float(np.mean([x["coverage"] for x in q]))
                row["weak_label_accuracy"] = float(np.mean([x["accuracy"] for x in q if x["accuracy"] is not None]))
            summary.append(row)
    record = {
        "kind": "weak_supervision",
        "config": asdict(config),
        "valence_map": resolve_valence_map(config.valence_map),
        "corpus": corpus_summary, "sentences": {"path": config.sentences, "usable": int(len(sentences)),
                                                "positive": int(sentences["valence"].sum()),
                                                "negative": int((sentences["valence"] == 0).sum())},
        "rotations": rotations_record(rotations),
        "recipes": [{"name": r.name, "policy": r.policy, "description": r.description,
                     "model": r.model.to_dict(), "features": embeddings[r.name].record()} for r in all_recipes],
        "weights": _weights_summary(embeddings[all_recipes[0].name].weights_record()),
        "log_mel": build_config.mel.to_dict(),  # every pairing's build: the features the models saw
        "summary": summary, "runs": runs,
        "elapsed_s": round(time.time() - started, 1),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }
    record["tables"] = weak_supervision_tables(record)
    return record


def _locate_weights(embedding: EmbeddingConfig, given: EmbeddingConfig) -> EmbeddingConfig:
    """``embedding`` with its extractors' weights where ``given`` says they are (``--weights``, ``--whisper-model``)."""
    return embedding.updated(vgg16={"weights": given.vgg16.weights}, whisper={"model": given.whisper.model})


def _weights_summary(weights: dict | None) -> dict | None:
    """The identity of the default recipe's weights for the record (no local path)."""
    return None if weights is None else {k: weights.get(k) for k in ("source", "sha256", "verified", "name")
                                         if k in weights}


def _compact(metrics: dict) -> dict:
    keep = ("roc_auc", "roc_auc_ci95", "balanced_accuracy", "n", "positive_share", "ci_resampling", "n_groups")
    return {k: metrics.get(k) for k in keep}


def _fmt(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def weak_supervision_tables(record: dict) -> list[dict]:
    """Generic tables (``{"title", "columns", "rows", "note"}``): the curve per recipe, then each run."""
    probabilities = record["config"]["probabilities"]
    by_recipe: dict[str, dict] = {}
    for row in record["summary"]:
        by_recipe.setdefault(row["recipe"], {})[row["p"]] = row
    curve_rows = []
    for name, rows in by_recipe.items():
        cells = [name]
        for p in probabilities:
            row = rows.get(p) or rows.get(None)
            if row is None:
                cells.append("")
                continue
            lo, hi = row["roc_auc_ci95"] or (None, None)
            flag = " (inverted)" if row["verdict"] == "inverted" else ""
            cells.append(f"{_fmt(row['roc_auc'])} [{_fmt(lo)}, {_fmt(hi)}]{flag}")
        curve_rows.append(cells)
    quality_rows = []
    for name, rows in by_recipe.items():  # the weak labels of each teacher (recipes sharing one are shown once)
        if is_ceiling(name) or name == "previous defaults":  # no weak labels / the lexicon teacher's again
            continue
        quality_rows.append([f"weak labels ({name}): coverage / accuracy vs truth"] + [
            f"{_fmt(rows[p].get('weak_label_coverage'), 2)} / {_fmt(rows[p].get('weak_label_accuracy'), 2)}"
            if p in rows and rows[p].get("weak_label_coverage") is not None else "" for p in probabilities])
    n_rot = len(record["rotations"])
    seeds = record["config"]["pairing_seeds"]
    tables = [{
        "title": "Weak-supervision curve: ROC AUC on held-out speakers' true valence",
        "columns": ["recipe"] + [f"p = {p:g}" for p in probabilities],
        "rows": curve_rows + quality_rows,
        "note": (f"p: probability that a clip's transcript sentence has the clip's valence (human label). Mean "
                 f"over {n_rot} speaker rotations x {len(seeds)} pairing seed(s); 95 % interval from a bootstrap "
                 "that resamples the pairing seeds (the label noise drawn) and, within each, the test speakers "
                 "of every rotation. The true-label ceiling does not depend on p (one pairing). "
                 + (f"Valence map {record['valence_map']['name']}: {record['valence_map']['description']}. "
                    if record.get("valence_map") else "")
                 + " ".join(f"{r['name']}: {r['description']}." for r in record["recipes"])),
    }]
    tables.append({
        "title": "Every run",
        "columns": ["recipe", "p", "seed", "rotation", "trained on", "test AUC [95% CI over speakers]", "verdict",
                    "weak-label coverage", "weak-label accuracy"],
        "rows": [[r["recipe"], f"{r['p']:g}", r["pairing_seed"], r["rotation"], r["n_train"],
                  f"{_fmt(r['test']['roc_auc'])} [{_fmt((r['test']['roc_auc_ci95'] or [None])[0])}, "
                  f"{_fmt((r['test']['roc_auc_ci95'] or [None, None])[1])}]", r["verdict"],
                  _fmt(r["weak_labels"]["coverage"], 2), _fmt(r["weak_labels"]["accuracy"], 2)]
                 for r in record["runs"]],
        "note": "weak-label figures are over all clips of the pairing (every speaker), against the true valence.",
    })
    return tables


def weak_supervision_markdown(record: dict) -> str:
    corpus = record["corpus"]
    head = (f"# Weak-supervision benchmark\n\n{corpus['clips']} clips ({corpus['positive']} positive, "
            f"{corpus['negative']} negative) from {len(corpus['speakers'])} speakers; "
            f"{record['sentences']['usable']} human-labelled sentences from `{Path(record['sentences']['path']).name}`; "
            + (f"valence map {record['valence_map']['name']} ({record['valence_map']['description']}); "
               if record.get("valence_map") else "") + _weights_text(record) + ".\n\n")
    return head + markdown_tables(record["tables"])


def _weights_text(record: dict) -> str:
    weights = record.get("weights")
    if not weights:
        return "the default recipe's features use no weights"
    what = "Whisper model" if weights.get("name") else "VGG16 weights"
    return f"{what} {weights_text(weights, path=False)}{', verified' if weights.get('verified') else ', NOT verified'}"


def write_weak_supervision(record: dict, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``weak_supervision.json`` and ``weak_supervision.md`` atomically; returns their paths."""
    return write_record_atomic(out_dir, record, JSON_FILE, weak_supervision_markdown(record), MARKDOWN_FILE)
