"""python -m pipelines.evaluate_acted: probe and zero-shot on tiny generated corpora of every reader kind.

The audio is synthetic: a tone whose pitch is higher for positive than for negative clips (each speaker with
its own base pitch), so an embedding of it separates the classes. VGG16 runs with explicitly random weights
and 1 s clips for speed; one test uses the real RAVDESS actors and the default features (Whisper base).
"""
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipelines.evaluate_acted import main
from evaluation.acted_probes import dense_probe_predictions, describe_folds, speaker_folds
from transfer.head import HeadConfig

from .conftest import SHARED_DATA, requires_shared

RAVDESS = SHARED_DATA / "ravdess_actors_01-06"
SR = 16000
FAST = ["--features", "vgg16", "--weights", "random", "--clip-seconds", "1", "--bootstrap", "100", "--quiet",
        "--probe-heads", "logistic_regression"]


def write_tone(path: Path, freq: float, seed: int, seconds: float = 0.8) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f = freq * (1 + 0.03 * rng.standard_normal())
    audio = 0.3 * np.sin(2 * np.pi * f * t) + 0.2 * np.sin(4 * np.pi * f * t) + 0.005 * rng.standard_normal(t.size)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio.astype(np.float32), SR)


def pitch(speaker_index: int, valence: str) -> float:
    base = 300 + 40 * speaker_index
    return base * {"positive": 1.6, "negative": 0.7, "neutral": 1.0}[valence]


# name(speaker index 0-2, valence, take 0-1) -> relative path, per reader kind
NAMERS = {
    "ravdess": lambda s, v, k: f"Actor_{s + 1:02d}/03-01-{ {'positive': '03', 'negative': '04', 'neutral': '01'}[v]}"
                               f"-01-0{k + 1}-01-{s + 1:02d}.wav",
    "tess": lambda s, v, k: (lambda spk, emo: f"{spk}_{emo}/{spk}_{['back', 'bite'][k]}_{emo}.wav")(
        ["OAF", "YAF"][s], {"positive": "happy", "negative": "sad", "neutral": "neutral"}[v]),
    "savee": lambda s, v, k: f"AudioData/{['DC', 'JE', 'JK'][s]}/"
                             f"{ {'positive': 'h', 'negative': 'sa', 'neutral': 'n'}[v]}0{k + 1}.wav",
    "crema-d": lambda s, v, k: f"AudioWAV/100{s + 1}_{['DFA', 'IEO'][k]}_"
                               f"{ {'positive': 'HAP', 'negative': 'ANG', 'neutral': 'NEU'}[v]}_XX.wav",
    "emodb": lambda s, v, k: f"wav/{['03', '08', '10'][s]}a0{k + 1}"
                             f"{ {'positive': 'F', 'negative': 'T', 'neutral': 'N'}[v]}a.wav",
}
BROKEN = {"ravdess": "Actor_01/03-01-05-01-02-02-01.wav", "tess": "OAF_angry/OAF_chat_angry.wav",
          "savee": "AudioData/DC/a01.wav", "crema-d": "AudioWAV/1001_TIE_ANG_HI.wav", "emodb": "wav/03b01Wa.wav"}


def make_corpus(root: Path, kind: str, speakers=(0, 1, 2)) -> Path:
    """Per speaker 2 positive + 2 negative clips; 1 neutral clip, 1 undecodable file, 1 badly named file."""
    for s in speakers:
        for v, valence in enumerate(("positive", "negative")):
            for take in (0, 1):
                write_tone(root / NAMERS[kind](s, valence, take), pitch(s, valence), seed=100 * s + 10 * v + take)
    write_tone(root / NAMERS[kind](0, "neutral", 0), pitch(0, "neutral"), seed=7)
    (root / BROKEN[kind]).parent.mkdir(parents=True, exist_ok=True)
    (root / BROKEN[kind]).write_bytes(b"RIFF this is not audio")
    write_tone(root / "misc" / "recording 1.wav", 440, seed=8)
    return root


