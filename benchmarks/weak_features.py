"""Which voice features learn best from weak labels: every extractor, combination, C and valence map, measured.

    nice -n 10 python -m benchmarks.weak_features                                   # the full measurement
    nice -n 10 python -m benchmarks.weak_features --p 0.75 --pairing-seeds 0 1 2    # what was committed

The weak-supervision benchmark (:mod:`evaluation.weak_benchmark`: every acted clip paired with a MELD line whose
human valence matches the clip's with probability p; the build labels the pairs from the text with the default
teacher; train, validation and test speakers disjoint, rotated; scored on the held-out speakers' **true** valence)
run for each row of a grid:

* extractors (:data:`transfer.features.FEATURES`): ``vgg16`` (today's), ``egemaps``, ``vgg16+egemaps`` (scaled
  blocks concatenated), and ``vgg16 | egemaps`` (the two heads' probabilities averaged);
* the logistic head's C over :data:`C_GRID` (chosen here, on the benchmark, never per split);
* every valence map of :data:`evaluation.acted_corpora.VALENCE_MAPS` (RAVDESS's *surprised* positive or excluded,
  *calm* positive or excluded), the clips paired and scored under that map;
* each p, with ``--pairing-seeds`` pairings and every speaker rotation; the interval resamples pairings and,
  within them, test speakers (:func:`evaluation.weak_benchmark.mean_auc_over_rotations`), and every row's
  difference to today's default (VGG16, C = 1e-3, same map) is paired (same datasets, same resamples);
* the true-label ceiling of each extractor and C (the same model trained on every training clip's true valence);
* zero-shot on a second corpus (``--zero-shot``, TESS by default): every trained model scores it, per rotation
  (mean over pairings) with a verdict from a bootstrap over its clips (two speakers: too few to resample), so an
  inverted ranking is named as such.

VGG16 is embedded on the reference path, float32 over whole clips, as when this comparison was committed (before
the product's default became ``--precision auto`` over speech-only frames): the extractors are compared on the same
arithmetic, and the default path's own effect on this benchmark is measured by :mod:`benchmarks.embed_precision_weak`
(+0.0000 AUC [-0.0003, +0.0003] at p = 0.75).

Builds, datasets and the embedding cache go to ``--work`` (re-runs reuse them); the record and its Markdown to
``--out`` (``reports/weak_supervision_features/features.{json,md}``). The record states the valence maps, the
policy, every extractor's name, version and licence, and the exact command.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared" / "data"
JSON_FILE, MARKDOWN_FILE = "features.json", "features.md"
OUT = REPO_ROOT / "reports" / "weak_supervision_features"
#: The logistic head's C: weak labels need strong regularisation, so the grid runs well below the head's default.
C_GRID = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
#: The rows' features by name: an extractor with options, or one of Whisper's input modes (:func:`variant_config`).
VARIANTS = ("vgg16", "egemaps", "vgg16+egemaps", "whisper-clip", "whisper-padded8", "whisper-padded10",
            "whisper-padded15", "whisper-padded30", "whisper-packed30")
#: The rows at the other p (the refresh's curve): VGG16 and the padded inputs that decide the default's window.
CURVE_VARIANTS = ("vgg16", "whisper-padded10", "whisper-padded15", "whisper-padded30")
EXTRACTORS = CURVE_VARIANTS
#: The probability-averaging combination: the two single-extractor heads' p(positive), averaged.
AVERAGED = "vgg16 | egemaps (probabilities averaged)"
AVERAGED_OF = ("vgg16", "egemaps")
#: The references of the paired differences: the former default (VGG16, C = 1e-3) and Whisper's naive input
#: (padded to 30 s, as Whisper is trained), at the row's own C.
REFERENCE = ("vgg16", 1e-3)
NAIVE_WHISPER = "whisper-padded30"


def variant_config(name: str):
    """The :class:`~transfer.features.EmbeddingConfig` of a row's features: an extractor's name (its defaults), or
    ``whisper-clip``, ``whisper-padded<S>``, ``whisper-packed<S>`` (Whisper's input mode and window in seconds)."""
    import re

    from transfer.features import EmbeddingConfig

    match = re.fullmatch(r"whisper-(clip|padded|packed)(\d+(?:\.\d+)?)?", name)
    if not match:
        return EmbeddingConfig(features=name)
    mode, window = match.groups()
    options = {"input": mode} | ({"window_s": float(window)} if window else {})
    return EmbeddingConfig(features="whisper").updated(whisper=options)


def product_defaults() -> dict:
    """What the product defaults to, which the record is read against: extractor (and Whisper's input), logistic
    C, valence map."""
    from transfer.features import DEFAULT_FEATURES, WhisperOptions
    from transfer.head import DEFAULT_LOGISTIC_C
    from evaluation.acted_corpora import DEFAULT_VALENCE_MAP

    whisper = WhisperOptions()
    return {"features": DEFAULT_FEATURES, "whisper_input": whisper.input, "whisper_window_s": whisper.window_s,
            "whisper_pooling": whisper.pooling, "C": DEFAULT_LOGISTIC_C, "valence_map": DEFAULT_VALENCE_MAP}


def row_name(features: str, C: float) -> str:
    return f"{features}, C = {C:g}"


def _rotation_tess(y: np.ndarray, per_seed: list[np.ndarray], n_bootstrap: int, seed: int = 0) -> dict:
    """Mean AUC over pairing seeds on the zero-shot corpus, a 95 % interval from resampling its clips (the same
    resample for every seed), and the verdict."""
    from foundation.metrics import auc_verdict
    from evaluation.weak_benchmark import rank_auc

    auc = float(np.mean([rank_auc(y, p) for p in per_seed]))
    rng = np.random.default_rng(seed)
    means = []
    for _ in range(n_bootstrap):
        rows = rng.integers(0, len(y), len(y))
        if y[rows].min() == y[rows].max():
            continue
        means.append(np.mean([rank_auc(y[rows], p[rows]) for p in per_seed]))
    ci = [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))] if means else None
    out = {"roc_auc": auc, "roc_auc_ci95": ci, "n": int(len(y)), "ci_resampling": "clips"}
    out["verdict"] = auc_verdict(out)
    return out


