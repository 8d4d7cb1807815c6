"""Acted and natural emotion corpora whose emotions map to valence, for benchmarking voice valence models.

Every reader returns a DataFrame with one row per audio file (``.wav`` or ``.flac``, any case, found
recursively) and the columns of :data:`CORPUS_COLUMNS`:

``path, corpus, speaker, gender, emotion, emotion_code, intensity, statement, take, error, valence``

* ``emotion`` is a canonical name (:data:`CANONICAL_EMOTIONS`), ``emotion_code`` the corpus's own code
  (``"05"`` in RAVDESS, ``"W"`` in EmoDB, ``"joy"`` in MELD, the folder name in class-per-folder corpora).
* ``gender`` is ``"male"``, ``"female"`` or None (unknown); ``intensity`` is None where the corpus has none.
* ``statement`` is the spoken text's code (RAVDESS statement, TESS word, SAVEE sentence number, CREMA-D
  sentence, EmoDB text code); ``take`` the repetition / version where the corpus has one.
* ``error`` says why a file name does not follow the corpus convention (or an emotion code is unknown);
  such rows have no emotion and no valence. They are counted and listed, never raised.
* ``valence`` is ``"positive"``, ``"negative"``, ``"neutral"``, or NaN when the valence table has no entry
  for the emotion (counted as *unmapped* by :func:`corpus_summary`).

MELD adds ``split, dialogue, utterance, text, sentiment`` (the annotators' sentiment label).

File-name conventions
---------------------
==========  ==============================================================================================
ravdess     ``03-01-05-01-02-02-12.wav``: modality, channel, emotion, intensity, statement, repetition,
            actor (odd actors male)
tess        ``OAF_back_angry.wav``: speaker OAF/YAF (both female), word, emotion (``ps`` and
            ``pleasant_surprise(d)`` are the pleasant surprise)
savee       ``DC_a01.wav`` or ``DC/a01.wav`` (e.g. ``AudioData/DC/a01.wav``): speaker DC/JE/JK/KL (all male),
            emotion a/d/f/h/n/sa/su, sentence number
crema-d     ``1001_DFA_ANG_XX.wav``: actor, sentence, emotion, level LO/MD/HI/XX; gender from CREMA-D's
            ``VideoDemographics.csv`` (``ActorID``, ``Sex``) when it lies anywhere under the root, else None
emodb       ``03a01Fa.wav``: speaker, text code, emotion letter (German initial), version letter
folders     ``<root>/<Emotion>/<anything>.wav``: the top-level folder names the emotion; no speaker
meld        ``*_sent_emo.csv`` plus clips ``dia{D}_utt{U}.wav``/``.flac`` anywhere under the root
==========  ==============================================================================================

Default valence table (:data:`DEFAULT_VALENCE`, the map :data:`DEFAULT_VALENCE_MAP`; also :func:`default_valence`
and :func:`valence_table_markdown`):

========  ==================================================
positive  happy, calm, pleasant_surprise
negative  sad, angry, fearful, disgust, boredom
neutral   neutral (excluded from binary scores)
none      surprised (excluded from binary scores, counted as unmapped)
========  ==================================================

*Surprised* has no valence of its own: in the circumplex model (Russell, 1980) surprise sits on the arousal axis
near neutral valence, and it can be pleasant or unpleasant (Noordewier & Breugelmans, 2013, find it is felt as
negative at first); RAVDESS's actors were asked for "surprised", not for a pleasant surprise. *Calm* is
low-arousal and pleasant (the circumplex's relaxed/serene quadrant), so it stays positive; counting it so makes a
valence test lean on arousal (calm against angry and fearful), which the ``calm-excluded`` map measures. TESS's
*pleasant surprise* is positive by its own name. The named maps (:data:`VALENCE_MAPS`) are the measured
alternatives; :func:`resolve_valence_map` takes a name or a JSON file, :func:`load_valence_table` overrides or
extends the default from a JSON object ``{emotion: valence}``.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd

from weaklabel.errors import CorpusError

AUDIO_SUFFIXES = (".wav", ".flac")

#: Columns every reader returns, in this order (MELD appends :data:`MELD_EXTRA_COLUMNS`).
CORPUS_COLUMNS = ("path", "corpus", "speaker", "gender", "emotion", "emotion_code", "intensity", "statement",
                  "take", "error", "valence")
MELD_EXTRA_COLUMNS = ("split", "dialogue", "utterance", "text", "sentiment")

#: Emotion names shared by all readers.
CANONICAL_EMOTIONS = ("neutral", "calm", "happy", "surprised", "pleasant_surprise", "sad", "angry", "fearful",
                      "disgust", "boredom")

#: The valence of each emotion name under the original project's map: *surprised* and *calm* positive.
SURPRISED_POSITIVE_VALENCE = {
    "happy": "positive", "calm": "positive", "surprised": "positive", "pleasant_surprise": "positive",
    "neutral": "neutral",
    "sad": "negative", "angry": "negative", "fearful": "negative", "disgust": "negative", "boredom": "negative",
}
#: Named valence maps, the measured choices (module docstring): what each does with the ambiguous emotions.
VALENCE_MAPS = {
    "surprised-excluded": {k: v for k, v in SURPRISED_POSITIVE_VALENCE.items() if k != "surprised"},
    "surprised-positive": dict(SURPRISED_POSITIVE_VALENCE),
    "calm-excluded": {k: v for k, v in SURPRISED_POSITIVE_VALENCE.items() if k not in ("surprised", "calm")},
}
VALENCE_MAP_DESCRIPTIONS = {
    "surprised-excluded": "surprised excluded (no valence), calm positive: the default, on principle",
    "surprised-positive": "surprised and calm positive: the original project's map",
    "calm-excluded": "surprised and calm excluded: valence without the low-arousal positive class",
}
#: The default map: *surprised* has no reliable valence, *calm* is low-arousal positive (module docstring).
DEFAULT_VALENCE_MAP = "surprised-excluded"
#: Default valence of each emotion name. Neutral, and any emotion absent here, is excluded from binary scores.
DEFAULT_VALENCE = VALENCE_MAPS[DEFAULT_VALENCE_MAP]
VALENCE_VALUES = ("positive", "negative", "neutral")

#: Spelling -> canonical emotion (lower case, spaces/hyphens as underscores).
EMOTION_ALIASES = {
    "neutral": "neutral", "calm": "calm",
    "happy": "happy", "happiness": "happy", "joy": "happy", "joyful": "happy",
    "surprise": "surprised", "surprised": "surprised",
    "ps": "pleasant_surprise", "pleasant_surprise": "pleasant_surprise", "pleasant_surprised": "pleasant_surprise",
    "sad": "sad", "sadness": "sad",
    "angry": "angry", "anger": "angry",
    "fear": "fearful", "fearful": "fearful",
    "disgust": "disgust", "disgusted": "disgust",
    "boredom": "boredom", "bored": "boredom",
}

EMOTION_CORPUS_KINDS = ("ravdess", "tess", "savee", "crema-d", "emodb", "folders", "meld", "auto")

RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry", "06": "fearful",
                    "07": "disgust", "08": "surprised"}
_RAVDESS_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")

TESS_SPEAKERS = ("OAF", "YAF")
_TESS_NAME = re.compile(r"^(OAF|YAF)_([A-Za-z]+)_([A-Za-z_]+)$", re.IGNORECASE)

SAVEE_SPEAKERS = ("DC", "JE", "JK", "KL")
SAVEE_EMOTIONS = {"a": "angry", "d": "disgust", "f": "fearful", "h": "happy", "n": "neutral", "sa": "sad",
                  "su": "surprised"}
_SAVEE_FLAT = re.compile(r"^(DC|JE|JK|KL)_([a-z]{1,2})(\d\d)$")
_SAVEE_CODE = re.compile(r"^([a-z]{1,2})(\d\d)$")

CREMA_EMOTIONS = {"ANG": "angry", "DIS": "disgust", "FEA": "fearful", "HAP": "happy", "NEU": "neutral",
                  "SAD": "sad"}
CREMA_LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
_CREMA_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")
CREMA_DEMOGRAPHICS = "VideoDemographics.csv"

EMODB_EMOTIONS = {"W": "angry", "L": "boredom", "E": "disgust", "A": "fearful", "F": "happy", "T": "sad",
                  "N": "neutral"}
#: EmoDB speaker genders, from the corpus documentation (Burkhardt et al., 2005).
EMODB_GENDER = {"03": "male", "10": "male", "11": "male", "12": "male", "15": "male",
                "08": "female", "09": "female", "13": "female", "14": "female", "16": "female"}
_EMODB_NAME = re.compile(r"^(\d\d)([a-z]\d\d)([A-Z])([a-z])$")

MELD_COLUMNS = ("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID")
_MELD_CLIP = re.compile(r"^dia(\d+)_utt(\d+)$", re.IGNORECASE)
_MELD_CSV_SUFFIX = "_sent_emo.csv"


# ---------------------------------------------------------------------------------------------------------
# Valence tables
# ---------------------------------------------------------------------------------------------------------

def default_valence() -> dict[str, str]:
    """A copy of :data:`DEFAULT_VALENCE` (emotion -> ``"positive"``/``"negative"``/``"neutral"``)."""
    return dict(DEFAULT_VALENCE)


def valence_table_markdown(valence: dict[str, str] | None = None) -> str:
    """The valence table as a Markdown table (one row per valence), e.g. for the README."""
    valence = DEFAULT_VALENCE if valence is None else valence
    lines = ["| valence | emotions |", "|---|---|"]
    for value in VALENCE_VALUES:
        names = [e for e in CANONICAL_EMOTIONS if valence.get(e) == value]
        names += sorted(e for e, v in valence.items() if v == value and e not in CANONICAL_EMOTIONS)
        lines.append(f"| {value} | {', '.join(names) or '-'} |")
    unmapped = [e for e in CANONICAL_EMOTIONS if e not in valence]
    if unmapped:
        lines.append(f"| none (excluded) | {', '.join(unmapped)} |")
    return "\n".join(lines) + "\n"


def resolve_valence_map(spec: str | Path | None) -> dict:
    """A valence map by name (:data:`VALENCE_MAPS`) or from a JSON file over the default table; None: the default.

    Returns
    -------
    dict: ``name`` (the map's name, or ``file:<name of the file>`` for a file), ``source`` (``default``, the name,
    or the path as given), ``description`` and ``table`` ({emotion: valence}), as every record states it.

    Raises
    ------
    ValueError
        An unknown name that is no readable file, or a bad file (:func:`load_valence_table`).
    """
    if spec is None or str(spec) == DEFAULT_VALENCE_MAP:
        name, source = DEFAULT_VALENCE_MAP, "default" if spec is None else DEFAULT_VALENCE_MAP
    elif str(spec) in VALENCE_MAPS:
        name = source = str(spec)
    else:
        path = Path(spec)
        if not path.exists() and path.suffix.lower() != ".json":
            raise ValueError(f"unknown valence map {str(spec)!r}: name one of {', '.join(VALENCE_MAPS)} or a JSON "
                             "file {emotion: positive|negative|neutral|null}")
        return {"name": f"file:{path.name}", "source": str(spec), "description": f"read from {path.name}",
                "table": load_valence_table(path)}
    return {"name": name, "source": source, "description": VALENCE_MAP_DESCRIPTIONS[name],
            "table": dict(VALENCE_MAPS[name])}


def canonical_emotion(name: str) -> str:
    """Normalise an emotion name: lower case, spaces/hyphens to underscores, aliases to canonical names.

    Names that are no alias (e.g. ``"contempt"``) come back normalised but otherwise unchanged.
    """
    key = re.sub(r"[\s\-]+", "_", str(name).strip().lower())
    return EMOTION_ALIASES.get(key, key)


def load_valence_table(path: str | Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """Read a JSON object ``{emotion: "positive" | "negative" | "neutral" | null}`` over a base table.

    Emotion names are normalised with :func:`canonical_emotion` (``"joy"`` sets ``happy``). A value
    overrides or extends ``base`` (default :data:`DEFAULT_VALENCE`); ``null`` removes the emotion, so it
    is counted as unmapped and excluded.

    Raises
    ------
    ValueError
        When the file is missing or not valid JSON, is not an object, or an entry's value is not one of
        the three valences (the message names the entry).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read the valence map {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"the valence map {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"the valence map {path} must be a JSON object {{emotion: valence}}, "
                         f"got {type(data).__name__}")
    table = dict(DEFAULT_VALENCE if base is None else base)
    for emotion, value in data.items():
        if value is None:
            table.pop(canonical_emotion(emotion), None)
            continue
        if not isinstance(value, str) or value.strip().lower() not in VALENCE_VALUES:
            raise ValueError(f"the valence map {path}: entry {emotion!r}: {value!r} is not one of "
                             f"{', '.join(VALENCE_VALUES)} (or null to exclude the emotion)")
        table[canonical_emotion(emotion)] = value.strip().lower()
    return table


