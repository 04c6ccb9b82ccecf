"""dltui: a terminal learning-dynamics lab."""

__version__ = "0.1.0"
