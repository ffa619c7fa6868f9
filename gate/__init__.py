"""pullgate: prove, before a deploy, that every pod's images pull and its secrets exist."""

__version__ = "0.1.0"
