"""Emotion corpus readers: file-name conventions, valence tables, auto-detection, MELD, summaries."""
import json
from pathlib import Path

import pandas as pd
import pytest

from evaluation.acted_corpora import (CORPUS_COLUMNS, DEFAULT_VALENCE, VALENCE_MAPS, EMOTION_CORPUS_KINDS,
                                      canonical_emotion, corpus_summary, default_valence, detect_corpus_kind, load_valence_table,
                                      read_emotion_corpus, read_ravdess, valence_table_markdown)
from weaklabel.errors import CorpusError

from .conftest import SHARED_DATA, requires_shared

RAVDESS = SHARED_DATA / "ravdess_actors_01-06"


def touch(root: Path, *names: str) -> Path:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    return root


def by_name(frame: pd.DataFrame) -> dict:
    return {Path(r["path"]).name if r["path"] else None: r for r in frame.to_dict("records")}


def assert_bad(row):
    assert row["error"] and pd.isna(row["emotion"]) and pd.isna(row["valence"])


def test_tess(tmp_path):
    touch(tmp_path, "OAF_angry/OAF_back_angry.wav", "YAF_pleasant_surprised/YAF_bite_ps.wav",
          "OAF_Pleasant_surprise/OAF_youth_Pleasant_surprise.WAV", "YAF_fear/YAF_chat_fear.flac",
          "YAF_neutral/YAF_home_neutral.wav", "OAF_x/OAF_back_bored.wav", "OAF_x/ZZZ_back_angry.wav", "notes.txt")
    df = read_emotion_corpus("tess", tmp_path)
    assert list(df.columns) == list(CORPUS_COLUMNS) and len(df) == 7 and set(df["corpus"]) == {"tess"}
    rows = by_name(df)
    angry = rows["OAF_back_angry.wav"]
    assert (angry["speaker"], angry["gender"], angry["emotion"], angry["emotion_code"], angry["statement"],
            angry["valence"]) == ("OAF", "female", "angry", "angry", "back", "negative")
    assert (rows["YAF_bite_ps.wav"]["emotion"], rows["YAF_bite_ps.wav"]["valence"]) == ("pleasant_surprise", "positive")
    assert rows["OAF_youth_Pleasant_surprise.WAV"]["emotion"] == "pleasant_surprise"
    assert rows["YAF_chat_fear.flac"]["emotion"] == "fearful" and rows["YAF_home_neutral.wav"]["valence"] == "neutral"
    assert_bad(rows["OAF_back_bored.wav"])  # unknown emotion code
    assert_bad(rows["ZZZ_back_angry.wav"])  # unknown speaker: not the convention


def test_savee_flat_and_speaker_folders(tmp_path):
    touch(tmp_path / "flat", "DC_a01.wav", "JE_sa03.wav", "KL_su15.wav", "JK_n30.wav", "DC_x01.wav", "XX_a01.wav")
    rows = by_name(read_emotion_corpus("savee", tmp_path / "flat"))
    assert (rows["DC_a01.wav"]["speaker"], rows["DC_a01.wav"]["gender"], rows["DC_a01.wav"]["emotion"],
            rows["DC_a01.wav"]["statement"]) == ("DC", "male", "angry", "01")
    assert rows["JE_sa03.wav"]["emotion"] == "sad" and rows["KL_su15.wav"]["emotion"] == "surprised"
    assert rows["JK_n30.wav"]["valence"] == "neutral"
    assert_bad(rows["DC_x01.wav"]) and rows["DC_x01.wav"]["speaker"] == "DC"
    assert_bad(rows["XX_a01.wav"])
    touch(tmp_path / "nested", "AudioData/DC/a01.wav", "AudioData/JK/h02.wav", "AudioData/JK/f05.wav",
          "AudioData/JK/d01.wav", "AudioData/other/a01.wav")
    df = read_emotion_corpus("savee", tmp_path / "nested")
    good = df[df["error"].isna()].set_index("statement", drop=False)
    assert sorted(zip(good["speaker"], good["emotion"])) == [("DC", "angry"), ("JK", "disgust"), ("JK", "fearful"),
                                                             ("JK", "happy")]
    assert df["error"].notna().sum() == 1  # a01.wav outside a speaker folder


