import os
import struct
import numpy as np
import pytest
import soundfile as sf
import soxr

from weaklabel.audio import AudioDecodeError, AudioReader, place_in_clip, plan_clip, segment_rng


def test_segment_rng_depends_only_on_seed_and_id():
    a = segment_rng(1, "v_1").integers(0, 10**9, 5)
    assert np.array_equal(a, segment_rng(1, "v_1").integers(0, 10**9, 5))
    assert not np.array_equal(a, segment_rng(2, "v_1").integers(0, 10**9, 5))
    assert not np.array_equal(a, segment_rng(1, "v_2").integers(0, 10**9, 5))


def test_plan_crops_long_segments_inside_the_segment():
    offsets = set()
    for k in range(30):
        plan = plan_clip(10.0, 25.0, 60.0, 7.0, segment_rng(0, f"s{k}"))
        assert plan.pad_left_samples == 0 and plan.clip_samples == 112000
        assert 10.0 <= plan.source_start_s and plan.source_end_s <= 25.0 + 1e-9
        assert plan.source_samples == 112000
        offsets.add(round(plan.source_start_s, 3))
    assert len(offsets) > 20  # random offsets, not always the start


def test_plan_pads_short_segments_at_random_offsets():
    pads = set()
    for k in range(30):
        plan = plan_clip(1.0, 3.0, 60.0, 7.0, segment_rng(0, f"s{k}"))
        assert (plan.source_start_s, plan.source_end_s) == (1.0, 3.0)
        assert 0 <= plan.pad_left_samples <= 112000 - 32000
        pads.add(plan.pad_left_samples)
    assert len(pads) > 20


def test_plan_cuts_at_end_and_rejects_outside():
    plan = plan_clip(8.0, 12.0, 10.0, 7.0, segment_rng(0, "x"))
    assert plan.cut_at_end and plan.source_end_s == pytest.approx(10.0)
    assert plan_clip(10.0, 12.0, 10.0, 7.0, segment_rng(0, "x")) is None
    assert plan_clip(11.0, 12.0, 10.0, 7.0, segment_rng(0, "x")) is None


def test_place_in_clip():
    plan = plan_clip(0.0, 1.0, 5.0, 2.0, segment_rng(0, "y"), sr=16000)
    clip = place_in_clip(np.ones(16000, np.float32), plan)
    assert clip.shape == (32000,) and clip.sum() == 16000
    assert clip[plan.pad_left_samples] == 1 and (plan.pad_left_samples == 0 or clip[plan.pad_left_samples - 1] == 0)


def _ramp_file(path, sr, channels=1, fmt=None, subtype=None, seconds=6.0):
    """A file whose left channel is a 220 Hz tone; right channel (if any) is silent."""
    t = np.arange(int(seconds * sr)) / sr
    tone = 0.5 * np.sin(2 * np.pi * 220 * t)
    data = tone if channels == 1 else np.stack([tone, np.zeros_like(tone)], axis=1)
    sf.write(path, data, sr, format=fmt, subtype=subtype)
    return tone


@pytest.mark.parametrize("suffix,sr,channels,subtype", [
    (".wav", 16000, 1, "PCM_16"), (".wav", 44100, 2, "PCM_16"), (".flac", 48000, 1, "PCM_24"),
    (".ogg", 22050, 1, "VORBIS"), (".mp3", 44100, 2, "MPEG_LAYER_III"),
])
def test_reader_decodes_spans_to_mono_16k(tmp_path, suffix, sr, channels, subtype):
    path = tmp_path / f"a{suffix}"
    tone = _ramp_file(path, sr, channels, subtype=subtype)
    with AudioReader(str(path)) as reader:
        assert reader.native_sr == sr and reader.channels == channels
        span = reader.read_span(2.0, 3.5)
    assert span.dtype == np.float32 and span.shape == (24000,)
    expected = soxr.resample(tone[int(2.0 * sr):int(3.5 * sr)].astype(np.float32), sr, 16000)
    expected = expected / (2 if channels == 2 else 1)  # mono = mean of channels
    # Lossy codecs and resampler edges differ a little; the waveform must match in the middle.
    mid = slice(2000, 22000)
    corr = np.corrcoef(span[mid], expected[mid])[0, 1]
    assert corr > 0.98
    assert np.sqrt(np.mean(span[mid] ** 2)) == pytest.approx(np.sqrt(np.mean(expected[mid] ** 2)), rel=0.1)