def zero_shot_features(root: Path, valence: dict, embeddings: dict, clip_seconds: float, mel) -> dict:
    """The zero-shot corpus's clips (positive/negative under ``valence``) and each row's raw features
    (``embeddings``: row name -> resolved :class:`~transfer.features.Embedding`)."""
    from evaluation.acted import embed_files
    from evaluation.acted_probes import select_clips
    from evaluation.acted_corpora import read_emotion_corpus

    clips = select_clips(read_emotion_corpus("auto", root, valence))
    out = {"clips": clips, "y": clips["y"].to_numpy(), "speakers": clips["speaker"].astype(str).to_numpy(), "X": {}}
    for name, embedding in embeddings.items():
        parts = embedding.components()
        blocks = []
        for part in parts:
            if part.key not in out["X"]:
                X, errors = embed_files(clips["path"].tolist(), part.clip_embedder(mel, clip_seconds), clip_seconds,
                                        mel, part.batch_size)
                if any(errors):
                    raise ValueError(f"zero-shot corpus: {sum(e is not None for e in errors)} files failed, e.g. "
                                     f"{next(e for e in errors if e)}")
                out["X"][part.key] = X
            blocks.append(out["X"][part.key])
        out["X"][name] = np.concatenate(blocks, axis=1)
    return out


