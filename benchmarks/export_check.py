"""The exports loaded with the real libraries: Lhotse (which needs PyTorch, so CI does not install it) and datasets.

    python -m benchmarks.export_check --out reports/export --work build/export-check   # needs: pip install lhotse

A small synthetic corpus (the demo's voices, 8 recordings of 6 sentences, 16 kHz mono, plus one of them again at
44.1 kHz in stereo, so that the build resamples and averages it) is built, exported as ``lhotse`` and ``hf``,
and loaded back: ``lhotse.CutSet.from_file`` (with the recordings and supervisions manifests), every cut's audio
decoded by Lhotse, and ``datasets.load_dataset("parquet", data_dir=...)``, every clip's FLAC decoded by soundfile.
Each clip is compared with the build's clip plan applied to the recording
(:func:`benchmarks.export_reference.reference_clip`: soundfile and soxr, not the build's reader): the count, the
labels, the splits and the durations against ``segments.parquet``, and the samples. Writes
``OUT/export_check.json`` and its rendering ``OUT/export_check.md`` (committed: ``reports/export/``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from benchmarks.export_reference import RATE, reference_clip
from foundation.paths import display_path
from weaklabel.exporting.core import split_order

RECORDINGS, SENTENCES = 8, 6
STEREO_ID = "demo_stereo44k"
JSON_NAME, MARKDOWN_NAME = "export_check.json", "export_check.md"


def check_corpus(work: Path) -> Path:
    """The corpus of the check (made once): the demo generator's recordings and one of them at 44.1 kHz stereo."""
    import soundfile as sf
    import soxr

    from weaklabel.demo import generate_demo_corpus

    demo = generate_demo_corpus(work / "demo-corpus", n_recordings=RECORDINGS, sentences_per_recording=SENTENCES)
    root = work / "corpus"
    audio, text = Path("Raw/Audio/Full/WAV_16000"), Path("Raw/Transcript/Segmented/Combined")
    if root.is_dir():
        return root.resolve()
    tmp = work / "corpus.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for sub in (audio, text):
        shutil.copytree(demo / sub, tmp / sub)
    first = sorted((demo / text).glob("*.txt"))[0]
    lines = first.read_text(encoding="utf-8").splitlines()
    (tmp / text / f"{STEREO_ID}.txt").write_text(
        "\n".join(STEREO_ID + line[len(first.stem):] for line in lines) + "\n", encoding="utf-8")
    mono, rate = sf.read(demo / audio / f"{first.stem}.wav", dtype="float32")
    high = soxr.resample(mono, rate, 44100, quality="HQ")
    sf.write(tmp / audio / f"{STEREO_ID}.wav", np.stack([high, 0.6 * high], axis=1), 44100, subtype="PCM_16")
    os.rename(tmp, root)
    return root.resolve()