def test_reader_rejects_garbage(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00garbage" * 10)
    with pytest.raises(AudioDecodeError, match="cannot open audio"):
        AudioReader(str(bad))


def test_reader_on_truncated_wav_returns_what_is_there(tmp_path):
    path = tmp_path / "t.wav"
    sf.write(path, np.full(16000 * 4, 0.25, np.float32), 16000, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: 44 + 2 * 16000 * 2])  # keep 2 s of the 4 s the header declares
    with AudioReader(str(path)) as reader:
        assert reader.duration_s == pytest.approx(4.0) or reader.duration_s == pytest.approx(2.0)
        partial = reader.read_span(1.5, 3.0)
        beyond = reader.read_span(2.5, 3.5)
    assert 0 < len(partial) <= 8000 + 1 and np.allclose(partial, 0.25, atol=1e-3)
    assert len(beyond) == 0


def test_centred_clip():
    from weaklabel.audio import centred_clip

    short = centred_clip(np.ones(4, np.float32), 10)
    assert short.tolist() == [0, 0, 0, 1, 1, 1, 1, 0, 0, 0]
    long = centred_clip(np.arange(10, dtype=np.float32), 4)
    assert long.tolist() == [3, 4, 5, 6]


@pytest.mark.parametrize("kind", ["fifo", "device", "loop", "folder"])
def test_reader_and_hash_refuse_what_is_not_a_regular_file_without_opening_it(tmp_path, kind):
    # Issue 21, items 2 and 3: opening a FIFO waits for a writer forever; /dev/zero never ends.
    from foundation.digests import file_sha256
    from foundation.paths import NotRegularFileError
    from weaklabel.containers import ContainerAudio, ContainerError

    path = tmp_path / "talk.wav"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "loop":
        path.symlink_to(path)
    else:
        path.mkdir()
    words = {"fifo": "FIFO", "device": "character device", "loop": "symbolic links", "folder": "directory"}[kind]
    with pytest.raises(AudioDecodeError, match=words):
        AudioReader(str(path))
    with pytest.raises(ContainerError, match=words):
        ContainerAudio(str(path))
    with pytest.raises(NotRegularFileError, match=words):
        file_sha256(path)


def _wav_with_data_size(path, declared, subtype="PCM_16", channels=1, seconds=4.0, sr=16000, trailer=b""):
    """A WAV of ``seconds`` of a ramp whose data chunk header says ``declared`` bytes (None: as written),
    with ``trailer`` after the audio; returns the samples as libsndfile reads the intact file."""
    samples = np.linspace(-0.5, 0.5, int(seconds * sr) * channels, dtype=np.float32).reshape(-1, channels)
    sf.write(path, samples, sr, subtype=subtype)
    intact, _ = sf.read(path, dtype="float32", always_2d=True)
    data = bytearray(path.read_bytes())
    at = data.find(b"data")
    if declared is not None:
        data[at + 4:at + 8] = struct.pack("<I", declared)
    path.write_bytes(bytes(data) + trailer)
    return intact


@pytest.mark.parametrize("declared,subtype,channels", [
    (0, "PCM_16", 1), (0, "PCM_24", 2), (0, "FLOAT", 1), (32000, "PCM_16", 1), (0xFFFFFFFF, "PCM_16", 1),
])
def test_wav_whose_header_understates_its_data_is_measured(tmp_path, declared, subtype, channels):
    # Issue 21, item 8: a WAV whose data chunk says 0 bytes (what streaming writers leave) but holds 4 s of audio
    # was "0.000 s long"; one whose header was last updated at 1 s read as 1 s.
    path = tmp_path / "stream.wav"
    intact = _wav_with_data_size(path, declared, subtype, channels)
    with AudioReader(str(path)) as reader:
        assert reader.duration_s == pytest.approx(4.0)
        assert reader.native_frames == len(intact)
        if declared != 0xFFFFFFFF:  # libsndfile reads that placeholder as "to the end" itself
            assert "data chunk" in reader.length_note and "4.000 s" in reader.length_note
        span = reader.read_span(3.0, 4.0)
    with _reader_of(tmp_path, intact, subtype) as proper:
        assert np.array_equal(span, proper.read_span(3.0, 4.0))  # the same samples as the intact file's


def _reader_of(tmp_path, samples, subtype):
    sf.write(tmp_path / "intact.wav", samples, 16000, subtype=subtype)
    return AudioReader(str(tmp_path / "intact.wav"))


@pytest.mark.parametrize("trailer", [b"LIST\x04\x00\x00\x00INFO", b"\x00" * 512])
def test_wav_with_a_chunk_or_padding_after_its_data_keeps_its_declared_length(tmp_path, trailer):
    path = tmp_path / "tagged.wav"
    _wav_with_data_size(path, None, trailer=trailer)
    with AudioReader(str(path)) as reader:
        assert reader.duration_s == pytest.approx(4.0) and reader.length_note == ""