def run(args) -> dict:
    from benchmarks.weak_levers import paired_difference
    from transfer.head import HeadConfig, predict_head
    from transfer.training import TrainConfig, train_and_evaluate
    from evaluation.weak_benchmark import (WeakSupervisionConfig, mean_auc_over_rotations, rank_auc, read_clips)
    from weaklabel.build import BuildConfig, build_dataset
    from weaklabel.dataset import EMBEDDINGS_DIR, Dataset
    from weaklabel.policies import DEFAULT_POLICY, default_band
    from evaluation.acted_corpora import resolve_valence_map
    from weaklabel.relabel import Relabelling, relabel_dataset
    from weaklabel.splits import TEST
    from evaluation.weak_pairing import (load_sentences, pair_sentences, paired_manifest, speaker_rotations,
                                         weak_label_quality, write_manifest, write_rotation_folds)

    started = time.time()
    policy, band = DEFAULT_POLICY, default_band(DEFAULT_POLICY)
    extractors = tuple(args.features)
    embeddings = {name: variant_config(name).resolve() for name in extractors}  # each row's, resolved once
    sentences = load_sentences(str(args.sentences))
    record_maps, rows_out, tess_out, ceilings_out, quality_out = {}, [], [], [], []
    cache = args.work / EMBEDDINGS_DIR
    previous_tess = None
    for map_name in args.maps:
        valence_map = resolve_valence_map(map_name)
        record_maps[map_name] = valence_map
        config = WeakSupervisionConfig(roots=tuple(str(r) for r in args.root), sentences=str(args.sentences),
                                       valence_map=map_name, probabilities=tuple(args.p),
                                       pairing_seeds=tuple(args.pairing_seeds), references=False,
                                       n_test=args.test_speakers, n_validation=args.validation_speakers)
        clips, corpus = read_clips(config)
        rotations = speaker_rotations(clips["speaker"].astype(str), config.n_test, config.n_validation,
                                      args.rotations)
        truth = (clips["valence"] == "positive").to_numpy(dtype=int)
        tess = None
        parts: dict[tuple, list] = {}  # (row, p) -> [(y, p, speakers)], with pairing labels alongside
        labels_of: dict[tuple, list] = {}
        tess_runs: dict[tuple, dict] = {}  # (row, p, rotation) -> {seed: p_tess}
        for p in args.p:
            for pairing_seed in args.pairing_seeds:
                tag = f"{map_name}/p{p:.2f}-seed{pairing_seed}"
                chosen = pair_sentences(truth, sentences["valence"].to_numpy(), p, seed=pairing_seed)
                manifest = paired_manifest(clips, sentences, chosen)
                manifest_path = write_manifest(manifest, args.work / tag)
                base = args.work / tag / "build"
                build = build_dataset(BuildConfig(corpus="manifest", root=str(manifest_path.resolve()), policy=policy,
                                                  neutral_band=band, seed=0), base, workers=args.workers,
                                      overwrite=True, start_method="spawn")  # this process has run TensorFlow
                print(f"{tag}: build {'up to date' if build.up_to_date else 'done'}", flush=True)
                if tess is None and args.zero_shot:
                    from evaluation.acted_probes import select_clips
                    from evaluation.acted_corpora import read_emotion_corpus

                    wanted = select_clips(read_emotion_corpus("auto", args.zero_shot, valence_map["table"]))
                    if previous_tess is not None and previous_tess["clips"]["path"].tolist() == wanted["path"].tolist() \
                            and (previous_tess["y"] == wanted["y"].to_numpy()).all():
                        tess = previous_tess  # the same clips and labels under this map: the same features
                    else:
                        tess = zero_shot_features(args.zero_shot, valence_map["table"], embeddings,
                                                  Dataset(base).config.clip_seconds, Dataset(base).config.mel)
                    previous_tess = tess
                for r_index, rotation in enumerate(rotations):
                    folds = write_rotation_folds(manifest, rotation, args.work / tag / f"folds-rot{r_index}.json")
                    dataset = relabel_dataset(base, args.work / tag / f"{policy}-band{band:g}-rot{r_index}",
                                              Relabelling(policy=policy, neutral_band=band,
                                                          folds=str(folds.resolve())))
                    labels = dataset.segments.set_index("segment_id").loc[manifest["segment_id"], "label"]
                    quality_out.append({"map": map_name, "p": p, "pairing_seed": pairing_seed, "rotation": rotation.name,
                                        **weak_label_quality(manifest, labels.astype("Float64").to_numpy(
                                            dtype=float, na_value=np.nan))})
                    runs = [(f, C, "weak") for f in extractors for C in args.c_grid]
                    if pairing_seed == args.pairing_seeds[0] and p == args.p[-1]:  # the ceiling: once per rotation
                        runs += [(f, C, "human") for f in extractors for C in args.c_grid]
                    test_p = {}
                    for features, C, labels_from in runs:
                        model = TrainConfig(embedding=variant_config(features), head=HeadConfig(C=C),
                                            labels=labels_from)
                        trained = train_and_evaluate(dataset, model, embeddings[features], n_bootstrap=10,
                                                     embeddings_cache=cache, baselines=False)
                        pred = trained.predictions
                        test = pred[(pred["split"] == TEST) & pred["human_label"].notna()]
                        y = test["human_label"].to_numpy(dtype=int)
                        scores = test["p_head"].to_numpy(dtype=float)
                        speakers = test["group_id"].astype(str).to_numpy()
                        key = (row_name(features, C) if labels_from == "weak" else f"ceiling: {row_name(features, C)}",
                               p if labels_from == "weak" else None)
                        parts.setdefault(key, []).append((y, scores, speakers))
                        labels_of.setdefault(key, []).append(pairing_seed)
                        if labels_from == "weak":
                            test_p[(features, C)] = (y, scores, speakers)
                        if tess is not None:  # every model, the ceiling's too, scores the second corpus
                            Z = trained.standardiser.transform(tess["X"][features], tess["speakers"])
                            tess_runs.setdefault((key[0], key[1], rotation.name), {})[pairing_seed] = \
                                predict_head(trained.head, Z)
                        print(f"  {tag} {rotation.name} {key[0]}: {rank_auc(y, scores):.3f}", flush=True)
                    if all(f in extractors for f in AVERAGED_OF):
                        for C in args.c_grid:
                            (y, a, s), (_, b, _) = test_p[(AVERAGED_OF[0], C)], test_p[(AVERAGED_OF[1], C)]
                            key = (f"{AVERAGED}, C = {C:g}", p)
                            parts.setdefault(key, []).append((y, (a + b) / 2, s))
                            labels_of.setdefault(key, []).append(pairing_seed)
                            if tess is not None:
                                runs_ = [tess_runs[(row_name(f, C), p, rotation.name)][pairing_seed] for f in AVERAGED_OF]
                                tess_runs.setdefault((key[0], p, rotation.name), {})[pairing_seed] = \
                                    (runs_[0] + runs_[1]) / 2
        for (name, p), row_parts in parts.items():
            pooled = mean_auc_over_rotations(row_parts, args.bootstrap, 0, pairings=labels_of[(name, p)])
            out = {"map": map_name, "row": name, "p": p, **pooled}
            C = name.rsplit("C = ", 1)[-1]
            for field, ref in (("vs_reference", (row_name(*REFERENCE), p)),
                               ("vs_naive_whisper", (f"{NAIVE_WHISPER}, C = {C}", p))):
                if p is not None and ref in parts and ref != (name, p):
                    out[field] = paired_difference(row_parts, parts[ref], labels_of[(name, p)], args.bootstrap)
            (ceilings_out if name.startswith("ceiling") else rows_out).append(out)
        for (name, p, rotation), per_seed in tess_runs.items():
            seeds = sorted(per_seed)
            tess_out.append({"map": map_name, "row": name, "p": p, "rotation": rotation, "pairing_seeds": seeds,
                             **_rotation_tess(tess["y"], [per_seed[s] for s in seeds], args.bootstrap)})
        record_maps[map_name]["corpus"] = {k: corpus[k] for k in ("clips", "positive", "negative", "excluded_valence")}
    record = {
        "kind": "weak_supervision_features",
        "command": "python -m benchmarks.weak_features " + " ".join(args.argv),
        "policy": policy, "neutral_band": band, "p": list(args.p), "pairing_seeds": list(args.pairing_seeds),
        "c_grid": list(args.c_grid), "reference": {"features": REFERENCE[0], "C": REFERENCE[1]},
        "naive_whisper": NAIVE_WHISPER,
        "roots": [Path(r).name for r in args.root], "sentences": Path(args.sentences).name,
        "zero_shot": Path(args.zero_shot).name if args.zero_shot else None,
        "valence_maps": record_maps,
        "features": {name: {"name": name, "extractor": e.features, "version": e.extractor.version,
                            "licence": e.extractor.licence, "description": e.describe(), "key": e.key,
                            "weights": {k: (e.weights_record() or {}).get(k) for k in ("source", "sha256", "verified")}}
                     for name, e in embeddings.items()},
        "product_default": product_defaults(),
        "rows": rows_out, "ceilings": ceilings_out, "zero_shot_runs": tess_out, "weak_label_quality": quality_out,
        "elapsed_s": round(time.time() - started, 1),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }
    record["tables"] = tables(record)
    return record


