"""The report's sections, each a function of :class:`reporting.inputs.ReportInputs` returning a Section.

Order and content: the build (counts, failures, durations, splits), the weak labels (balance, the two
scorers and the policy's band, agreement and conflict, example sentences), the audio (log-mel examples),
the model (ROC curves and metrics), acted-corpus evaluations and label quality (generic tables written by other tools),
provenance (configuration, weights and embeddings identity, library versions). A missing piece is shown
as a "not run yet" box with the command that makes it.
"""
from __future__ import annotations

from reporting.inputs import ReportInputs
from reporting.html import Section
from reporting.sections.audio import audio_section
from reporting.sections.build import build_section
from reporting.sections.header import header
from reporting.sections.labels import labels_section
from reporting.sections.model import model_section
from reporting.sections.provenance import provenance_section
from reporting.sections.tables import acted_evaluation_section, label_quality_section

__all__ = ["SECTIONS", "all_sections", "header"]


def weak_supervision_section(inputs: ReportInputs) -> Section:
    from reporting.weak_curve import weak_supervision_section as render

    return render(inputs.weak_supervision)


SECTIONS = (build_section, labels_section, audio_section, model_section, acted_evaluation_section,
            weak_supervision_section, label_quality_section, provenance_section)


def all_sections(inputs: ReportInputs) -> list[Section]:
    return [make(inputs) for make in SECTIONS]
