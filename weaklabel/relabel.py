"""Another labelling policy, band or split for a finished build, without touching the audio.

A build stores its scorers' outputs per segment (one column per scorer output, :mod:`weaklabel.scorers`) and the
features of abstained segments too, so the labels and the splits can be re-derived from ``segments.parquet``
alone. A policy that reads a scorer the build did not run (``e5`` for a build labelled ``mean``) has only that
scorer's column computed, from the stored texts (the sentence cache makes a second time free); the columns of a
costly scorer the new policy does not read are dropped, as a fresh build would not have them.
:func:`relabel_dataset` writes a new dataset folder whose ``segments.parquet`` and ``build.json`` are what a
fresh build with the new configuration writes (the same functions make them), and whose features file is a
hard link to the source's (a copy where the filesystem cannot link): identical bytes, no decoding.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from foundation.atomic import atomic_path, write_json_atomic, write_parquet_atomic
from foundation.locking import writes_into
from weaklabel.config import BuildConfig, resolve_build_config
from weaklabel.dataset import BUILD_FILE, COLUMNS, FEATURES_FILE, SEGMENTS_FILE, Dataset, segment_columns
from weaklabel.labelling import count_build, detail_items, join_detail, label_rows, without_scorer_notes
from weaklabel.scorers import SCORERS
from weaklabel.scorers.batch import NOTES_COLUMN, score_texts


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dst) as tmp:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)


@dataclass(frozen=True)
class Relabelling:
    """What a re-labelling changes in a finished build's configuration (:class:`~weaklabel.config.BuildConfig`).

    Attributes
    ----------
    policy, neutral_band, folds, split_fractions, speakers, label_model :
        The new settings; None keeps the source's, except that another policy (or label model) comes with its own
        band unless one is given. ``label_model`` only with the ``calibrated`` policy.
    policy_fallback : str, optional
        With ``policy``: why policy ``auto`` resolved to it (recorded in ``build.json``, as a build records it).
    allow_empty_splits : bool
        Write the dataset even when a split gets no kept segment.
    """

    policy: str | None = None
    neutral_band: float | None = None
    folds: str | None = None
    split_fractions: tuple[float, float, float] | None = None
    speakers: str | None = None
    label_model: str | None = None
    policy_fallback: str | None = None
    allow_empty_splits: bool = False

    @classmethod
    def to(cls, config: BuildConfig) -> "Relabelling":
        """Every labelling setting of ``config``: a build of ``config``'s corpus, clips and features re-labelled
        with it has the configuration ``config``."""
        return cls(policy=config.policy, neutral_band=config.neutral_band, folds=config.folds,
                   split_fractions=config.split_fractions, speakers=config.speakers, label_model=config.label_model,
                   policy_fallback=config.policy_fallback, allow_empty_splits=config.allow_empty_splits)

    def applied_to(self, source: BuildConfig) -> BuildConfig:
        """``source`` (a finished build's configuration) with these changes."""
        changes = {k: v for k, v in {"policy": self.policy, "neutral_band": self.neutral_band, "folds": self.folds,
                                     "split_fractions": self.split_fractions, "speakers": self.speakers}.items()
                   if v is not None}
        if self.policy is not None or self.label_model is not None:  # the model and the band belong to the policy
            changes.update(label_model=self.label_model, policy_fallback=self.policy_fallback)
            if self.neutral_band is None:
                changes["neutral_band"] = None  # the new policy's own band
        return replace(source, **changes, allow_empty_splits=self.allow_empty_splits)


@writes_into("out_dir", "relabel")
def relabel_dataset(src_dir: str | Path, out_dir: str | Path, relabelling: Relabelling) -> Dataset:
    """Write ``out_dir``: the build in ``src_dir`` with another policy, band, folds file or split.

    Parameters
    ----------
    src_dir : a finished build
    out_dir : the new dataset folder (created; an existing ``build.json`` there is replaced last). It may be
        ``src_dir``: the build is re-labelled in place (what ``build_dataset`` does for ``--policy X --overwrite``
        on a finished build).
    relabelling : Relabelling
        What changes.

    Returns
    -------
    Dataset
        The re-labelled dataset in ``out_dir``.
    """
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    config = resolve_build_config(relabelling.applied_to(Dataset(src_dir).config))
    in_place = out_dir.resolve() == src_dir.resolve()
    source = Dataset(src_dir).record
    frame = pd.read_parquet(src_dir / SEGMENTS_FILE)
    # label_rows expects the reader's extra columns under their "extra:" names, as the merge has them.
    frame = frame.rename(columns={c: f"extra:{c}" for c in frame.columns if c not in COLUMNS})
    frame = with_scorers(frame, config.scorers())
    frame = label_rows(frame, config)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / BUILD_FILE).unlink(missing_ok=True)  # the completion mark goes first
    if not in_place:
        _link_or_copy(src_dir / FEATURES_FILE, out_dir / FEATURES_FILE)
    write_parquet_atomic(out_dir / SEGMENTS_FILE, frame)
    record = replace(source, fingerprint=config.build_fingerprint(source.units), config=config,
                     config_record=config.to_dict(), counts=count_build(frame),
                     columns=segment_columns(config.scorers()),
                     scorers={name: SCORERS[name].record() for name in config.scorers()},
                     relabelled_from=source.relabelled_from if in_place else
                     {"dataset": str(src_dir.resolve()), "fingerprint": source.fingerprint})
    write_json_atomic(out_dir / BUILD_FILE, record.to_dict())
    return Dataset(out_dir)


def with_scorers(frame: pd.DataFrame, scorers) -> pd.DataFrame:
    """``frame`` (a ``segments.parquet`` table) holding exactly the columns of ``scorers``: a scorer it lacks is
    run on its texts (its notes joining ``detail``, as in a build), and the columns and notes of a scorer not
    in ``scorers`` are dropped."""
    present = [name for name, scorer in SCORERS.items() if scorer.column_names[0] in frame.columns]
    dropped = [name for name in present if name not in scorers]
    missing = [name for name in scorers if name not in present]
    frame = frame.drop(columns=[c for name in dropped for c in SCORERS[name].column_names])
    frame["detail"] = [without_scorer_notes(d, dropped) for d in frame["detail"]]
    if missing:
        scored = score_texts(frame["text"], missing)
        for name in missing:
            for column in SCORERS[name].column_names:
                frame[column] = scored[column].to_numpy()
        # a build writes every scorer's notes in registry order: re-order them so the bytes agree
        order = {name: i for i, name in enumerate(SCORERS)}
        details = []
        for detail, notes in zip(frame["detail"], scored[NOTES_COLUMN]):
            items = detail_items(detail) + list(notes or ())
            own = [i for i in items if i.split(": ", 1)[0] in order]
            other = [i for i in items if i.split(": ", 1)[0] not in order]
            details.append(join_detail(other + sorted(own, key=lambda i: order[i.split(": ", 1)[0]])))
        frame["detail"] = details
    return frame
