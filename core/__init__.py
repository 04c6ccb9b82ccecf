"""dltui's engine, by role: one subpackage (a room) per job, each with a docstring that says what it may
import.

Bottom to top (a room imports only rooms below it; import-linter checks this, see pyproject.toml and
docs/architecture.md): rules, data, spec, readout, store, train, probes, export, executors, bench.
Nothing here imports textual; the CLI and the lab import from here.
"""
