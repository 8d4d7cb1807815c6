"""The build's configuration: everything that determines a build's output, and the format version.

:class:`BuildConfig` is recorded in ``build.json`` (:meth:`BuildConfig.to_dict`) and read back from it
(:meth:`BuildConfig.from_record`). Its fingerprint holds no local path (the corpus root and the folds file are in
it by their content, not their location); with the corpus's content (:meth:`BuildConfig.build_fingerprint`)
it is the identity of a build folder: the same on every machine, wherever the checkout is.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from foundation.config import SEED_RANGE, check_ranges, option
from foundation.digests import file_sha256, json_sha256
from weaklabel.audio import CLIP_SECONDS_RANGE, DEFAULT_CLIP_SECONDS, TARGET_SR
from weaklabel.logmel import LogMelParams
from weaklabel.readers import CORPUS_KINDS
from weaklabel.segments import DEFAULT_MIN_SPEECH_SECONDS
from weaklabel.policies import (AUTO_POLICY, DEFAULT_NEUTRAL_BAND, DEFAULT_POLICY, E5_BAND, FALLBACK_POLICY, POLICIES,
                                POLICY_DESCRIPTIONS, default_band, get_policy, resolve_policy, validate_policy)
from weaklabel.scorers import SCORERS
from weaklabel.splits import DEFAULT_FRACTIONS, DEFAULT_SPEAKER_MODE, SPEAKER_MODES
from weaklabel.transcription.transcript import TranscriptionSettings

FORMAT_VERSION = 5  # 2: per-text VADER shares and negation-aware TextBlob stored for the label model;
# 3: split groups join shared speakers, audio files and recordings; too_little_speech status;
# 4: fingerprints of content and paths relative to the corpus root (no absolute path), the corpus's in the build's;
# one column per scorer of the registry (language, lexicons, E5), scorer versions in the fingerprint;
# 5: each field once (the clip length, log-mel and policy fallback in the configuration only), every key written


#: Fields of :meth:`BuildConfig.to_dict` that say where files are on this machine, left out of the fingerprints.
#: The Whisper model of --transcribe is named here ("base", or a folder); its transcripts' text is in the build's
#: identity through the corpus's segments.
LOCATIONS = ("root", "folds", "label_model", "transcription_model")  # the label model is fingerprinted by its SHA-256


#: The transcription settings a build's command line offers, by flag (the others are set in a run's TOML,
#: ``[build.transcription]``, or with ``python -m pipelines.transcribe`` first).
TRANSCRIPTION_FLAGS = {"transcription.model": "--transcribe-model", "transcription.language": "--transcribe-language"}
TRANSCRIPTION_NOT_ON_COMMAND_LINE = tuple(f"transcription.{name}" for name in TranscriptionSettings.__dataclass_fields__
                                          if f"transcription.{name}" not in TRANSCRIPTION_FLAGS)


def config_fingerprint(recorded: dict) -> str:
    """Hash of a configuration as :meth:`BuildConfig.to_dict` gives it (and ``build.json`` records it), without
    :data:`LOCATIONS`: :meth:`BuildConfig.fingerprint`."""
    return json_sha256({k: v for k, v in recorded.items() if k not in LOCATIONS})


def parse_fractions(text: str) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` -> train/validation/test fractions; ValueError unless three numbers summing to 1 (each
    in [0, 1] is the option's range, checked where the value enters: :func:`foundation.config.range_problem`)."""
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"expected three comma-separated numbers, got {text!r}") from None
    if len(values) != 3 or abs(sum(values) - 1) > 1e-6:
        raise ValueError(f"expected three fractions summing to 1, got {text!r}")
    return values


