"""Shared by the build's test files: a fast log-mel, the configuration of a generated MOSEI-layout corpus, and the
bytes of a build's outputs."""
from weaklabel.config import BuildConfig
from weaklabel.features import LogMelParams

OUTPUT_FILES = ("segments.parquet", "features/logmel.npy", "build.json")
FAST_MEL = LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=512)


def config_for(root, **kw) -> BuildConfig:
    """The build of the MOSEI-layout corpus at ``root`` with :data:`FAST_MEL` unless ``mel`` is given."""
    kw.setdefault("mel", FAST_MEL)
    return BuildConfig(corpus="mosei", root=str(root), **kw)


def read_outputs(out) -> dict[str, bytes]:
    """Each output file of the build in ``out`` (:data:`OUTPUT_FILES`), by name: its bytes."""
    return {name: (out / name).read_bytes() for name in OUTPUT_FILES}
