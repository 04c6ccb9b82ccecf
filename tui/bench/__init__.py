"""Benchmark cases that drive the lab in a pilot (dltui bench --tui, --scale): its stalls and its speed
against headless. Registered with core.bench; imports textual."""
