"""gitward: a terminal console for the operators of git servers."""

__version__ = "0.1.0"
