"""The Textual lab. Talks to dltui.core only; never touches torch directly."""
