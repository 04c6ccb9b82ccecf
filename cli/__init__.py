"""The `dltui` command (typer): one module per command group; main.py builds the app; options.py declares the
options that several commands take, once.

May import: dltui.core and dltui.tui (the lab, when `dltui` opens it). `dltui --help` never imports torch.
"""
