"""Errors a user can fix. The CLI prints their message as one line and exits 2."""


class BadInput(Exception):
    """Bad input: unknown preset or key, bad value, unreadable file, missing dataset.

    The message is one line that says what is wrong, where, what is allowed and how to fix it.
    """

    exit_code = 2


class DataMissing(BadInput):
    """A dataset is not on disk and could not be downloaded."""