def _cell(r: dict) -> str:
    lo, hi = r["roc_auc_ci95"] or (float("nan"), float("nan"))
    return f"{r['roc_auc']:.3f} [{lo:.3f}, {hi:.3f}]"


def _delta(r: dict, field: str = "vs_reference") -> str:
    d = r.get(field)
    return f"{d['mean']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]" if d else "—"


def tables(record: dict) -> list[dict]:
    """Per valence map and p: every row with its interval, its paired difference to today's default and its
    zero-shot AUC per rotation; then the ceilings."""
    out = []
    zs = {}
    for z in record["zero_shot_runs"]:
        zs.setdefault((z["map"], z["row"], z["p"]), []).append(z)
    for map_name, info in record["valence_maps"].items():
        for p in record["p"]:
            rows = [r for r in record["rows"] if r["map"] == map_name and r["p"] == p]
            table_rows = []
            for r in rows:
                tess = sorted(zs.get((map_name, r["row"], p), []), key=lambda z: z["rotation"])
                tess_cell = " ".join(f"{z['roc_auc']:.2f}" + ("(inv)" if z["verdict"] == "inverted" else "")
                                     for z in tess) or "—"
                table_rows.append([r["row"], _cell(r), _delta(r), _delta(r, "vs_naive_whisper"),
                                   " ".join(f"{a:.3f}" for a in r["per_part"]), tess_cell])
            out.append({
                "title": f"Valence map {map_name}, p = {p:g}: ROC AUC on held-out speakers' true valence",
                "columns": ["features, logistic C", "ROC AUC [95% CI]", "Δ vs vgg16, C = 1e-3 [95% CI]",
                            f"Δ vs {record['naive_whisper']}, same C [95% CI]", "per rotation x seed",
                            f"zero-shot {record['zero_shot'] or ''} AUC per rotation"],
                "rows": table_rows,
                "note": (f"Map {map_name}: {info['description']}; {info['corpus']['clips']} clips "
                         f"({info['corpus']['positive']} positive, {info['corpus']['negative']} negative). Policy "
                         f"{record['policy']} (band {record['neutral_band']:g}); {len(record['pairing_seeds'])} pairing "
                         "seed(s) x speaker rotations; intervals: bootstrap over pairing seeds and, within each, test "
                         "speakers (paired for the differences: with VGG16 at C = 1e-3, the former default, and with "
                         "Whisper's input padded to 30 s, as it was trained, at the row's C). Per rotation x "
                         "seed: in the order the runs were made (rotation by rotation within each seed). Zero-shot: "
                         "mean over pairing seeds per rotation, rotations in the order of their test speakers' names, "
                         "(inv) where the 95% interval over its clips lies wholly below 0.5."),
            })
    def tess_of(r):
        runs = sorted(zs.get((r["map"], r["row"], None), []), key=lambda z: z["rotation"])
        return " ".join(f"{z['roc_auc']:.2f}" + ("(inv)" if z["verdict"] == "inverted" else "") for z in runs) or "—"

    ceiling_rows = [[r["map"], r["row"].removeprefix("ceiling: "), _cell(r), tess_of(r)] for r in record["ceilings"]]
    if ceiling_rows:
        out.append({"title": "True-label ceiling per extractor and C (the same model on every training clip's true "
                             "valence; any p)",
                    "columns": ["valence map", "features, logistic C", "ROC AUC [95% CI]",
                                f"zero-shot {record['zero_shot'] or ''} AUC per rotation"],
                    "rows": ceiling_rows, "note": "One pairing (the labels are the truth); intervals over test speakers. "
                                                  "Zero-shot: the true-label model of each rotation on the second "
                                                  "corpus, (inv) where its 95% interval lies wholly below 0.5."})
    return out


