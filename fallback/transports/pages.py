"""The service's fixed pages: greeting, ``info`` and ``iframe.html``."""

from __future__ import annotations

import hashlib
import json
import secrets

from ..core import binary, envelopes, negotiate
from ..core.origins import frame_ancestors
from .base import TEXT_HTML, TEXT_PLAIN, BaseHandler


class GreetingHandler(BaseHandler):
    """``GET <prefix>`` and ``<prefix>/``: proves the URL is a SockJS service."""

    def get(self) -> None:
        self.set_header("Content-Type", TEXT_PLAIN)
        self.finish(envelopes.WELCOME)


class InfoHandler(BaseHandler):
    """``<prefix>/info``: what the server offers; its round trip is the client's RTT probe.

    Answered without touching sessions so that it stays fast under load. Beyond the keys
    the SockJS protocol defines, ``transports`` lists what this browser should try, best
    first (`fallback.negotiate`); clients that do not know the key ignore it.
    """

    allowed_methods = ("OPTIONS", "GET")

    def get(self) -> None:
        settings = self.service.settings
        body: dict[str, object] = {
            "websocket": settings.websocket_enabled,
            "origins": ["*:*"],
            "cookie_needed": settings.jsessionid,
            "entropy": secrets.randbits(32),
            "transports": negotiate.offered_transports(
                self.request.headers.get("User-Agent"),
                disabled=settings.disabled_transports,
                websocket=settings.websocket_enabled,
                flash=settings.raw_websocket,
                cross_origin=negotiate.is_cross_origin(
                    self.request.headers.get("Origin"), self.request.headers.get("Host")
                ),
                cookie_needed=settings.jsessionid,
            ),
        }
        # How often this server sends heartbeats: fallback.js treats a transport silent for
        # about twice as long as dead (plain SockJS clients ignore the key).
        body["heartbeat_delay"] = settings.heartbeat_delay
        if settings.resume:
            # The resume extension (fallback.resume); plain SockJS clients ignore it.
            body["resume"] = {"v": 1, "grace": settings.resume_grace}
        # jsonp_send signals the frame it answers into (envelopes.JSONP_SENT_PAGE).
        body["send_signal"] = envelopes.SEND_SIGNAL_INFO
        if settings.binary:
            # The binary extension (fallback.core.binary); plain SockJS clients ignore it.
            # "max" (max_message_size) lets the client keep each request under it.
            body["binary"] = {**binary.INFO, "max": settings.max_message_size}
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_no_cache()
        self.set_cors_headers()
        self.finish(json.dumps(body))


class IframeHandler(BaseHandler):
    """``<prefix>/iframe*.html``: loads the SockJS client from our origin, cached a year,
    and framed only by the pages ``allowed_origins`` admits (CSP ``frame-ancestors``)."""

    def get(self) -> None:
        page = envelopes.iframe_page(self.service.settings.sockjs_url).encode("utf-8")
        etag = '"' + hashlib.sha1(page).hexdigest() + '"'
        self.set_header("Content-Type", TEXT_HTML)
        self.set_cache_forever()
        self.set_header("Etag", etag)
        # Only allowed pages may frame it, even when a browser serves it from its cache.
        self.set_header(
            "Content-Security-Policy", frame_ancestors(self.service.settings.allowed_origins)
        )
        if self.check_etag_header():
            self.set_status(304)
            self.finish()
            return
        self.finish(page)
