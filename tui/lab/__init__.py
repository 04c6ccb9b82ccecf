"""The lab's collaborators, wired by LabApp (tui/app.py): the side bar's preset pane, the work area (plots,
status line, runs table and the live loop), the training process's control, the runs of one start, the status
line and device header, the exporter and the lr range test.

May import: dltui.core, and the lab's shared modules one level up (form, keys, plots, tasks, viewkit, views).
"""
