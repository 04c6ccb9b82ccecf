"""Runs for a report: CSV and JSON (writer), matplotlib figures (figures: metric curves; probefigures: what
probes measured, as core.spec.probes names them), TensorBoard event files (tensorboard), and the flat tag
names both use (tags).

May import: rules, data, spec, readout, store, train (its events). Never textual; matplotlib lazily.
"""
