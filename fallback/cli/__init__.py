"""The command line: ``python -m fallback serve`` (`main`) and ``fallback admin``
(`admin`, a client of the channel server's admin API)."""

from .main import build_parser, load_object, main

__all__ = ["build_parser", "load_object", "main"]
