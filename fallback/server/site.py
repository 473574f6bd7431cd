"""A folder of pages served next to the services (``fallback serve --static DIR``).

So that the quick start is one command and one ``index.html``: the folder's files are
served at ``/`` (``index.html`` for ``/`` and for each sub-folder). Hidden files and
folders (a name starting with ``.``: ``.env``, ``.git``) are never served, and nothing
outside the folder is reachable (Tornado's `StaticFileHandler` checks every path).
"""

from __future__ import annotations

import os
from typing import Any

import tornado.web
from tornado.routing import Rule
from tornado.web import HTTPError, StaticFileHandler

from ..exceptions import ConfigurationError

__all__ = ["SiteHandler", "site_rules"]


class SiteHandler(StaticFileHandler):
    """`StaticFileHandler` without hidden files, and with ``nosniff``."""

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        relative = os.path.relpath(absolute_path, root)
        if any(part.startswith(".") and part not in (".", "..") for part in relative.split(os.sep)):
            raise HTTPError(404)
        return super().validate_absolute_path(root, absolute_path)

    def set_extra_headers(self, path: str) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")


def site_rules(directory: str) -> tuple[list[Rule], list[Rule]]:
    """The rules serving `directory`: (the one for ``/`` alone, which goes before the
    routers' so that ``index.html`` wins over a service's greeting at ``/``; the
    catch-all, which goes after every other rule)."""
    if not os.path.isdir(directory):
        raise ConfigurationError(f"--static {directory}: not a directory")
    options: dict[str, Any] = {"path": os.path.abspath(directory), "default_filename": "index.html"}
    return (
        [tornado.web.url(r"/()", SiteHandler, options)],
        [tornado.web.url(r"/(.*)", SiteHandler, options)],
    )
