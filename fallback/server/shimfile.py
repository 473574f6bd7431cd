"""Serving ``fallback.js``: revalidated on every load, gzipped for browsers that accept it.

The shim is 45 KB of readable source (no build step ships with the package) and about
14 KB gzipped. It is compressed once per version of the file, not per request, and the
two encodings are two representations with their own ETags (``Vary: Accept-Encoding``),
so caches and ``If-None-Match`` revalidation keep working with either.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass

from tornado.web import HTTPError, RequestHandler

#: The directory holding ``fallback.js`` (installed with the package).
SHIM_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static")
SHIM_PATH = os.path.join(SHIM_DIR, "fallback.js")


@dataclass(frozen=True)
class _Loaded:
    stamp: tuple[int, int]  # (mtime_ns, size): a new version of the file reloads it
    plain: bytes
    packed: bytes


_loaded: dict[str, _Loaded] = {}


def _load(path: str) -> _Loaded:
    status = os.stat(path)
    stamp = (status.st_mtime_ns, status.st_size)
    loaded = _loaded.get(path)
    if loaded is None or loaded.stamp != stamp:
        with open(path, "rb") as file:
            plain = file.read()
        loaded = _Loaded(stamp, plain, gzip.compress(plain, 9, mtime=0))
        _loaded[path] = loaded
    return loaded


def accepts_gzip(header: str) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (RFC 9110 12.5.3: ``gzip;q=0``
    refuses it, and a named ``gzip`` outranks ``*``)."""
    qualities: dict[str, float] = {}
    for item in header.split(","):
        name, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        qualities[name.lower()] = quality
    quality = qualities.get("gzip", qualities.get("x-gzip", qualities.get("*", 0.0)))
    return quality > 0


class ShimHandler(RequestHandler):
    """``fallback.js`` at ``<prefix>/fallback.js`` and ``/static/fallback.js``.

    ``Cache-Control: no-cache``: every load asks again, and gets a cheap 304 thanks to the
    ETag, so that an upgrade of the package reaches browsers at once. Readable
    cross-origin, for pages that add ``crossorigin`` or integrity checks to the tag.
    """

    def initialize(self, path: str = SHIM_PATH) -> None:
        self.path = path

    def check_xsrf_cookie(self) -> None:
        return None

    def head(self, *args: str) -> None:
        self._serve(body=False)

    def get(self, *args: str) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        try:
            loaded = _load(self.path)
        except OSError:
            raise HTTPError(404) from None
        packed = accepts_gzip(self.request.headers.get("Accept-Encoding", ""))
        content = loaded.packed if packed else loaded.plain
        self.set_header("Content-Type", "application/javascript; charset=UTF-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Vary", "Accept-Encoding")
        if packed:
            self.set_header("Content-Encoding", "gzip")
        # The file's version and the encoding, known before anything is written (so HEAD
        # gets the same ETag as GET, and a revalidation costs no read of the body).
        self.set_header("Etag", f'"{self._etag(loaded, packed)}"')
        if self.check_etag_header():
            self.set_status(304)
            return
        if body:
            self.write(content)
        else:
            self.set_header("Content-Length", str(len(content)))

    @staticmethod
    def _etag(loaded: _Loaded, packed: bool) -> str:
        mtime, size = loaded.stamp
        return f"{mtime:x}-{size:x}" + ("-gz" if packed else "")
