"""`dltui bench`: the benchmark cases and their goals, and the plain-PyTorch reference loops the lab is
measured against.

harness.py is the bottom (sizes, the repeat helper, the table of cases and goals, the registry, the runners);
cases.py and instruments.py register their cases with it when imported; reference.py holds the loops.
The top room: may import any room of core.
"""