def test_crema_d_levels_and_demographics(tmp_path):
    touch(tmp_path, "AudioWAV/1001_DFA_ANG_XX.wav", "AudioWAV/1002_IEO_HAP_HI.wav", "AudioWAV/1003_TIE_SAD_LO.wav",
          "AudioWAV/1001_IEO_NEU_MD.wav", "AudioWAV/1001_DFA_XYZ_XX.wav", "AudioWAV/1001-DFA-ANG-XX.wav")
    rows = by_name(read_emotion_corpus("crema-d", tmp_path))
    first = rows["1001_DFA_ANG_XX.wav"]
    assert (first["speaker"], first["statement"], first["emotion"], first["emotion_code"], first["intensity"],
            first["valence"]) == ("1001", "DFA", "angry", "ANG", "unspecified", "negative")
    assert first["gender"] is None  # no demographics table: unknown, not guessed
    assert rows["1002_IEO_HAP_HI.wav"]["intensity"] == "high" and rows["1003_TIE_SAD_LO.wav"]["intensity"] == "low"
    assert rows["1001_IEO_NEU_MD.wav"]["intensity"] == "medium"
    assert_bad(rows["1001_DFA_XYZ_XX.wav"])
    assert_bad(rows["1001-DFA-ANG-XX.wav"])
    (tmp_path / "VideoDemographics.csv").write_text("ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not "
                                                    "Hispanic\n1002,21,Female,Caucasian,Not Hispanic\n")
    rows = by_name(read_emotion_corpus("crema-d", tmp_path))
    assert [rows[n]["gender"] for n in ("1001_DFA_ANG_XX.wav", "1002_IEO_HAP_HI.wav", "1003_TIE_SAD_LO.wav")] == \
        ["male", "female", None]


def test_emodb(tmp_path):
    touch(tmp_path, "wav/03a01Fa.wav", "wav/08b02Wb.wav", "wav/10a04Lc.wav", "wav/13a05Nb.wav", "wav/16b10Ea.wav",
          "wav/11b03Aa.wav", "wav/14a07Tc.wav", "wav/03a01Xa.wav", "wav/3a01Fa.wav")
    rows = by_name(read_emotion_corpus("emodb", tmp_path))
    happy = rows["03a01Fa.wav"]
    assert (happy["speaker"], happy["gender"], happy["statement"], happy["emotion"], happy["take"],
            happy["valence"]) == ("03", "male", "a01", "happy", "a", "positive")
    assert (rows["08b02Wb.wav"]["emotion"], rows["08b02Wb.wav"]["gender"]) == ("angry", "female")
    assert (rows["10a04Lc.wav"]["emotion"], rows["10a04Lc.wav"]["valence"]) == ("boredom", "negative")
    assert rows["13a05Nb.wav"]["valence"] == "neutral" and rows["16b10Ea.wav"]["emotion"] == "disgust"
    assert rows["11b03Aa.wav"]["emotion"] == "fearful" and rows["14a07Tc.wav"]["emotion"] == "sad"
    assert_bad(rows["03a01Xa.wav"])
    assert_bad(rows["3a01Fa.wav"])


def test_class_per_folder(tmp_path):
    touch(tmp_path, "Angry/a.wav", "Happy/b.wav", "happiness/c.flac", "Sad/deep/d.wav", "Neutral/e.wav",
          "Fearful/f.wav", "Contempt/g.wav", "loose.wav")
    df = read_emotion_corpus("folders", tmp_path)
    rows = by_name(df)
    assert rows["a.wav"]["emotion"] == "angry" and rows["a.wav"]["emotion_code"] == "Angry"
    assert rows["b.wav"]["emotion"] == rows["c.flac"]["emotion"] == "happy"
    assert rows["d.wav"]["emotion"] == "sad" and rows["f.wav"]["emotion"] == "fearful"
    assert df["speaker"].isna().all()
    assert rows["g.wav"]["emotion"] == "contempt" and pd.isna(rows["g.wav"]["valence"])
    assert_bad(rows["loose.wav"])
    summary = corpus_summary(df)
    assert summary["unmapped"] == 1 and summary["unmapped_emotions"] == {"contempt": 1}
    assert summary["usable_clips"] == 5 and summary["speakers"] is None and summary["neutral_excluded"] == 1


MELD_HEADER = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"


