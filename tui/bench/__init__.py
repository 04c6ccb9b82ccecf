"""The lab's own benchmark cases, measured in a Textual pilot: its stalls and its speed against headless
(`dltui bench`), and the `--scale` suite (many runs, long runs, watching). They register with
core/bench/harness.py; cli/bench.py imports them.

May import: dltui.core and the lab (tui/); imports textual.
"""