def make_meld(root: Path) -> Path:
    lines = ["Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime"]
    n = 0
    for s, name in enumerate(["Ross", "Monica", "Joey"]):
        for valence, emotion in (("positive", "joy"), ("negative", "sadness"), ("positive", "surprise"),
                                 ("negative", "anger")):
            lines.append(f"{n + 1},Line {n}.,{name},{emotion},x,{n},0,1,1,\"00:00:01,000\",\"00:00:02,000\"")
            write_tone(root / "dev_splits_complete" / f"dia{n}_utt0.wav", pitch(s, valence), seed=n)
            n += 1
    lines.append(f"{n + 1},Fine.,Ross,neutral,neutral,{n},0,1,1,\"00:00:01,000\",\"00:00:02,000\"")
    write_tone(root / "dev_splits_complete" / f"dia{n}_utt0.wav", pitch(0, "neutral"), seed=n)
    lines.append(f"{n + 2},Gone.,Ross,joy,positive,{n + 1},0,1,1,\"00:00:01,000\",\"00:00:02,000\"")  # no clip
    lines.append(f"{n + 3},Broken.,Joey,anger,negative,{n + 2},0,1,1,\"00:00:01,000\",\"00:00:02,000\"")
    (root / "dev_splits_complete" / f"dia{n + 2}_utt0.wav").write_bytes(b"not audio")
    (root / "dev_sent_emo.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_tone(root / "dev_splits_complete" / "final_videos_testdia0_utt0.wav", 440, seed=99)  # bad name
    return root


def check_probe_record(record: dict, n_clips: int, n_speakers: int) -> None:
    assert [set(t) for t in record["tables"]] == [{"title", "columns", "rows", "note"}] * len(record["tables"])
    for table in record["tables"]:
        assert all(len(row) == len(table["columns"]) for row in table["rows"])
        assert all(isinstance(c, (str, int, float)) for row in table["rows"] for c in row)
    assert record["n_clips"] == n_clips and record["n_speakers"] == n_speakers
    assert record["class_balance"]["positive"] + record["class_balance"]["negative"] == n_clips
    probe = record["probe"]
    assert probe["n_folds"] == n_speakers and probe["validation"] == "leave-one-speaker-out"
    tested = [s for fold in probe["folds"] for s in fold["test_speakers"]]
    assert len(tested) == len(set(tested)) == n_speakers  # every speaker tested exactly once
    for fold in probe["folds"]:
        assert not set(fold["test_speakers"]) & set(fold["train_speakers"])
    # and clip by clip: a speaker's clips all sit in one fold
    folds_of = {}
    for clip in record["clips"]:
        folds_of.setdefault(clip["speaker"], set()).add(clip["fold"])
    assert all(len(f) == 1 for f in folds_of.values()) and len(folds_of) == n_speakers
    lr = probe["heads"]["logistic_regression"]
    assert lr["overall"]["n"] == n_clips and len(lr["per_fold"]) == n_speakers
    assert lr["overall"]["roc_auc"] > 0.8, lr["overall"]  # pitch follows valence: the probe hears it
    assert lr["overall"]["roc_points"]["fpr"][0] == 0
    # the pooled interval resamples whole speakers; a speaker-free fold interval resamples its clips
    assert (lr["overall"]["ci_resampling"], lr["overall"]["n_groups"]) == ("groups", n_speakers)
    assert lr["verdict"] == lr["overall"]["verdict"] != "inverted" and lr["warning"] is None
    assert record["zero_shot"] is None and record["weights"]["source"] == "random"


def test_a_corpus_in_several_folders_is_one_corpus(tmp_path):
    """RAVDESS as distributed in two folders (actors 1-2 and 3-4): --root twice, one probe over the four actors."""
    first = make_corpus(tmp_path / "a", "ravdess", speakers=(0, 1))
    second = make_corpus(tmp_path / "b", "ravdess", speakers=(2, 3))
    out = tmp_path / "out"
    assert main(["--root", str(first), "--root", str(second), "--out", str(out), *FAST]) == 0
    record = json.loads((out / "acted_evaluation.json").read_text())
    assert record["corpus"] == "ravdess" and record["root"] == f"{first}, {second}"
    check_probe_record(record, n_clips=16, n_speakers=4)
    tess = make_corpus(tmp_path / "t", "tess", speakers=(0, 1))
    assert main(["--root", str(first), "--root", str(tess), "--out", str(tmp_path / "mixed"), *FAST]) == 2


@pytest.mark.parametrize("kind", ["ravdess", "tess", "savee", "crema-d", "emodb"])
def test_probe_on_each_reader_kind(tmp_path, kind, capsys):
    n_speakers = 2 if kind == "tess" else 3  # TESS has two speakers
    root = make_corpus(tmp_path / "corpus", kind, speakers=range(n_speakers))
    out = tmp_path / "out"
    assert main(["--corpus", "auto", "--root", str(root), "--out", str(out), *FAST]) == 0
    record = json.loads((out / "acted_evaluation.json").read_text())
    assert record["corpus"] == kind and record["mode"] == "probe"
    check_probe_record(record, n_clips=4 * n_speakers, n_speakers=n_speakers)
    ex = record["excluded"]
    assert (ex["neutral"], ex["name_errors"], ex["decode_errors"], ex["unmapped"]) == (1, 1, 1, 0)
    assert ex["decode_error_files"][0]["path"].endswith(BROKEN[kind])
    assert ex["name_error_files"][0]["path"].endswith("recording 1.wav")
    md = (out / "acted_evaluation.md").read_text()
    assert f"{4 * n_speakers} clips, {n_speakers} speakers" in md
    assert f"| logistic_regression | {4 * n_speakers} |" in md
    printed = capsys.readouterr().out
    assert "### Probe: ROC AUC per fold" in printed and str(out / "acted_evaluation.json") in printed


def test_probe_on_meld(tmp_path):
    root = make_meld(tmp_path / "meld")
    out = tmp_path / "out"
    # The default map leaves surprise out (its valence is ambiguous): 3 of the 12 valenced clips; the record says so.
    assert main(["--corpus", "meld", "--root", str(root), "--out", str(out), *FAST]) == 0
    record = json.loads((out / "acted_evaluation.json").read_text())
    check_probe_record(record, n_clips=9, n_speakers=3)
    assert record["valence_map"]["name"] == "surprised-excluded" and "surprised" not in record["valence_map"]["table"]
    assert record["excluded"]["unmapped_emotions"] == {"surprised": 3}
    assert "map surprised-excluded" in (out / "acted_evaluation.md").read_text()
    assert main(["--corpus", "meld", "--root", str(root), "--out", str(out), "--valence-map", "surprised-positive",
                 *FAST]) == 0
    record = json.loads((out / "acted_evaluation.json").read_text())
    check_probe_record(record, n_clips=12, n_speakers=3)
    assert record["valence_map"]["name"] == "surprised-positive"
    ex = record["excluded"]
    # name errors: the clip with a bad name and the table row without a clip
    assert (ex["neutral"], ex["name_errors"], ex["decode_errors"]) == (1, 2, 1)
    assert {f["error"] for f in ex["name_error_files"]} >= {"no audio clip for dia13_utt0 (dev)"}


def test_class_per_folder_needs_speakers_for_a_probe(tmp_path, capsys):
    root = tmp_path / "folders"
    for i in range(3):
        write_tone(root / "Happy" / f"h{i}.wav", 500, seed=i)
        write_tone(root / "Sad" / f"s{i}.wav", 200, seed=10 + i)
    assert main(["--root", str(root), "--out", str(tmp_path / "out"), *FAST]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "no speaker" in err and "--mode zero-shot" in err
    assert not (tmp_path / "out").exists()


def test_bad_root_corpus_and_model_fail_with_one_line(tmp_path, capsys):
    assert main(["--root", str(tmp_path / "absent"), *FAST]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "x.wav").write_bytes(b"")
    assert main(["--root", str(tmp_path), *FAST]) == 2
    assert "known emotion-corpus convention" in capsys.readouterr().err
    root = make_corpus(tmp_path / "c", "ravdess", speakers=(0, 1))
    assert main(["--root", str(root), "--model", str(tmp_path / "nomodel"), *FAST]) == 2
    assert "is not a model folder" in capsys.readouterr().err
    assert main(["--root", str(root), "--mode", "zero-shot", *FAST]) == 2
    assert "--model" in capsys.readouterr().err
    bad_map = tmp_path / "map.json"
    bad_map.write_text('{"happy": "good"}')
    assert main(["--root", str(root), "--valence-map", str(bad_map), *FAST]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'happy'" in err
    single = make_corpus(tmp_path / "one", "ravdess", speakers=(0,))
    assert main(["--root", str(single), *FAST]) == 2
    assert "at least two speakers" in capsys.readouterr().err


def test_speaker_folds_and_dense_probe():
    speakers = np.array(["a", "a", "b", "b", "c", "c", "d", "d"] * 3)
    folds = speaker_folds(speakers)
    assert len(np.unique(folds)) == 4
    assert all(len(set(folds[speakers == s])) == 1 for s in "abcd")
    assert len(np.unique(speaker_folds(speakers, n_folds=2))) == 2
    with pytest.raises(ValueError, match="no speaker"):
        speaker_folds(np.array(["a", None, "b"], dtype=object))
    with pytest.raises(ValueError, match="at least 2"):
        speaker_folds(speakers, n_folds=1)
    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 12)
    X = np.stack([3 * y + 0.2 * rng.standard_normal(24), rng.standard_normal(24)], axis=1).astype(np.float32)
    info = describe_folds(speakers, folds, y)
    assert [i["n_test"] for i in info] == [6] * 4 and all(len(i["train_speakers"]) == 3 for i in info)
    config = HeadConfig(hidden_units=8, batch_size=6, learning_rate=0.05, max_epochs=8, patience=3)
    p = dense_probe_predictions(X, y, folds, speakers, config=config)
    assert p.shape == (24,) and np.isfinite(p).all() and ((0 <= p) & (p <= 1)).all()
    from sklearn.metrics import roc_auc_score
    assert roc_auc_score(y, p) > 0.9


@pytest.fixture(scope="module")
def tone_model(tmp_path_factory):
    """A valence model trained on tones of three other speakers (random VGG16, 1 s clips), saved as train does."""
    from transfer.features.vgg16 import Embedder, weights_record
    from transfer.head import train_dense_head
    from transfer.model import save_valence_model
    from transfer.model_record import ModelRecord
    from transfer.weights import resolve_vgg16_weights
    from weaklabel.logmel import LogMelParams, clip_logmel_for_files

    base = tmp_path_factory.mktemp("tone_model")
    paths, labels = [], []
    for s in (3, 4, 5):  # speakers the benchmark corpora never use
        for valence in ("positive", "negative"):
            for take in range(4):
                path = base / "train" / f"{s}_{valence}_{take}.wav"
                write_tone(path, pitch(s, valence), seed=1000 + 10 * s + take)
                paths.append(str(path))
                labels.append(int(valence == "positive"))
    params = LogMelParams()
    logmel, errors = clip_logmel_for_files(paths, 1.0, params)
    assert not any(errors)
    weights = resolve_vgg16_weights("random")
    # Global average pooling (256 values): 24 clips train a head on it.
    embedder = Embedder(weights, "block3_conv3", image_shape=logmel.shape[1:], pooling="gap")
    X = embedder.embed_logmel(logmel)
    y = np.array(labels)
    head, info = train_dense_head(X, y, X, y, HeadConfig(hidden_units=16, max_epochs=30, patience=10), seed=0)
    meta = {"format_version": 2, "backbone": "vgg16", "clip_seconds": 1.0, "sample_rate": SR, "log_mel": params.to_dict(),
            "image_version": 1, "layer": "block3_conv3", "weights": weights_record(weights),
            # the embedder's own pooling, so the saved model embeds as the head was trained
            "pooling": embedder.spec.pooling, "n_bands": embedder.spec.n_bands,
            "head_training": info, "trained_on": {"dataset": "synthetic tones of speakers 3-5"}}
    return save_valence_model(base / "model", head, ModelRecord.from_dict(meta))


def test_zero_shot_and_probe_with_a_model(tmp_path, tone_model):
    root = make_corpus(tmp_path / "corpus", "crema-d")
    out = tmp_path / "out"
    (root / "VideoDemographics.csv").write_text("ActorID,Age,Sex\n1001,30,Male\n1002,40,Female\n1003,25,Female\n")
    assert main(["--root", str(root), "--model", str(tone_model), "--out", str(out), "--bootstrap", "100",
                 "--quiet", "--probe-heads", "logistic_regression"]) == 0
    record = json.loads((out / "acted_evaluation.json").read_text())
    assert record["mode"] == "both" and record["features"]["clip_seconds"] == 1.0
    assert record["weights"]["source"] == "random" and record["features"]["layer"] == "block3_conv3"
    zs = record["zero_shot"]
    assert zs["speaker_disjoint"] is True and "never heard these speakers" in zs["note"]
    assert zs["overall"]["n"] == 12 and zs["overall"]["roc_auc"] > 0.8, zs["overall"]
    assert (zs["overall"]["ci_resampling"], zs["overall"]["n_groups"]) == ("groups", 3)  # speakers, not clips
    assert zs["verdict"] != "inverted" and zs["warning"] is None
    assert all(g["ci_resampling"] == "examples" for g in zs["by_speaker"])  # one speaker: its clips
    assert [g["ci_resampling"] for g in zs["by_gender"]] == ["groups", "examples"]  # two female speakers
    assert [g["group"] for g in zs["by_speaker"]] == ["1001", "1002", "1003"]
    assert [(g["group"], g["n"]) for g in zs["by_gender"]] == [("female", 8), ("male", 4)]
    assert [g["group"] for g in zs["by_intensity"]] == ["unspecified"]
    assert all(g["positive_share"] == 0.5 for g in zs["by_speaker"])
    assert record["probe"]["heads"]["logistic_regression"]["overall"]["n"] == 12
    titles = [t["title"] for t in record["tables"]]
    assert "Zero-shot: the trained model on this corpus" in titles
    assert "Zero-shot by speaker, gender and intensity" in titles
    assert all("p_zero_shot" in c and "fold" in c for c in record["clips"])
    md = (out / "acted_evaluation.md").read_text()
    assert "speaker-disjoint by construction" in md
    # Zero-shot needs no speakers: a class-per-folder corpus is scored, without a per-speaker breakdown.
    folders = tmp_path / "folders"
    for i in range(3):
        write_tone(folders / "Happy" / f"h{i}.wav", pitch(i, "positive"), seed=50 + i)
        write_tone(folders / "Sadness" / f"s{i}.wav", pitch(i, "negative"), seed=60 + i)
    assert main(["--root", str(folders), "--model", str(tone_model), "--mode", "zero-shot", "--out",
                 str(tmp_path / "out_folders"), "--bootstrap", "100", "--quiet"]) == 0
    record = json.loads((tmp_path / "out_folders" / "acted_evaluation.json").read_text())
    assert record["corpus"] == "folders" and record["n_speakers"] is None and record["probe"] is None
    assert record["zero_shot"]["overall"]["n"] == 6 and "by_speaker" not in record["zero_shot"]
    assert record["zero_shot"]["overall"]["ci_resampling"] == "examples"  # no speakers to resample
    assert "over clips (no speaker names to resample)" in record["tables"][1]["note"]
    # A clip length other than the model's is refused; so is another layer for zero-shot scoring.
    assert main(["--root", str(root), "--model", str(tone_model), "--clip-seconds", "7", *FAST[:2], "--quiet"]) == 2
    assert main(["--root", str(root), "--model", str(tone_model), "--layer", "block4_conv3", "--quiet"]) == 2


def test_an_inverted_zero_shot_result_is_flagged_with_its_speakers(tmp_path, tone_model):
    """A corpus whose voices say the opposite of the training speakers' (low pitch for positive): the model
    ranks its negative clips first, and every output says so instead of printing the AUC as a result."""
    from reporting.inputs import read_tables_file
    from reporting.sections.tables import _tables_html
    from foundation.metrics import INVERTED_TEXT

    root = tmp_path / "flipped"
    for s in range(5):
        for valence, voice in (("positive", "negative"), ("negative", "positive")):
            for take in (0, 1, 2):
                write_tone(root / NAMERS["ravdess"](s, valence, take), pitch(s, voice), seed=10 * s + take)
    out = tmp_path / "out"
    assert main(["--root", str(root), "--model", str(tone_model), "--mode", "zero-shot", "--out", str(out),
                 "--bootstrap", "200", "--quiet"]) == 0
    record = json.loads((out / "acted_evaluation.json").read_text())
    zs = record["zero_shot"]
    assert zs["overall"]["roc_auc"] < 0.2 and zs["overall"]["roc_auc_ci95"][1] < 0.5, \
        (zs["overall"], [(g["group"], g["roc_auc"]) for g in zs["by_speaker"]])
    assert zs["verdict"] == zs["overall"]["verdict"] == "inverted"
    assert INVERTED_TEXT in zs["warning"] and "Per speaker (5 of 5 below 0.5): actor01 0." in zs["warning"]
    tables = record["tables"]
    titles = [t["title"] for t in tables]
    k = titles.index("Zero-shot: the trained model on this corpus")
    assert tables[k]["warning"] == zs["warning"]
    assert tables[k]["rows"][0][tables[k]["columns"].index("verdict")] == "INVERTED (below chance)"
    # the per-speaker breakdown comes right after the inverted figure
    assert titles[k + 1] == "Zero-shot per speaker (the overall ranking is inverted)"
    assert [row[1] for row in tables[k + 1]["rows"]] == [f"actor0{s}" for s in range(1, 6)]
    md = (out / "acted_evaluation.md").read_text()
    assert md.count("> **Warning.** Zero-shot ROC AUC") == 1 and "1 result table(s) below show an inverted" in md
    assert md.index("> **Warning.** Zero-shot ROC AUC") < md.index("### Zero-shot: the trained model")
    html = _tables_html([read_tables_file(out / "acted_evaluation.json")])
    assert 'class="note warn"><strong>Warning.</strong> Zero-shot ROC AUC' in html and "actor02" in html


def test_report_flags_an_inverted_interval_in_tables_written_before_verdicts(tmp_path):
    from reporting.inputs import read_tables_file
    from reporting.sections.tables import _tables_html, inverted_rows

    old = {"title": "Zero-shot: the trained model on this corpus",
           "columns": ["model", "n", "positive", "positive share", "ROC AUC", "95% CI", "balanced accuracy"],
           "rows": [["build/demo/model", 336, 144, 0.429, 0.424, "[0.362, 0.486]", 0.473]], "note": ""}
    fine = {**old, "rows": [["other/model", 336, 144, 0.429, 0.61, "[0.55, 0.67]", 0.58]]}
    assert inverted_rows(old) == ["build/demo/model"] and inverted_rows(fine) == []
    path = tmp_path / "acted_evaluation.json"
    path.write_text(json.dumps({"tables": [old, fine]}))
    html = _tables_html([read_tables_file(path)])
    assert html.count('class="note warn"') == 1 and "build/demo/model: ROC AUC interval wholly below 0.5" in html


@requires_shared(RAVDESS)
def test_real_ravdess_probe_with_the_default_real_model(tmp_path):
    """Four real actors (two male, two female), 12 clips each, the default features (Whisper base, verified), 7 s
    clips."""
    subset = tmp_path / "ravdess"
    for actor in (1, 2, 3, 4):
        files = sorted((RAVDESS / f"Actor_{actor:02d}").glob("*.flac"))
        chosen = [f for f in files if f.name.split("-")[2] in ("03", "05")][:12] + \
            [f for f in files if f.name.split("-")[2] == "01"][:1]
        (subset / f"Actor_{actor:02d}").mkdir(parents=True)
        for f in chosen:
            (subset / f"Actor_{actor:02d}" / f.name).symlink_to(f)
    out = tmp_path / "out"
    assert main(["--corpus", "ravdess", "--root", str(subset), "--out", str(out), "--bootstrap", "200", "--quiet",
                 "--probe-heads", "logistic_regression"]) == 0
    record = json.loads((out / "acted_evaluation.json").read_text())
    assert record["weights"]["verified"] is True and record["features"]["clip_seconds"] == 7.0
    assert record["features"]["extractor"]["name"] == "whisper"
    assert record["features"]["extractor"]["note"].startswith("auto: whisper")
    assert record["n_clips"] == 48 and record["n_speakers"] == 4 and record["excluded"]["neutral"] == 4
    assert record["excluded"]["decode_errors"] == 0
    probe = record["probe"]
    assert [f["test_speakers"] for f in sorted(probe["folds"], key=lambda f: f["test_speakers"])] == \
        [["actor01"], ["actor02"], ["actor03"], ["actor04"]]
    lr = probe["heads"]["logistic_regression"]
    # Happy against angry within one actor is told apart by a head trained on the three others in most folds
    # (measured: 0.97, 1.0, 0.53, 1.0; pooled 0.88); the pooled AUC, across folds' scales, well above chance.
    assert sum(f["roc_auc"] > 0.8 for f in lr["per_fold"]) >= 3, lr["per_fold"]
    assert lr["overall"]["roc_auc"] > 0.75, lr["overall"]
    assert (lr["overall"]["ci_resampling"], lr["overall"]["n_groups"]) == ("groups", 4)
    assert sorted(g["group"] for g in lr["by_gender"]) == ["female", "male"]