def test_meld_table_and_clips(tmp_path):
    (tmp_path / "dev_sent_emo.csv").write_text(
        MELD_HEADER
        + '1,"Oh my God, he’s lost it.",Phoebe,sadness,negative,0,0,4,7,"00:20:57,256","00:21:00,049"\n'
        + "2,What?,Monica,surprise,negative,0,1,4,7,\"00:21:01,927\",\"00:21:03,261\"\n"
        + "3,You’re a genius!,Chandler,joy,positive,1,1,4,4,\"00:12:32,334\",\"00:12:33,960\"\n"
        + "4,Okay.,Ross,neutral,neutral,2,0,4,4,\"00:12:32,334\",\"00:12:33,960\"\n", encoding="utf-8")
    touch(tmp_path, "dev_splits_complete/dia0_utt0.wav", "dev_splits_complete/dia0_utt1.flac",
          "dev_splits_complete/dia2_utt0.wav", "dev_splits_complete/dia9_utt9.wav",
          "dev_splits_complete/final_videos_test.wav")
    df = read_emotion_corpus("meld", tmp_path)
    assert {"dialogue", "utterance", "text", "split"} <= set(df.columns)
    rows = by_name(df)
    sad = rows["dia0_utt0.wav"]
    assert (sad["speaker"], sad["emotion"], sad["emotion_code"], sad["valence"], sad["dialogue"], sad["utterance"]) \
        == ("Phoebe", "sad", "sadness", "negative", 0, 0)
    assert sad["text"].startswith("Oh my God") and sad["error"] is None
    # surprise has no valence under the default map (it is excluded, as unmapped); the old map counted it positive
    assert rows["dia0_utt1.flac"]["emotion"] == "surprised" and pd.isna(rows["dia0_utt1.flac"]["valence"])
    old_map = read_emotion_corpus("meld", tmp_path, VALENCE_MAPS["surprised-positive"])
    assert by_name(old_map)["dia0_utt1.flac"]["valence"] == "positive"
    assert rows["dia2_utt0.wav"]["valence"] == "neutral"
    assert "no row for dia9_utt9" in rows["dia9_utt9.wav"]["error"]
    assert_bad(rows["final_videos_test.wav"])
    missing = df[df["path"].isna()]
    assert len(missing) == 1 and missing.iloc[0]["error"] == "no audio clip for dia1_utt1 (dev)"
    assert missing.iloc[0]["speaker"] == "Chandler"
    summary = corpus_summary(df)
    assert summary["usable_clips"] == 1 and summary["name_errors"] == 3 and summary["neutral_excluded"] == 1
    assert summary["unmapped_emotions"] == {"surprised": 1}
    assert [None, "no audio clip for dia1_utt1 (dev)"] in summary["errors"]
    assert detect_corpus_kind(tmp_path) == "meld"


def test_meld_without_table_is_a_corpus_error(tmp_path):
    touch(tmp_path, "dia0_utt0.wav")
    with pytest.raises(CorpusError, match="sent_emo"):
        read_emotion_corpus("meld", tmp_path)


def test_valence_tables(tmp_path):
    assert DEFAULT_VALENCE["boredom"] == "negative" and default_valence() == DEFAULT_VALENCE
    assert default_valence() is not DEFAULT_VALENCE
    assert "| positive | calm, happy, pleasant_surprise |" in valence_table_markdown()
    assert "| none (excluded) | surprised |" in valence_table_markdown()
    assert "| positive | calm, happy, surprised, pleasant_surprise |" in valence_table_markdown(
        VALENCE_MAPS["surprised-positive"])
    assert canonical_emotion("Happiness") == "happy" and canonical_emotion("Pleasant surprise") == "pleasant_surprise"
    override = tmp_path / "valence.json"
    override.write_text(json.dumps({"surprised": "neutral", "Contempt": "negative", "calm": None}))
    table = load_valence_table(override)
    assert table["surprised"] == "neutral" and table["contempt"] == "negative" and "calm" not in table
    assert table["happy"] == "positive"
    touch(tmp_path / "c", "03-01-02-01-01-01-01.wav", "03-01-08-01-01-01-01.wav", "03-01-03-01-01-01-01.wav")
    df = read_emotion_corpus("ravdess", tmp_path / "c", valence=table)
    rows = by_name(df)
    assert pd.isna(rows["03-01-02-01-01-01-01.wav"]["valence"])  # calm removed: unmapped
    assert rows["03-01-08-01-01-01-01.wav"]["valence"] == "neutral"
    summary = corpus_summary(df)
    assert (summary["unmapped"], summary["neutral_excluded"], summary["usable_clips"]) == (1, 1, 1)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"happy": "positive", "sad": "bad"}))
    with pytest.raises(ValueError, match="'sad'"):
        load_valence_table(bad)
    bad.write_text(json.dumps(["happy"]))
    with pytest.raises(ValueError, match="JSON object"):
        load_valence_table(bad)
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_valence_table(bad)
    with pytest.raises(ValueError, match="cannot read"):
        load_valence_table(tmp_path / "absent.json")


