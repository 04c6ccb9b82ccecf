"""What both faces show of a run, computed the same way for each: a run's colours, the points a curve is drawn
from, the live tracks and records of a growing run, sweeps read as groups and bands, a run's confusion
matrix, and the run card.

May import: core.rules, core.spec. Never textual, never torch.
"""