def _versions() -> dict:
    out = {}
    for dist in ("lhotse", "torch", "datasets", "pyarrow", "soundfile", "soxr"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _compare(kind: str, rows: dict, clips, root: Path) -> dict:
    """Per group of recordings (16 kHz mono; resampled stereo), the largest difference from the reference."""
    worst = {"16 kHz mono": 0.0, "44.1 kHz stereo": 0.0}
    correlation = 1.0
    for segment_id, audio in clips:
        row = rows[segment_id]
        expected = reference_clip(root / row["audio_path"], row, 7.0)
        group = "44.1 kHz stereo" if row["video_id"] == STEREO_ID else "16 kHz mono"
        mono = audio.mean(axis=0) if audio.ndim == 2 else audio
        worst[group] = max(worst[group], float(np.abs(mono - expected).max()))
        if group != "16 kHz mono":
            correlation = min(correlation, float(np.corrcoef(mono, expected)[0, 1]))
    return {"max_abs_difference": worst, "min_correlation_resampled": round(correlation, 6), "kind": kind}


def run_check(work: Path) -> dict:
    import io

    import datasets
    import lhotse
    import soundfile as sf

    from foundation.executor import ExecutorConfig
    from weaklabel.build import BuildConfig, build_dataset
    from weaklabel.dataset import Dataset
    from weaklabel.exporting import ExportConfig, export
    from weaklabel.exporting.config import EXPORT_FORMAT_VERSION

    started = time.perf_counter()
    root = check_corpus(work)
    dataset = work / "dataset"
    build_dataset(BuildConfig(corpus="mosei", root=str(root)), dataset, workers=2)
    frame = Dataset(dataset).segments
    labelled = frame[(frame["status"] == "ok") & frame["label"].notna()]
    rows = {row["segment_id"]: row for row in labelled.to_dict("records")}
    record: dict = {"corpus": {"recordings": RECORDINGS + 1, "segments": len(frame), "labelled": len(labelled),
                               "description": f"weaklabel.demo voices, {RECORDINGS} recordings x {SENTENCES} "
                                              f"sentences at 16 kHz mono, and {STEREO_ID}: the first of them "
                                              "again at 44.1 kHz in stereo (right channel at 0.6)"},
                    "export_format_version": EXPORT_FORMAT_VERSION, "versions": _versions(), "checks": {}}
    defaults = ExportConfig(format="hf").to_dict()
    record["config"] = {k: v for k, v in defaults.items() if k != "format"}

    shutil.rmtree(work / "lhotse", ignore_errors=True)
    export(dataset, work / "lhotse", ExportConfig(format="lhotse"), ExecutorConfig(workers=2))
    cuts = lhotse.CutSet.from_file(work / "lhotse" / "cuts.jsonl.gz")
    recordings = lhotse.RecordingSet.from_file(work / "lhotse" / "recordings.jsonl.gz")
    supervisions = lhotse.SupervisionSet.from_file(work / "lhotse" / "supervisions.jsonl.gz")
    loaded = [(cut.id, cut.load_audio()) for cut in cuts]
    by_id = {cut.id: cut for cut in cuts}
    record["checks"]["lhotse"] = {
        "cuts": len(cuts), "recordings": len(recordings), "supervisions": len(supervisions),
        "one_cut_per_labelled_clip": sorted(by_id) == sorted(rows),
        "labels_equal": all(by_id[i].supervisions[0].label == rows[i]["label"] for i in rows),
        "splits_equal": all(by_id[i].supervisions[0].split == rows[i]["split"] for i in rows),
        "durations_equal_clip_length": all(abs(c.duration - 7.0) < 1e-9 and c.num_samples == 7 * RATE for c in cuts),
        "channels": sorted({a.shape[0] for _, a in loaded}),
        **_compare("Lhotse's load_audio (its resampler for 44.1 kHz; the stereo channels averaged here)", rows,
                   loaded, root)}

    shutil.rmtree(work / "hf", ignore_errors=True)
    export(dataset, work / "hf", ExportConfig(format="hf"), ExecutorConfig(workers=2))
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    hf = datasets.load_dataset("parquet", data_dir=str(work / "hf"), cache_dir=str(work / "hf-cache"))
    hf_rows = [row for split in hf.values() for row in split.cast_column("audio", datasets.Audio(decode=False))]
    decoded = [(row["segment_id"], sf.read(io.BytesIO(row["audio"]["bytes"]), dtype="float32")[0]) for row in hf_rows]
    record["checks"]["hf"] = {
        "rows": len(hf_rows), "splits": {split: len(part) for split, part in hf.items()},
        "one_row_per_labelled_clip": sorted(r["segment_id"] for r in hf_rows) == sorted(rows),
        "labels_equal": all(r["label"] == rows[r["segment_id"]]["label"] for r in hf_rows),
        "features": {"audio": str(hf["train"].features["audio"]), "label": str(hf["train"].features["label"])},
        "durations_equal_clip_length": all(len(a) == 7 * RATE for _, a in decoded),
        **_compare("soundfile on the FLAC bytes (16-bit)", rows, decoded, root)}
    lh, h = record["checks"]["lhotse"], record["checks"]["hf"]
    record["met"] = bool(lh["one_cut_per_labelled_clip"] and lh["labels_equal"] and lh["splits_equal"]
                         and lh["durations_equal_clip_length"] and lh["max_abs_difference"]["16 kHz mono"] == 0.0
                         and lh["min_correlation_resampled"] > 0.99 and h["one_row_per_labelled_clip"]
                         and h["labels_equal"] and h["durations_equal_clip_length"]
                         and h["max_abs_difference"]["16 kHz mono"] == 0.0
                         and h["max_abs_difference"]["44.1 kHz stereo"] <= 2.0 ** -15)
    record["seconds"] = round(time.perf_counter() - started, 1)
    record["command"] = f"python -m benchmarks.export_check --work {display_path(work)}"
    return record


def check_markdown(record: dict) -> str:
    """The check's Markdown, rendered from its record only."""
    lh, h = record["checks"]["lhotse"], record["checks"]["hf"]
    v = record["versions"]
    yes = {True: "yes", False: "**NO**"}
    splits = ", ".join(f"{name} {h['splits'][name]}" for name in sorted(h["splits"], key=split_order))
    lines = [
        "# The exports loaded with the real libraries", "",
        f"`{record['command']}` ({record['seconds']:g} s): lhotse {v['lhotse']} (torch {v['torch']}), datasets "
        f"{v['datasets']}, export format {record['export_format_version']}. **{'Met' if record['met'] else 'NOT met'}**.",
        "", f"Corpus: {record['corpus']['description']}; {record['corpus']['segments']} segments, "
            f"{record['corpus']['labelled']} labelled clips.", "",
        "| check | lhotse (`CutSet.from_file`, `cut.load_audio()`) | hf (`load_dataset(\"parquet\")`, FLAC bytes) |",
        "|---|---|---|",
        f"| clips | {lh['cuts']} cuts ({lh['recordings']} recordings, {lh['supervisions']} supervisions) | "
        f"{h['rows']} rows ({splits}) |",
        f"| one per labelled clip of segments.parquet | {yes[lh['one_cut_per_labelled_clip']]} | "
        f"{yes[h['one_row_per_labelled_clip']]} |",
        f"| labels equal segments.parquet | {yes[lh['labels_equal']]} (splits too: {yes[lh['splits_equal']]}) | "
        f"{yes[h['labels_equal']]} ({h['features']['label']}) |",
        f"| every clip 7 s (112,000 samples at 16 kHz) | {yes[lh['durations_equal_clip_length']]} | "
        f"{yes[h['durations_equal_clip_length']]} |",
        f"| largest difference from the clip plan applied to the recording, 16 kHz mono | "
        f"{lh['max_abs_difference']['16 kHz mono']:g} | {h['max_abs_difference']['16 kHz mono']:g} |",
        f"| the same, 44.1 kHz stereo (resampled) | {lh['max_abs_difference']['44.1 kHz stereo']:.2e} (correlation "
        f"{lh['min_correlation_resampled']:.4f} at worst; channels {lh['channels']}) | "
        f"{h['max_abs_difference']['44.1 kHz stereo']:.2e} (16-bit FLAC: at most 2^-15 = 3.05e-05) |", "",
        "The reference is `benchmarks/export_reference.py`: the recording read with soundfile from the first frame "
        "the build reads, averaged over its channels, resampled with soxr where it is not at 16 kHz, and placed "
        "after the build's padding in 7 s of silence. Lhotse decodes a 16 kHz recording's span itself, so its "
        "cuts equal the build's clips sample for sample; it resamples another rate with its own resampler, not "
        "soxr, hence the small difference there (and it returns each channel: the build's clip is their mean).",
        ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.export_check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("reports/export"), help="where the JSON and Markdown go")
    parser.add_argument("--work", type=Path, default=Path("build/export-check"), help="corpus, build and exports")
    args = parser.parse_args(argv)
    try:
        import lhotse  # noqa: F401
        import datasets  # noqa: F401
    except ImportError as exc:
        print(f"error: this check loads the exports with lhotse and datasets ({exc}); install them: pip install "
              "torch lhotse datasets (a CPU build of torch is enough)", file=sys.stderr)
        return 2
    from benchmarks.common import write_met_result

    return write_met_result(args.out, run_check(args.work), JSON_NAME, MARKDOWN_NAME, check_markdown)


if __name__ == "__main__":
    sys.exit(main())