def markdown(record: dict) -> str:
    from foundation.tables import markdown_tables

    licences = "; ".join(f"`{n}`: {f['description']}, {f['version']}, weights verified={f['weights']['verified']} "
                         f"({f['licence']})" for n, f in record["features"].items())
    head = (f"# Voice features on the weak-supervision benchmark\n\n`{record['command']}`\n\n"
            f"Corpus {', '.join(record['roots'])}; sentences {record['sentences']}; zero-shot "
            f"{record['zero_shot']}. Features: {licences}.\n\n")
    return head + markdown_tables(record["tables"])


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.weak_features", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, action="append",
                        help="acted corpus folder (repeat); default RAVDESS actors 1-12 in ../shared/data")
    parser.add_argument("--sentences", type=Path, default=SHARED / "meld_dev_sent_emo.csv")
    parser.add_argument("--zero-shot", type=Path, default=SHARED / "tess_subset",
                        help="a second corpus every trained model scores (default TESS)")
    parser.add_argument("--maps", nargs="+", default=["surprised-excluded", "surprised-positive", "calm-excluded"])
    parser.add_argument("--p", type=float, nargs="+", default=[0.5, 0.65, 0.75, 0.9, 1.0])
    parser.add_argument("--pairing-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--rotations", type=int, default=None)
    parser.add_argument("--test-speakers", type=int, default=4)
    parser.add_argument("--validation-speakers", type=int, default=2)
    parser.add_argument("--c-grid", type=float, nargs="+", default=list(C_GRID))
    parser.add_argument("--features", nargs="+", default=list(EXTRACTORS),
                        help=f"the rows' features (variant names: {', '.join(VARIANTS)}; any extractor name)")
    parser.add_argument("--work", type=Path, default=REPO_ROOT / "build" / "weak_features")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--render-only", action="store_true",
                        help="re-render --out's JSON (tables, Markdown, the product defaults read against) without "
                             "measuring")
    args = parser.parse_args(argv)
    args.argv = argv
    args.root = args.root or [SHARED / "ravdess_actors_01-06", SHARED / "ravdess_actors_07-12"]
    if args.zero_shot and not Path(args.zero_shot).exists():
        args.zero_shot = None
    from foundation.atomic import write_record_atomic

    if args.render_only:
        record = json.loads((args.out / JSON_FILE).read_text(encoding="utf-8"))
        record["product_default"] = product_defaults()
        record["tables"] = tables(record)
    else:
        record = run(args)
    write_record_atomic(args.out, record, JSON_FILE, markdown(record), MARKDOWN_FILE)
    print(markdown(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
