"""The lab's collaborators: the training process's control, the runs of one start and their table, the status
line and device header, the exporter, the lr range test, and the side bar's preset pane. LabApp (tui/app.py)
wires them."""