@dataclass(frozen=True)
class BuildConfig:
    """Everything that determines a build's output (runtime options such as worker count are not here)."""

    corpus: str = option(
        cli_default="auto", choices=CORPUS_KINDS, group="corpus",
        help="corpus layout: mosei (Raw/Audio/Full/WAV_16000 + Raw/Transcript/Segmented/Combined), manifest "
             "(CSV/TSV/Parquet/JSONL with audio_path,start,end,text[,speaker,group]), subtitles (audio beside "
             ".srt/.vtt/Whisper .json); auto guesses")
    root: str = option(
        required=False, group="corpus",
        help="corpus root (MOSEI folder holding Raw/, a manifest file, or a folder of recordings); omit to build "
             "the embedded synthetic demo corpus")
    clip_seconds: float = option(
        DEFAULT_CLIP_SECONDS, group="clips and features", **CLIP_SECONDS_RANGE,
        help="fixed clip length in seconds; longer segments are cropped, shorter padded, at a random offset "
             "drawn from --seed")
    seed: int = option(0, group="clips and features", **SEED_RANGE, help="seed for crop/pad offsets and splits")
    policy: str = option(
        AUTO_POLICY, choices=(AUTO_POLICY, *POLICIES), group="weak labels and splits",
        help=f"how the text's sentiment scores become a label: {AUTO_POLICY}: {DEFAULT_POLICY} where its scorers run "
             f"on this machine, else {FALLBACK_POLICY} (said in the summary and build.json); "
             + "; ".join(f"{name}: {description}" for name, description in POLICY_DESCRIPTIONS.items()))
    label_model: str | None = option(
        None, metavar="FILE", group="weak labels and splits",
        help="a label-model JSON file (python -m pipelines.label_model --csv YOUR_LABELLED.csv) for the calibrated "
             "policy, instead of the shipped one; recorded, with its SHA-256, in build.json and the fingerprint")
    neutral_band: float | None = option(
        None, group="weak labels and splits", minimum=0.0, maximum=1.0,
        default_text=f"the policy's own: e5 and calibrated {E5_BAND:g} (a label model's own where it records one), "
                     f"the others {DEFAULT_NEUTRAL_BAND:g}",
        help="|score| below this abstains")
    split_fractions: tuple[float, float, float] = option(
        DEFAULT_FRACTIONS, flag="--split", metavar="TRAIN,VAL,TEST", parse=parse_fractions,
        group="weak labels and splits", minimum=0.0, maximum=1.0, help="group-disjoint split fractions")
    folds: str | None = option(
        None, metavar="FOLDS", group="corpus",
        help="JSON of explicit splits by video id, e.g. the CMU Multimodal SDK's standard MOSEI folds "
             "({'train': [...], 'valid': [...], 'test': [...]}); replaces --split")
    mel: LogMelParams = option(default_factory=LogMelParams, help="log-mel parameters of the clips' features")
    transcribe: bool = option(
        False, group="corpus",
        help="recordings under --root with no transcript beside them are transcribed offline with Whisper first, "
             "sentence by sentence (cached in the dataset's transcripts/ folder by audio, model and settings; a "
             "re-run transcribes nothing new); those with a transcript keep it. A folder of recordings only")
    transcription: TranscriptionSettings = option(
        default_factory=TranscriptionSettings,
        help="how --transcribe transcribes (docs/transcription.md); [build.transcription] in a run's TOML")
    speakers: str = option(
        DEFAULT_SPEAKER_MODE, choices=SPEAKER_MODES, group="weak labels and splits",
        help="how speaker labels (a manifest's speaker column, subtitle voice tags, diarised JSON) are read for "
             "the splits: global (one name is one person in every recording), local (labels name voices within "
             "their recording only), auto (diarization labels such as SPEAKER_00 or spk1 are local, names are "
             "global)")
    min_speech_seconds: float = option(
        DEFAULT_MIN_SPEECH_SECONDS, metavar="S", group="clips and features", minimum=0.0,
        help="a segment with less decoded audio than this in its span fails as too_little_speech")
    #: Write a build even when a split would get no kept segment (not part of the fingerprint: it changes
    #: whether a build is written, never what it holds).
    allow_empty_splits: bool = option(
        False, group="weak labels and splits",
        help="write the build even when the groups leave a split without kept segments (by default the build "
             "says so and stops)")

    policy_fallback: str | None = option(
        None, cli=False, help="why policy auto resolved to the fallback policy on this machine (None: it did not)")

    def __post_init__(self):
        check_ranges(self)
        if not self.clip_seconds > 0:
            raise ValueError(f"clip length must be positive, got {self.clip_seconds} s")
        if self.mel.sample_rate != TARGET_SR:
            raise ValueError(f"features are computed at {TARGET_SR} Hz; got mel sample_rate {self.mel.sample_rate}")
        if self.speakers not in SPEAKER_MODES:
            raise ValueError(f"unknown speaker mode {self.speakers!r}; choose one of {', '.join(SPEAKER_MODES)}")
        if not self.min_speech_seconds >= 0:
            raise ValueError(f"minimum speech must be >= 0 s, got {self.min_speech_seconds}")

    @property
    def resolved(self) -> bool:
        """True when the policy and the band are concrete (:func:`resolve_build_config` made them so)."""
        return self.policy != AUTO_POLICY and self.neutral_band is not None

    def _concrete(self) -> "BuildConfig":
        return self if self.resolved else resolve_build_config(self)

    def labelling_policy(self):
        """The :class:`~weaklabel.policies.LabelingPolicy` this build labels with (its label model included; the
        policy ``auto`` resolves to, for a declared configuration)."""
        concrete = self._concrete()
        return get_policy(concrete.policy, concrete.label_model)

    def scorers(self) -> tuple[str, ...]:
        """The scorers the build runs: every cheap one, and the costly ones its policy reads (registry order)."""
        policy = self.labelling_policy()
        return tuple(name for name, scorer in SCORERS.items() if not scorer.cached or name in policy.scorers)

    def to_dict(self) -> dict:
        """The configuration as ``build.json`` records it, resolved (:func:`resolve_build_config`)."""
        if not self.resolved:
            return self._concrete().to_dict()
        data = asdict(self)
        data["split_fractions"] = list(self.split_fractions)
        data["folds_sha256"] = file_sha256(self.folds) if self.folds else None
        policy = self.labelling_policy()
        data["label_model_sha256"] = policy.label_model.sha256 if self.label_model else None
        data["policy_model"] = policy.label_model.identity() if policy.label_model else None
        data["scorers"] = {name: SCORERS[name].version for name in self.scorers()}
        data["format_version"] = FORMAT_VERSION
        del data["allow_empty_splits"]
        # The transcription settings only where the build transcribes: another default of theirs is not another
        # build of a corpus that is not transcribed.
        transcription = data.pop("transcription") if self.transcribe else {"model": None}
        data["transcription_model"] = transcription.pop("model")
        data["transcription"] = transcription if self.transcribe else None
        if data["policy_fallback"] is None:
            del data["policy_fallback"]
        return data

    @classmethod
    def from_record(cls, recorded: dict) -> "BuildConfig":
        """The configuration a ``build.json`` records under ``"config"`` (the inverse of :meth:`to_dict`)."""
        fields = {k: recorded[k] for k in ("corpus", "root", "clip_seconds", "seed", "policy", "neutral_band", "folds")}
        optional = {k: recorded[k] for k in ("speakers", "min_speech_seconds", "label_model", "policy_fallback")
                    if k in recorded}
        # A record without a transform version was made by version 1 (librosa's arithmetic).
        mel = LogMelParams(**{"transform_version": 1, **recorded["mel"]})
        # A record without transcription settings was made without --transcribe (the settings' defaults).
        transcription = TranscriptionSettings.from_dict({**(recorded.get("transcription") or {}),
                                                         "model": recorded.get("transcription_model") or "base"})
        return cls(**fields, **optional, split_fractions=tuple(recorded["split_fractions"]), mel=mel,
                   transcribe=bool(recorded.get("transcribe", False)), transcription=transcription)

    def fingerprint(self) -> str:
        """Hash of the whole configuration but where its files are (:func:`config_fingerprint` of
        :meth:`to_dict`): the folds are in it by their content, ``folds_sha256``; the corpus by its own, in
        :meth:`build_fingerprint`."""
        return config_fingerprint(self.to_dict())

    def build_fingerprint(self, units) -> str:
        """The identity of a build of this configuration from a corpus, as ``units`` (``build.json``'s
        :class:`~weaklabel.build_record.UnitRecord` s) record the corpus's content: each audio file by its path relative to the corpus root, its segments' digest and its
        content's SHA-256. A build directory holds exactly one."""
        corpus = [[unit.unit, unit.segments, unit.sha256] for unit in units]
        return json_sha256({"config": self.fingerprint(), "corpus": corpus})

    def parts_fingerprint(self) -> str:
        """Hash of what the per-recording parts depend on (not the policy or the splits), and where the corpus is:
        the name of an unfinished build's parts folder, never recorded."""
        data = self.to_dict()
        keep = ("corpus", "root", "clip_seconds", "seed", "mel", "min_speech_seconds", "format_version")
        return json_sha256({k: data[k] for k in keep})


