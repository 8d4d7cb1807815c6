"""What an export writes: :class:`ExportConfig` (its command line is generated from it) and the export folder's
names, defined here and nowhere else."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from foundation.config import check_ranges, option

#: The formats, each a module of this package: Hugging Face ``datasets`` (Parquet), Lhotse manifests, an audio
#: folder with ``metadata.csv`` (Hugging Face's AudioFolder convention).
FORMATS = ("hf", "lhotse", "audiofolder")
#: Changes whenever what an export of some dataset holds may change: an export of another version is never resumed
#: or taken for current.
EXPORT_FORMAT_VERSION = 1
#: What every export folder holds besides its format's files: the record (written last: the completion mark) and
#: the log of the segments that could not be exported.
EXPORT_FILE = "export.json"
EXPORT_LOG_FILE = "export_log.csv"
#: Prefix of the hidden folder of an export in progress (its parts, and the payload moved into place at the end).
PARTS_PREFIX = ".export-parts-"
#: Bits per sample the FLAC clips may have.
BIT_DEPTHS = (16, 24)


@dataclass(frozen=True)
class ExportConfig:
    """What :func:`weaklabel.export` writes from a built dataset (where it runs is an
    :class:`~foundation.executor.ExecutorConfig`, which changes no byte of it)."""

    format: str = option(
        choices=FORMATS,
        help="hf: Parquet shards that datasets.load_dataset('parquet', data_dir=OUT) loads, with an Audio and a "
             "ClassLabel column; lhotse: recordings, supervisions and cuts manifests (.jsonl.gz) over the original "
             "recordings; audiofolder: OUT/<split>/<segment_id>.flac and metadata.csv")
    include_abstained: bool = option(
        False, help="also export the clips whose text abstained (inside the neutral band), with an empty label; "
                    "failed segments are never exported")
    clips_per_shard: int = option(
        1000, metavar="N", minimum=1, maximum=100_000,
        help="clips per task, and per Parquet file of the hf format (about 130 KB a 7 s clip)")
    bits: int = option(
        16, choices=BIT_DEPTHS,
        help="bits per sample of the FLAC clips (hf, audiofolder): 16 holds a 16-bit 16 kHz recording's samples "
             "exactly, and resampled audio within 2^-15; 24 within 2^-23")

    def __post_init__(self):
        check_ranges(self)
        if self.format not in FORMATS:
            raise ValueError(f"unknown export format {self.format!r}; choose one of {', '.join(FORMATS)}")
        if self.bits not in BIT_DEPTHS:
            raise ValueError(f"FLAC clips have {' or '.join(map(str, BIT_DEPTHS))} bits per sample, got {self.bits}")

    def to_dict(self) -> dict:
        return asdict(self)