# ---------------------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------------------

def _audio_files(root: str | Path) -> list[Path]:
    """Audio files under ``root``, sorted; folders reached through symbolic links too, each real one once."""
    from weaklabel.readers.walk import walk_files

    return sorted(folder / name for folder, names in walk_files(root, skip_hidden=False)
                  for name in names if Path(name).suffix.lower() in AUDIO_SUFFIXES)


def _row(path, corpus: str, **fields) -> dict:
    row = dict.fromkeys(CORPUS_COLUMNS)
    row.update(path=None if path is None else str(path), corpus=corpus)
    row.update(fields)
    return row


def _error_row(path, corpus: str, error: str, **fields) -> dict:
    row = _row(path, corpus, **fields)
    row.update(emotion=None, error=error)
    return row


def _frame(rows: list[dict], valence: dict[str, str] | None, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    valence = DEFAULT_VALENCE if valence is None else valence
    columns = [c for c in CORPUS_COLUMNS if c != "valence"] + list(extra)
    frame = pd.DataFrame(rows, columns=columns).astype(object)
    frame = frame.where(frame.notna(), None)
    frame["valence"] = frame["emotion"].map(valence)
    frame.loc[frame["error"].notna(), "valence"] = float("nan")
    return frame


def read_ravdess(root: str | Path, valence: dict[str, str] | None = DEFAULT_VALENCE) -> pd.DataFrame:
    """RAVDESS: ``MM-VV-EE-II-SS-RR-AA`` (modality, channel, emotion, intensity, statement, repetition, actor;
    odd actors are male). Speech and song alike; WAV or FLAC. Intensity ``normal``/``strong``."""
    rows = []
    for path in _audio_files(root):
        match = _RAVDESS_NAME.match(path.stem)
        if not match:
            rows.append(_error_row(path, "ravdess", "name does not follow RAVDESS's MM-VV-EE-II-SS-RR-AA convention"))
        elif match.group(3) not in RAVDESS_EMOTIONS:
            rows.append(_error_row(path, "ravdess", f"unknown RAVDESS emotion code {match.group(3)!r} "
                                                    "(MM-VV-EE-II-SS-RR-AA, EE in 01-08)"))
        else:
            actor = int(match.group(7))
            rows.append(_row(path, "ravdess", speaker=f"actor{actor:02d}", gender="male" if actor % 2 else "female",
                             emotion=RAVDESS_EMOTIONS[match.group(3)], emotion_code=match.group(3),
                             intensity={"01": "normal", "02": "strong"}.get(match.group(4), match.group(4)),
                             statement=match.group(5), take=match.group(6)))
    return _frame(rows, valence)


def read_tess(root: str | Path, valence: dict[str, str] | None = None) -> pd.DataFrame:
    """TESS: ``OAF_back_angry.wav`` -> speaker (OAF/YAF, both female), word, emotion (``ps`` = pleasant surprise)."""
    allowed = {"angry", "disgust", "fear", "happy", "neutral", "ps", "pleasant_surprise", "pleasant_surprised",
               "sad"}
    rows = []
    for path in _audio_files(root):
        match = _TESS_NAME.match(path.stem)
        if not match:
            rows.append(_error_row(path, "tess", "name does not follow TESS's SPEAKER_word_emotion convention "
                                                 "(speaker OAF or YAF)"))
            continue
        code = match.group(3)
        if code.lower() not in allowed:
            rows.append(_error_row(path, "tess", f"unknown TESS emotion {code!r} (angry, disgust, fear, happy, "
                                                 "neutral, ps, sad)"))
            continue
        rows.append(_row(path, "tess", speaker=match.group(1).upper(), gender="female",
                         emotion=canonical_emotion(code), emotion_code=code, statement=match.group(2).lower()))
    return _frame(rows, valence)


def read_savee(root: str | Path, valence: dict[str, str] | None = None) -> pd.DataFrame:
    """SAVEE: ``DC_a01.wav`` or ``<speaker folder>/a01.wav`` -> speaker (DC/JE/JK/KL, all male), emotion, sentence."""
    rows = []
    for path in _audio_files(root):
        flat = _SAVEE_FLAT.match(path.stem)
        nested = _SAVEE_CODE.match(path.stem) if path.parent.name in SAVEE_SPEAKERS else None
        if flat:
            speaker, code, number = flat.groups()
        elif nested:
            speaker, (code, number) = path.parent.name, nested.groups()
        else:
            rows.append(_error_row(path, "savee", "name does not follow SAVEE's SPEAKER_eNN or SPEAKER/eNN "
                                                  "convention (speaker DC, JE, JK or KL)"))
            continue
        if code not in SAVEE_EMOTIONS:
            rows.append(_error_row(path, "savee", f"unknown SAVEE emotion code {code!r} (a, d, f, h, n, sa, su)",
                                   speaker=speaker, gender="male"))
            continue
        rows.append(_row(path, "savee", speaker=speaker, gender="male", emotion=SAVEE_EMOTIONS[code],
                         emotion_code=code, statement=number))
    return _frame(rows, valence)


def _crema_genders(root: Path) -> dict[str, str]:
    """Actor id -> ``male``/``female`` from the first VideoDemographics.csv under ``root`` (empty if none)."""
    found = sorted(p for p in root.rglob("*") if p.is_file() and p.name.lower() == CREMA_DEMOGRAPHICS.lower())
    if not found:
        return {}
    try:
        table = pd.read_csv(found[0], dtype=str)
    except (OSError, ValueError) as exc:
        raise CorpusError(f"cannot read CREMA-D demographics {found[0]}: {exc}") from exc
    if not {"ActorID", "Sex"} <= set(table.columns):
        raise CorpusError(f"CREMA-D demographics {found[0]} lacks the ActorID and Sex columns "
                          f"(has {', '.join(map(str, table.columns))})")
    genders = {}
    for actor, sex in zip(table["ActorID"], table["Sex"]):
        if isinstance(actor, str) and isinstance(sex, str) and sex.strip().lower() in ("male", "female"):
            genders[actor.strip()] = sex.strip().lower()
    return genders


def read_crema_d(root: str | Path, valence: dict[str, str] | None = None) -> pd.DataFrame:
    """CREMA-D: ``1001_DFA_ANG_XX.wav`` -> actor, sentence, emotion, level (low/medium/high/unspecified).

    Gender comes from ``VideoDemographics.csv`` anywhere under ``root``; without it gender is None.
    """
    genders = _crema_genders(Path(root))
    rows = []
    for path in _audio_files(root):
        match = _CREMA_NAME.match(path.stem)
        if not match:
            rows.append(_error_row(path, "crema-d", "name does not follow CREMA-D's ACTOR_SENTENCE_EMOTION_LEVEL "
                                                    "convention (e.g. 1001_DFA_ANG_XX)"))
            continue
        actor, sentence, code, level = match.groups()
        if code not in CREMA_EMOTIONS or level not in CREMA_LEVELS:
            what = f"emotion {code!r}" if code not in CREMA_EMOTIONS else f"level {level!r}"
            rows.append(_error_row(path, "crema-d", f"unknown CREMA-D {what} (emotions ANG, DIS, FEA, HAP, NEU, "
                                                    "SAD; levels LO, MD, HI, XX)",
                                   speaker=actor, gender=genders.get(actor)))
            continue
        rows.append(_row(path, "crema-d", speaker=actor, gender=genders.get(actor), emotion=CREMA_EMOTIONS[code],
                         emotion_code=code, intensity=CREMA_LEVELS[level], statement=sentence))
    return _frame(rows, valence)


def read_emodb(root: str | Path, valence: dict[str, str] | None = None) -> pd.DataFrame:
    """Berlin EmoDB: ``03a01Fa.wav`` -> speaker, text code, emotion (W L E A F T N), version letter."""
    rows = []
    for path in _audio_files(root):
        match = _EMODB_NAME.match(path.stem)
        if not match:
            rows.append(_error_row(path, "emodb", "name does not follow EmoDB's SStttEv convention (e.g. 03a01Fa)"))
            continue
        speaker, text, code, version = match.groups()
        if code not in EMODB_EMOTIONS:
            rows.append(_error_row(path, "emodb", f"unknown EmoDB emotion letter {code!r} (W, L, E, A, F, T, N)",
                                   speaker=speaker, gender=EMODB_GENDER.get(speaker)))
            continue
        rows.append(_row(path, "emodb", speaker=speaker, gender=EMODB_GENDER.get(speaker),
                         emotion=EMODB_EMOTIONS[code], emotion_code=code, statement=text, take=version))
    return _frame(rows, valence)


def read_emotion_folders(root: str | Path, valence: dict[str, str] | None = None) -> pd.DataFrame:
    """Class per folder: ``<root>/<Emotion>/<anything>.wav``; the top-level folder names the emotion.

    Speakers are unknown (None). A folder name that is no known emotion keeps its normalised name as the
    emotion (unmapped unless the valence table names it); a file directly in ``root`` is an error row.
    """
    root = Path(root)
    rows = []
    for path in _audio_files(root):
        parts = path.relative_to(root).parts
        if len(parts) < 2:
            rows.append(_error_row(path, "folders", "file is not inside an emotion folder (<root>/<Emotion>/...)"))
            continue
        rows.append(_row(path, "folders", emotion=canonical_emotion(parts[0]), emotion_code=parts[0]))
    return _frame(rows, valence)


def _meld_split(csv_path: Path) -> str:
    return csv_path.name[: -len(_MELD_CSV_SUFFIX)].lower()


def _meld_csvs(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name.lower().endswith(_MELD_CSV_SUFFIX))


def read_meld(root: str | Path, valence: dict[str, str] | None = None) -> pd.DataFrame:
    """MELD: ``*_sent_emo.csv`` (emotion, speaker, text per dialogue/utterance) plus ``dia{D}_utt{U}`` clips.

    With several CSVs (``train``, ``dev``, ``test``) a clip belongs to the split whose name appears in one of
    its folder names (``dev_splits_complete/``, ``output_repeated_splits_test/``); with one CSV every clip
    belongs to it. A CSV row without a clip, a clip without a CSV row, and a second clip or row for the same
    dialogue/utterance are error rows.

    Raises
    ------
    CorpusError
        When no ``*_sent_emo.csv`` is found, one cannot be read, or it lacks MELD's columns.
    """
    root = Path(root)
    csvs = _meld_csvs(root)
    if not csvs:
        raise CorpusError(f"no MELD *{_MELD_CSV_SUFFIX} file under {root}")
    splits = {_meld_split(p): p for p in csvs}
    rows: list[dict] = []
    clips: dict[tuple[str, int, int], Path] = {}
    for path in _audio_files(root):
        match = _MELD_CLIP.match(path.stem)
        if not match:
            rows.append(_error_row(path, "meld", "name does not follow MELD's dia{D}_utt{U} convention"))
            continue
        if len(splits) == 1:
            split = next(iter(splits))
        else:
            folders = [part.lower() for part in path.relative_to(root).parts[:-1]]
            owners = [s for s in splits if any(s in folder for folder in folders)]
            if len(owners) != 1:
                rows.append(_error_row(path, "meld", f"cannot tell which of the splits {', '.join(sorted(splits))} "
                                                     "this clip belongs to (no single split name in its folders)"))
                continue
            split = owners[0]
        key = (split, int(match.group(1)), int(match.group(2)))
        if key in clips:
            rows.append(_error_row(path, "meld", f"a second clip for dia{key[1]}_utt{key[2]} "
                                                 f"(first: {clips[key].name})", split=split))
            continue
        clips[key] = path
    used: set[tuple[str, int, int]] = set()
    for split, csv_path in sorted(splits.items()):
        try:
            table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise CorpusError(f"cannot read the MELD table {csv_path}: {exc}") from exc
        missing = [c for c in MELD_COLUMNS if c not in table.columns]
        if missing:
            raise CorpusError(f"the MELD table {csv_path} lacks the column(s) {', '.join(missing)}")
        for record in table.to_dict("records"):
            try:
                key = (split, int(record["Dialogue_ID"]), int(record["Utterance_ID"]))
            except ValueError:
                rows.append(_error_row(None, "meld", f"{csv_path.name}: bad Dialogue_ID/Utterance_ID "
                                                     f"{record['Dialogue_ID']!r}/{record['Utterance_ID']!r}",
                                       split=split, text=record["Utterance"]))
                continue
            name = f"dia{key[1]}_utt{key[2]}"
            fields = dict(split=split, dialogue=key[1], utterance=key[2], text=record["Utterance"],
                          speaker=record["Speaker"] or None, sentiment=record.get("Sentiment") or None)
            if key in used:
                rows.append(_error_row(clips.get(key), "meld", f"{csv_path.name}: a second row for {name}", **fields))
                continue
            used.add(key)
            code = record["Emotion"].strip()
            if key not in clips:
                rows.append(_error_row(None, "meld", f"no audio clip for {name} ({split})", emotion_code=code,
                                       **fields))
                continue
            rows.append(_row(clips[key], "meld", emotion=canonical_emotion(code) if code else None,
                             emotion_code=code or None, **fields))
    for key, path in sorted(clips.items()):
        if key not in used:
            rows.append(_error_row(path, "meld", f"no row for dia{key[1]}_utt{key[2]} in "
                                                 f"{splits[key[0]].name}", split=key[0], dialogue=key[1],
                                   utterance=key[2]))
    return _frame(rows, valence, MELD_EXTRA_COLUMNS)


READERS = {"ravdess": read_ravdess, "tess": read_tess, "savee": read_savee, "crema-d": read_crema_d,
           "emodb": read_emodb, "folders": read_emotion_folders, "meld": read_meld}


# ---------------------------------------------------------------------------------------------------------
# Detection and dispatch
# ---------------------------------------------------------------------------------------------------------

def _convention_matches(root: Path, files: list[Path]) -> Counter:
    """How many audio files follow each corpus's naming convention."""
    counts: Counter = Counter()
    for path in files:
        stem = path.stem
        if _RAVDESS_NAME.match(stem):
            counts["ravdess"] += 1
        if _TESS_NAME.match(stem):
            counts["tess"] += 1
        if _SAVEE_FLAT.match(stem) or (path.parent.name in SAVEE_SPEAKERS and _SAVEE_CODE.match(stem)):
            counts["savee"] += 1
        if _CREMA_NAME.match(stem):
            counts["crema-d"] += 1
        if _EMODB_NAME.match(stem):
            counts["emodb"] += 1
        if _MELD_CLIP.match(stem):
            counts["meld"] += 1
        parts = path.relative_to(root).parts
        if len(parts) >= 2 and canonical_emotion(parts[0]) in CANONICAL_EMOTIONS:
            counts["folders"] += 1
    if counts["meld"] and not _meld_csvs(root):
        del counts["meld"]  # MELD clips without their table cannot be labelled
    return counts


def detect_corpus_kind(root: str | Path) -> str:
    """The corpus convention most audio file names under ``root`` follow.

    Raises
    ------
    CorpusError
        When ``root`` does not exist, holds no audio, or no file follows any known convention.
    """
    root = _check_root(root)
    files = _audio_files(root)
    counts = _convention_matches(root, files)
    if not counts:
        raise CorpusError(f"no audio file under {root} follows a known emotion-corpus convention "
                          f"({', '.join(k for k in EMOTION_CORPUS_KINDS if k != 'auto')}); e.g. {files[0].name}. "
                          "Pass --corpus explicitly")
    order = [k for k in EMOTION_CORPUS_KINDS if k != "auto"]
    return max(counts, key=lambda kind: (counts[kind], -order.index(kind)))


def _check_root(root: str | Path) -> Path:
    root = Path(root)
    if not root.exists():
        raise CorpusError(f"corpus root {root} does not exist")
    if not root.is_dir():
        raise CorpusError(f"corpus root {root} is not a folder")
    if not _audio_files(root):
        raise CorpusError(f"no audio files (.wav, .flac) under {root}")
    return root


def read_emotion_corpus(kind: str, root: str | Path, valence: dict[str, str] | None = None) -> pd.DataFrame:
    """Read an emotion corpus of the given kind (one of :data:`EMOTION_CORPUS_KINDS`; ``auto`` detects it).

    Parameters
    ----------
    kind : str
        ``ravdess``, ``tess``, ``savee``, ``crema-d``, ``emodb``, ``folders``, ``meld`` or ``auto``.
    root : str or Path
        The corpus folder (searched recursively).
    valence : dict, optional
        Emotion -> valence table (default :data:`DEFAULT_VALENCE`; see :func:`load_valence_table`).

    Returns
    -------
    DataFrame with the columns of :data:`CORPUS_COLUMNS` (MELD: plus :data:`MELD_EXTRA_COLUMNS`), one row
    per audio file (MELD: also per table row without a clip). ``frame.attrs["corpus"]`` is the kind read.

    Raises
    ------
    CorpusError
        For an unknown kind, a root that does not exist or holds no audio, or (``auto``) no recognisable
        convention.
    """
    if kind not in EMOTION_CORPUS_KINDS:
        raise CorpusError(f"unknown emotion corpus kind {kind!r}; choose one of {', '.join(EMOTION_CORPUS_KINDS)}")
    root = _check_root(root)
    if kind == "auto":
        kind = detect_corpus_kind(root)
    frame = READERS[kind](root, valence if valence is not None else DEFAULT_VALENCE)
    frame.attrs["corpus"] = kind
    return frame


def read_emotion_corpora(kind: str, roots, valence: dict[str, str] | None = None) -> pd.DataFrame:
    """Several folders of one emotion corpus (``RAVDESS`` actors 1-6 and 7-12), each read with
    :func:`read_emotion_corpus` and concatenated in order; ``auto`` detects each folder's kind, which must agree.

    Raises
    ------
    CorpusError
        No folder, a folder :func:`read_emotion_corpus` refuses, or (``auto``) folders of different kinds.
    """
    roots = [roots] if isinstance(roots, (str, Path)) else list(roots)
    if not roots:
        raise CorpusError("no corpus folder given")
    frames = [read_emotion_corpus(kind, root, valence) for root in roots]
    kinds = [f.attrs["corpus"] for f in frames]
    if len(set(kinds)) > 1:
        raise CorpusError("the folders hold different corpora (" + ", ".join(f"{r}: {k}" for r, k in zip(roots, kinds))
                          + "); evaluate one corpus at a time")
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    out.attrs["corpus"] = kinds[0]
    return out


# ---------------------------------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------------------------------

def corpus_summary(frame: pd.DataFrame) -> dict:
    """Counts of a corpus frame, as JSON-serialisable values.

    Returns
    -------
    dict
        ``files`` (rows), ``usable_clips`` (positive or negative, no error), ``speakers`` (distinct speakers
        among usable clips; None when no usable clip has one), ``positive``, ``negative``, ``positive_share``
        (of usable clips; None when there are none), ``neutral_excluded``, ``unmapped`` (an emotion the
        valence table lacks), ``unmapped_emotions`` ({emotion: count}), ``name_errors`` (rows with an error)
        and ``errors`` (list of ``[path, error]``; path None for a MELD row without a clip).
    """
    ok = frame["error"].isna()
    valence = frame["valence"]
    usable = ok & valence.isin(["positive", "negative"])
    unmapped = ok & valence.isna() & frame["emotion"].notna()
    n_pos = int((usable & (valence == "positive")).sum())
    n_usable = int(usable.sum())
    speakers = frame.loc[usable, "speaker"].dropna()
    errors = frame.loc[~ok, ["path", "error"]]
    return {
        "files": int(len(frame)),
        "usable_clips": n_usable,
        "speakers": int(speakers.nunique()) if len(speakers) else None,
        "positive": n_pos,
        "negative": n_usable - n_pos,
        "positive_share": n_pos / n_usable if n_usable else None,
        "neutral_excluded": int((ok & (valence == "neutral")).sum()),
        "unmapped": int(unmapped.sum()),
        "unmapped_emotions": {str(k): int(v) for k, v in frame.loc[unmapped, "emotion"].value_counts().items()},
        "name_errors": int((~ok).sum()),
        "errors": [[None if pd.isna(p) else str(p), str(e)] for p, e in errors.itertuples(index=False)],
    }
