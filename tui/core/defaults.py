"""Defaults that ``gitward --help`` and the console's first frame show before any scanning code
is loaded: a module of plain constants, so reading one costs nothing (``tui.core.discovery``,
where the scan uses them, pulls in git's config and file readers)."""

DEFAULT_MAX_DEPTH = 8  # GitLab hashed storage is 4 deep; leave room for nested roots
