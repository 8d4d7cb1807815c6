"""A build's identity is its configuration and its corpus's content, never where the checkout is (issue 22, item 8)."""
from __future__ import annotations

import json
import shutil

import pytest
import soundfile as sf

from reporting import write_report
from weaklabel.build import BuildConfig, build_dataset
from weaklabel.config import FORMAT_VERSION, config_fingerprint
from weaklabel.errors import OutputConflictError
from weaklabel.logmel import LogMelParams

from .conftest import tone_bursts

FAST_MEL = LogMelParams(n_mels=16, n_fft=256, win_length=256, hop_length=256)
TEXTS, WAVS = "Raw/Transcript/Segmented/Combined", "Raw/Audio/Full/WAV_16000"


def config_for(root, **kw):
    return BuildConfig(corpus="mosei", root=str(root), mel=FAST_MEL, **kw)


def record(out) -> dict:
    return json.loads((out / "build.json").read_text())


def test_the_fingerprint_and_the_report_do_not_depend_on_where_the_corpus_is(small_mosei, tmp_path, monkeypatch):
    checkouts = [tmp_path / "a", tmp_path / "elsewhere" / "b"]
    reports = []
    for checkout in checkouts:
        shutil.copytree(small_mosei, checkout / "corpus")  # the same content, at another absolute path
        build_dataset(config_for(checkout / "corpus"), checkout / "ds", workers=1)
        monkeypatch.chdir(checkout)  # reports are made from the checkout's root, as benchmarks.refresh does
        reports.append(write_report("ds", "report.html").read_bytes())
    a, b = (record(checkout / "ds") for checkout in checkouts)
    assert a["config"]["root"] != b["config"]["root"]  # the record still says where the corpus was read
    assert a["fingerprint"] == b["fingerprint"] and config_fingerprint(a["config"]) == config_fingerprint(b["config"])
    assert a["units"] == b["units"] and not any(str(tmp_path) in unit["unit"] for unit in a["units"])
    assert reports[0] == reports[1] and str(tmp_path).encode() not in reports[0]


def test_the_fingerprint_holds_the_corpus_content(small_mosei, tmp_path):
    """Another transcript or other audio is another build, under the same configuration: a model trained on the
    build before is stale (its metrics record the old fingerprint)."""
    out = tmp_path / "out"
    first = build_dataset(config_for(small_mosei), out, workers=1)
    assert first.fingerprint != first.config.fingerprint()  # the configuration's alone is not the build's
    text = small_mosei / TEXTS / "vid2.txt"
    text.write_text(text.read_text().replace("I absolutely love this wonderful film", "I hate this dreadful film"))
    edited = build_dataset(config_for(small_mosei), out, workers=1)
    assert edited.recordings_processed == 1 and edited.fingerprint != first.fingerprint
    assert edited.config.fingerprint() == first.config.fingerprint()
    sf.write(small_mosei / WAVS / "vid4.wav", tone_bursts(12.0, [(0.5, 3.0)], freq=3000.0), 16000, subtype="PCM_16")
    replaced = build_dataset(config_for(small_mosei), out, workers=1)
    assert replaced.recordings_processed == 1 and replaced.fingerprint not in (first.fingerprint, edited.fingerprint)


def test_another_corpus_or_an_older_format_is_never_taken_for_up_to_date(small_mosei, tmp_path):
    out = tmp_path / "out"
    build_dataset(config_for(small_mosei), out, workers=1)
    other = tmp_path / "other"
    shutil.copytree(small_mosei, other)
    text = other / TEXTS / "vid0.txt"
    text.write_text(text.read_text().replace("I absolutely love this wonderful film", "I hate this dreadful film"))
    with pytest.raises(OutputConflictError, match="root"):  # as before: another corpus needs --overwrite
        build_dataset(config_for(other), out, workers=1)
    replaced = build_dataset(config_for(other), out, workers=1, overwrite=True)
    assert not replaced.up_to_date
    assert replaced.segments.set_index("segment_id").loc["vid0_0", "text"].startswith("I hate")

    # A build made under the previous definition of the fingerprint (format 3: absolute root in it) is named, not
    # resumed or taken for current.
    old = record(out)
    old["format_version"] = old["config"]["format_version"] = FORMAT_VERSION - 1
    (out / "build.json").write_text(json.dumps(old))
    with pytest.raises(OutputConflictError, match=f"format {FORMAT_VERSION - 1}"):
        build_dataset(config_for(other), out, workers=1)
    rebuilt = build_dataset(config_for(other), out, workers=1, overwrite=True)
    assert not rebuilt.up_to_date and record(out)["format_version"] == FORMAT_VERSION
