"""A run's folder on disk: the one fsync-and-rename writer (atomic), the typed readers of run files (files),
the writer and lister (folder: RunStore), the index of many runs, the owner lock, the stop request, and
following a growing run: one file (linetail), one run (runtail), many runs in a thread (watcher), what wakes
it (changes: inotify, network filesystems), and which runs to follow (batches).

May import: core.rules, core.spec. Never torch.
"""