def resolve_build_config(config: BuildConfig, failed: str | None = None) -> BuildConfig:
    """The concrete configuration a build labels with, decided once at its start and recorded in ``build.json``.

    ``auto`` is the default policy where its scorers run on this machine (``calibrated`` with a ``--label-model``),
    else the fallback policy, the reason in ``policy_fallback``; with ``failed`` (why the default policy's scorer
    failed while scoring: :func:`~weaklabel.policies.fallback_note`) it is the fallback. A band left out is the
    policy's own (a user's label model's, when it records one). Reads the label-model file: one that does not read,
    or one given to another policy, raises ValueError. A configuration that names its policy and band is returned
    as it is (``failed`` then changes nothing: see :func:`fall_back`).
    """
    policy, why = config.policy, config.policy_fallback
    if policy == AUTO_POLICY:
        if config.label_model:
            policy, why = "calibrated", None
        elif failed is not None:
            policy, why = FALLBACK_POLICY, failed
        else:
            policy, why = resolve_policy(policy)
    band = config.neutral_band
    if band is None:
        band = get_policy(policy, config.label_model).default_band if policy in POLICIES else default_band(policy)
    validate_policy(policy, band)
    get_policy(policy, config.label_model)  # a label-model file that does not read fails here
    return replace(config, policy=policy, neutral_band=band, policy_fallback=why)


def fall_back(declared: BuildConfig, why: str) -> BuildConfig | None:
    """The configuration ``declared`` resolves to when the default policy's scorer failed while scoring (``why``,
    :func:`~weaklabel.policies.fallback_note`): the fallback policy, its band the fallback's own unless one was
    given. None where the policy was asked for by name or with a label model: it does not fall back."""
    if declared.policy != AUTO_POLICY or declared.label_model:
        return None
    return resolve_build_config(declared, failed=why)
