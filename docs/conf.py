"""Sphinx configuration for fallback's documentation (``make docs``).

Sphinx, as Tornado and websockets use: the API reference comes from the docstrings
(autodoc), and MyST lets the guides be Markdown, the same text GitHub shows. Built with
warnings as errors, so a broken cross-reference, a missing anchor or a docstring that
does not parse fails the build.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import fallback

project = "fallback"
author = "the fallback authors"
copyright = "2026, the fallback authors"
release = version = fallback.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.viewcode"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
exclude_patterns = ["_build"]
default_role = "py:obj"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
html_theme = "furo"
html_title = f"fallback {release}"
html_static_path: list[str] = []
