"""The shipped presets: one TOML file each (see dltui.core.spec.presets for the format). Data, no code."""