@pytest.mark.parametrize("kind,names", [
    ("ravdess", ["Actor_01/03-01-03-01-01-01-01.wav", "Actor_02/03-01-04-01-01-01-02.wav"]),
    ("tess", ["OAF_angry/OAF_back_angry.wav", "YAF_happy/YAF_back_happy.wav"]),
    ("savee", ["DC_a01.wav", "JE_h01.wav"]),
    ("savee", ["AudioData/DC/a01.wav", "AudioData/JE/h01.wav"]),
    ("crema-d", ["1001_DFA_ANG_XX.wav", "1002_DFA_HAP_XX.wav"]),
    ("emodb", ["wav/03a01Fa.wav", "wav/08a01Wa.wav"]),
    ("folders", ["Angry/x.wav", "Happy/y.wav"]),
])
def test_auto_detection_by_majority(tmp_path, kind, names):
    touch(tmp_path, *names, "odd_name.wav")
    assert detect_corpus_kind(tmp_path) == kind
    df = read_emotion_corpus("auto", tmp_path)
    assert df.attrs["corpus"] == kind and (df["corpus"] == kind).all()
    assert df["error"].notna().sum() == 1 and corpus_summary(df)["usable_clips"] == 2


def test_auto_detection_and_roots_fail_clearly(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        read_emotion_corpus("auto", tmp_path / "absent")
    with pytest.raises(CorpusError, match="no audio"):
        read_emotion_corpus("ravdess", tmp_path)
    touch(tmp_path, "hello.wav", "world.flac")
    with pytest.raises(CorpusError, match="known emotion-corpus convention"):
        read_emotion_corpus("auto", tmp_path)
    with pytest.raises(CorpusError, match="unknown emotion corpus kind"):
        read_emotion_corpus("iemocap", tmp_path)
    assert EMOTION_CORPUS_KINDS[-1] == "auto"


def test_corpus_summary_counts_errors(tmp_path):
    touch(tmp_path, "03-01-03-01-01-01-01.wav", "03-01-04-01-01-01-02.wav", "03-01-05-02-01-01-02.wav",
          "03-01-01-01-01-01-01.wav", "bad.wav", "03-01-09-01-01-01-01.wav")
    summary = corpus_summary(read_ravdess(tmp_path))
    assert summary["files"] == 6 and summary["usable_clips"] == 3 and summary["speakers"] == 2
    assert (summary["positive"], summary["negative"]) == (1, 2) and summary["positive_share"] == pytest.approx(1 / 3)
    assert summary["neutral_excluded"] == 1 and summary["name_errors"] == 2
    assert sorted(Path(p).name for p, _ in summary["errors"]) == ["03-01-09-01-01-01-01.wav", "bad.wav"]
    json.dumps(summary)


@requires_shared(RAVDESS)
def test_real_ravdess_flac_actors():
    df = read_emotion_corpus("auto", RAVDESS)
    assert df.attrs["corpus"] == "ravdess" and len(df) == 360 and df["error"].isna().all()
    assert all(p.endswith(".flac") for p in df["path"])
    genders = df.groupby("speaker")["gender"].agg(set).to_dict()
    assert sorted(genders) == [f"actor{i:02d}" for i in range(1, 7)]
    assert [genders[f"actor{i:02d}"] for i in range(1, 7)] == [{"male"}, {"female"}] * 3
    assert set(df["intensity"]) == {"normal", "strong"}
    summary = corpus_summary(df)
    # 60 clips per actor: 4 neutral, 8 of each other emotion; surprised (48) excluded by the default map
    assert (summary["usable_clips"], summary["speakers"], summary["positive"], summary["negative"],
            summary["neutral_excluded"], summary["unmapped_emotions"]) == (288, 6, 96, 192, 24, {"surprised": 48})


def test_symlinked_actor_folders_are_followed_once_without_loops(tmp_path):
    real = touch(tmp_path / "store" / "Actor_01", "03-01-03-01-01-01-01.wav", "03-01-04-01-01-01-01.wav")
    root = tmp_path / "ravdess"
    root.mkdir()
    (root / "Actor_01").symlink_to(real, target_is_directory=True)
    (real / "back").symlink_to(root, target_is_directory=True)  # a cycle through the link
    df = read_emotion_corpus("ravdess", root)
    assert sorted(Path(p).name for p in df["path"]) == ["03-01-03-01-01-01-01.wav", "03-01-04-01-01-01-01.wav"]
    assert set(df["emotion"]) == {"happy", "sad"}
