"""The build's log-mel (only frames that hold audio are transformed) equals librosa's on the whole clip."""
import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from weaklabel.audio import ClipPlan, place_in_clip
from weaklabel.features import LogMelParams, audio_frames, hann_window, log_mel_placed, log_mel_spectrogram, \
    mel_filter_bank, power_to_db, silence_db


@pytest.mark.parametrize("params", [LogMelParams(), LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=512),
                                    LogMelParams(n_mels=40, n_fft=400, win_length=300, hop_length=160)],
                         ids=["default", "hop-equals-fft", "short-window"])
def test_placed_log_mel_equals_librosa_on_the_whole_clip(params):
    rng = np.random.default_rng(3)
    n_samples = 7 * 16000
    cases = [(1, 0), (1, n_samples - 1), (n_samples, 0), (n_samples + 500, 0), (5000, n_samples - 2000),
             (16000, 40000), (40000, 123), (0, 100)]
    spans = [(0.3 * rng.standard_normal(n)).astype(np.float32) for n, _ in cases]
    pads = [left for _, left in cases]
    clips = np.stack([place_in_clip(s, ClipPlan(0.0, 0.0, p, n_samples, False)) for s, p in zip(spans, pads)])
    with threadpool_limits(limits=1):
        expected = log_mel_spectrogram(clips, params)
        got = log_mel_placed(spans, pads, n_samples, params)
        stored = log_mel_placed(spans, pads, n_samples, params, out=np.empty(expected.shape, np.float16))
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()
    assert stored.tobytes() == expected.astype(np.float16).tobytes()
    assert np.all(got[-1] == silence_db(params)) and silence_db(params) == pytest.approx(-100.0)


def test_audio_frames_are_the_frames_a_span_touches():
    params = LogMelParams()  # n_fft 1024, hop 256: frame t covers [256 t - 512, 256 t + 512)
    assert audio_frames(0, 1, 112000, params) == (0, 3)
    assert audio_frames(1000, 10, 112000, params) == (2, 6)
    assert audio_frames(0, 0, 112000, params)[0] == audio_frames(0, 0, 112000, params)[1]
    first, stop = audio_frames(111999, 1, 112000, params)
    assert stop == params.n_frames(112000) and first == stop - 2


@pytest.mark.parametrize("clip_seconds", [0.05, 0.3, 7.0])
def test_short_spans_and_short_clips_match_librosa_too(clip_seconds):
    # Small matrix products round differently in OpenBLAS: a block of a few frames, or a clip of a few, must
    # still give librosa's bits (librosa's own, clip by clip: for clips of a few frames its batched projection
    # is itself a small product whose rounding depends on the batch).
    params = LogMelParams()
    n_samples = int(clip_seconds * 16000)
    rng = np.random.default_rng(5)
    spans = [(0.3 * rng.standard_normal(n)).astype(np.float32) for n in (1, 7, 300, 2000)]
    pads = [n_samples // 2, 0, n_samples // 3, 0]
    clips = np.stack([place_in_clip(s, ClipPlan(0.0, 0.0, p, n_samples, False)) for s, p in zip(spans, pads)])
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # librosa: n_fft larger than a 0.05 s clip
        for i in range(len(spans)):  # one clip at a time: the smallest blocks
            assert log_mel_placed(spans[i:i + 1], pads[i:i + 1], n_samples, params).tobytes() == \
                log_mel_spectrogram(clips[i:i + 1], params).tobytes()


@pytest.mark.parametrize("params", [LogMelParams(), LogMelParams(n_mels=64, n_fft=512, win_length=400, fmin=0.0),
                                    LogMelParams(n_mels=40, n_fft=400, win_length=301, fmin=300.0, fmax=6000.0)])
def test_window_mel_filters_and_db_repeat_librosa_exactly(params):
    import librosa

    window = librosa.util.pad_center(librosa.filters.get_window("hann", params.win_length, fftbins=True),
                                     size=params.n_fft)
    assert hann_window(params).dtype == np.float64 and hann_window(params).tobytes() == window.tobytes()
    basis = librosa.filters.mel(sr=params.sample_rate, n_fft=params.n_fft, n_mels=params.n_mels, fmin=params.fmin,
                                fmax=params.fmax)
    assert mel_filter_bank(params).dtype == np.float32 and mel_filter_bank(params).tobytes() == basis.tobytes()
    power = np.concatenate([[0.0, 1e-12, 1e-10, 1.0], np.random.default_rng(0).exponential(3.0, 1000)]).astype(np.float32)
    expected = librosa.power_to_db(power, ref=1.0, amin=params.amin, top_db=None)
    assert power_to_db(power, params).dtype == np.float32 and power_to_db(power, params).tobytes() == expected.tobytes()


def test_the_build_path_does_not_import_librosa():
    from .conftest import modules_after

    loaded = modules_after("import numpy as np; from weaklabel.features import log_mel_placed; "
                           "log_mel_placed([np.ones(8000, np.float32)], [100], 16000)")
    assert not [m for m in loaded if m.startswith(("librosa.filters", "librosa.core", "scipy.signal"))]


def test_threads_do_not_share_the_buffers():
    # A Dask worker with several threads runs build tasks side by side in one process.
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(11)
    inputs = [([(0.3 * rng.standard_normal(int(rng.integers(8000, 60000)))).astype(np.float32) for _ in range(6)],
               [int(p) for p in rng.integers(0, 40000, 6)]) for _ in range(4)]
    with threadpool_limits(limits=1):
        expected = [log_mel_placed(spans, pads, 112000).tobytes() for spans, pads in inputs]
        with ThreadPoolExecutor(4) as pool:
            for _ in range(5):
                got = list(pool.map(lambda a: log_mel_placed(a[0], a[1], 112000).tobytes(), inputs))
                assert got == expected
