"""The provenance section: the build's configuration and fingerprint, the weights every learned output used,
and library versions."""
from __future__ import annotations

from reporting.html import Section, esc, not_run, table
from reporting.inputs import ReportInputs
from reporting.sections.common import _command, _g, _intro
from weaklabel.dataset import METRICS_FILE, MODEL_DIR, MODEL_META_FILE
from foundation.paths import display_path
from transfer.weights import weights_text


def provenance_section(inputs: ReportInputs) -> Section:
    build = inputs.build
    config = build.config_record
    parts = [_intro("Everything needed to say exactly what this report describes: the build's configuration "
                    "and fingerprint, the weights every learned output used, and library versions.")]
    mel = config.get("mel", {})
    rows = [("dataset", f"<code>{esc(inputs.display_path)}</code>"),
            ("build fingerprint", f"<code>{esc(build.fingerprint)}</code>"),
            ("corpus", f"{esc(config.get('corpus'))} at <code>{esc(display_path(config.get('root')))}</code>"),
            ("clips", f"{_g(config.get('clip_seconds'))} s, seed {_g(config.get('seed'))}"),
            ("labels", f"policy <code>{esc(config.get('policy'))}</code>, neutral band "
                       f"{_g(config.get('neutral_band'))}"),
            ("splits", "train, validation, test " + esc(_g(config.get("split_fractions") or [])) + " by group"
             if not config.get("folds") else f"folds <code>{esc(display_path(config.get('folds')))}</code>"),
            ("log-mel", esc(", ".join(f"{k} {_g(v)}" for k, v in mel.items())) if mel else "—")]
    versions = build.versions
    if versions:
        rows.append(("library versions", esc(" · ".join(f"{k} {v}" for k, v in sorted(versions.items())))))
    parts.append('<dl class="kv">' + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>")

    parts.append("<h3>Weights used</h3>")
    if inputs.embeddings:
        table_rows = []
        for cached in inputs.embeddings:
            record = cached.record
            if record is None:
                table_rows.append([cached.file, "—", "—", "—", "—", "—", f"unreadable: {cached.error}"])
                continue
            w = record.weights or {}
            current = record.features_sha256 == inputs.features_sha256
            table_rows.append([record.key, record.settings.get("layer"), "×".join(str(s) for s in record.shape),
                               weights_text(w, path=False), str(w.get("sha256") or "")[:12] + "…", w.get("verified"),
                               "yes" if current and cached.array_present else
                               ("array missing" if current else "no: other features")])
        parts.append(table(["embeddings (cache key)", "layer", "shape", "weights, when computed", "weights sha256",
                            "verified", "of these features"], table_rows,
                           caption="embeddings/: cached embeddings, each extractor's under its own key (valid only "
                                   "for the build features they were computed from: the same features give the same "
                                   "embeddings, whichever build wrote them)"))
    else:
        parts.append(not_run("Embeddings", _command("embed", inputs) or "",
                             "No cached embeddings in the dataset folder.", box_id="not-run-embeddings"))
    if inputs.metrics is not None:
        outputs = [(METRICS_FILE, inputs.metrics.weights or {})] + (
            [(f"{MODEL_DIR}/{MODEL_META_FILE}", inputs.model_meta.weights or {})] if inputs.model_meta else [])
        parts.append(table(["output", "weights, in the training run",
                            "weights sha256 (VGG16: over its 26 arrays; Whisper: of model.bin)", "verified"],
                           [[name, weights_text(record, path=False), record.get("sha256"), record.get("verified")]
                            for name, record in outputs]))

    return Section("provenance", "Provenance", "\n".join(parts))
