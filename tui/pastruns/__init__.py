"""The past-runs screen: every saved run in one table, opened whole, compared, followed live. The screen wires
its collaborators: the listing (the table's rows), the following (a watcher's news), the live table, and
stopping.

May import: dltui.core, and the lab's shared modules one level up (keys, modals, plots, tasks, viewkit).
"""
