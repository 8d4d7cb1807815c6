"""Self-contained HTML reports of a build: counts, weak labels, audio, model, acted-corpus evaluations, provenance.

* :mod:`reporting.inputs` reads everything a report shows from a dataset folder (the only module with I/O
  besides :func:`write_report`'s final write);
* :mod:`reporting.figures` draws plots as pure functions of arrays and dicts, returning PNG bytes;
* :mod:`reporting.html` holds the HTML building blocks (escaping, tables, figures, "not run yet" boxes,
  the page with its inline CSS and table of contents);
* :mod:`reporting.sections` composes them into the report's sections;
  :mod:`reporting.weak_curve` draws the weak-supervision benchmark's curve from its JSON record.

The page needs no server, no script and no network: images are embedded as base64 PNG. The same inputs
give the same bytes (no timestamps; PNG metadata fixed).
"""
from reporting.report import ReportConfig, build_report, default_report_path, render_report, write_report

__all__ = ["ReportConfig", "build_report", "default_report_path", "render_report", "write_report"]
