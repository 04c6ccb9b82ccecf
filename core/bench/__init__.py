"""`dltui bench`: the benchmark cases and their goals, and the plain-PyTorch reference loops the lab is measured
against.

The top room: may import any room of core.
"""
