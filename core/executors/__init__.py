"""Where runs execute: the runner that turns a RunSpec into a trainer and its sinks, the one driver loop
(drive) every executor runs under, local processes (the pool, the lab's training process, the preflight
checker) and Ray (session, task, wire format, pool).

May import: every room below it (rules .. export). Torch only inside the training processes.
"""
