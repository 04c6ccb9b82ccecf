"""The shipped presets: one TOML file each (see dltui.core.presets for the format)."""
