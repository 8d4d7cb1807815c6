"""foundation: the bottom layer, with no knowledge of speech or models.

Atomic writes (:mod:`foundation.atomic`), the executor that runs tasks in process, in local processes or on
Dask (:mod:`foundation.executor`), content digests (:mod:`foundation.digests`), binary-classification metrics
with bootstrap intervals (:mod:`foundation.metrics`), generic result tables (:mod:`foundation.tables`), config
dataclasses and the command lines and TOML tables made from them (:mod:`foundation.config`), paths as an
output's reader should see them (:mod:`foundation.paths`), and lazy package exports (:mod:`foundation.exports`).
``weaklabel`` and ``transfer`` both build on it; it imports neither.
"""
