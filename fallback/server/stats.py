"""Statistics: what each router's sessions did, as JSON and as Prometheus text.

Opt-in (``make_application(..., stats="/_stats")`` or ``--stats-path``) and answered only
to addresses on an allow-list (loopback by default): the numbers say how busy the
service is and which clients it refuses, which is nobody else's business.

``<path>`` answers JSON; ``<path>/metrics`` answers the Prometheus text exposition
format 0.0.4. Both are built on request from counters the sessions keep anyway
(`fallback.session.Counters`, `Service.refused`, the registry's opened/closed tallies),
so statistics cost nothing until someone asks; a request walks the live sessions once
(for the per-transport and queued gauges).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from tornado.routing import Rule
from tornado.web import RequestHandler, url

from ..app.service import Service
from ..core.logsafe import get_logger
from ..core.settings import TRANSPORTS
from ..core.states import SessionState
from ..exceptions import ConfigurationError

log = get_logger("fallback.stats")

#: Who may read statistics unless told otherwise: this machine only.
DEFAULT_STATS_ALLOW: tuple[str, ...] = ("127.0.0.0/8", "::1/128")

#: The Application setting where `fallback.server.make_application` records its routers.
ROUTERS_SETTING = "fallback_routers"

#: Transport labels always present (at 0) so that dashboards see every series.
TRANSPORT_LABELS: tuple[str, ...] = (*TRANSPORTS, "rawwebsocket")

#: Refusal reasons always present (at 0); others appear once they happen.
REFUSAL_REASONS: tuple[str, ...] = (
    "origin",
    "too_big",
    "bad_payload",
    "bad_callback",
    "unknown_session",
    "not_found",
    "different_ip",
    "max_sessions",
    "queue_overflow",
    "resume",
    "shutting_down",
)

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RouterLike(Protocol):
    """What statistics need of a `fallback.Router`."""

    prefix: str
    service: Service


def parse_allow(allow: Iterable[str] | str) -> tuple[Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` or a list of addresses and networks."""
    if isinstance(allow, str):
        allow = allow.split(",")
    networks: list[Network] = []
    for entry in allow:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ConfigurationError(
                f"stats allow-list entry {entry!r} is not an IP address or network "
                "(such as 127.0.0.1 or 10.0.0.0/8)"
            ) from None
    return tuple(networks)


def address_allowed(address: str | None, networks: Sequence[Network]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def label(prefix: str) -> str:
    """The ``prefix`` label of a router: its URL prefix, ``/`` for the root."""
    return prefix or "/"


def router_stats(router: RouterLike) -> dict[str, Any]:
    """One router's numbers (the JSON endpoint's value for its prefix)."""
    service = router.service
    registry = service.registry
    counters = registry.counters
    by_transport: Counter[str] = Counter({name: 0 for name in TRANSPORT_LABELS})
    queued = queued_bytes = 0
    open_sessions = 0
    for session in registry:
        by_transport[session.transport] += 1
        queued += session.queued
        queued_bytes += session.queued_bytes
        if session.state is SessionState.OPEN:
            open_sessions += 1
    refusals: dict[str, int] = {reason: 0 for reason in REFUSAL_REASONS}
    refusals.update(service.refused)
    refusals["queue_overflow"] = refusals.get("queue_overflow", 0) + counters.overflowed
    return {
        "sessions": {
            "total": len(registry),
            "open": open_sessions,
            "by_transport": dict(by_transport),
        },
        "sessions_opened": {
            **{name: 0 for name in TRANSPORT_LABELS},
            **dict(registry.opened),
        },
        "sessions_closed": {str(code): n for code, n in sorted(registry.closed_by_code.items())},
        "receivers_attached": counters.attached,
        "messages": {"received": counters.received, "sent": counters.sent},
        "bytes": {"received": counters.bytes_received, "sent": counters.bytes_sent},
        "queued": {"messages": queued, "bytes": queued_bytes},
        "queue_high_water": counters.queue_high_water,
        "refusals": refusals,
        "resumed": service.resumed,
        "replayed": counters.replayed,
        "draining": service.draining,
    }


def collect(routers: Iterable[RouterLike]) -> dict[str, Any]:
    """Every router's numbers, keyed by prefix, plus the process id."""
    return {
        "pid": os.getpid(),
        "routers": {label(router.prefix): router_stats(router) for router in routers},
    }


# -- Prometheus text format 0.0.4 -----------------------------------------------------

#: One sample of a family: its labels (besides ``prefix``) and its value.
_Sample = tuple[dict[str, str], float]


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _families(stats: dict[str, Any]) -> list[tuple[str, str, str, list[_Sample]]]:
    """The metric families of one router's stats (labels without ``prefix``)."""
    return [
        (
            "fallback_sessions",
            "gauge",
            "Sessions held now (open, or closed and not yet forgotten), by transport.",
            [({"transport": t}, n) for t, n in stats["sessions"]["by_transport"].items()],
        ),
        (
            "fallback_sessions_opened_total",
            "counter",
            "Sessions created, by transport of their first request.",
            [({"transport": t}, n) for t, n in stats["sessions_opened"].items()],
        ),
        (
            "fallback_sessions_closed_total",
            "counter",
            "Sessions forgotten, by the close code they ended with.",
            [({"code": code}, n) for code, n in stats["sessions_closed"].items()],
        ),
        (
            "fallback_receivers_attached_total",
            "counter",
            "Requests and sockets that came to carry frames to a client (polls, streams).",
            [({}, stats["receivers_attached"])],
        ),
        (
            "fallback_messages_received_total",
            "counter",
            "Messages received from clients.",
            [({}, stats["messages"]["received"])],
        ),
        (
            "fallback_messages_sent_total",
            "counter",
            "Messages handed to transports for clients.",
            [({}, stats["messages"]["sent"])],
        ),
        (
            "fallback_bytes_received_total",
            "counter",
            "Payload bytes received from clients.",
            [({}, stats["bytes"]["received"])],
        ),
        (
            "fallback_bytes_sent_total",
            "counter",
            "Frame bytes handed to transports (before transport envelopes).",
            [({}, stats["bytes"]["sent"])],
        ),
        (
            "fallback_queued_messages",
            "gauge",
            "Messages waiting in session queues now.",
            [({}, stats["queued"]["messages"])],
        ),
        (
            "fallback_queue_high_water_messages",
            "gauge",
            "The longest any session's queue has been.",
            [({}, stats["queue_high_water"])],
        ),
        (
            "fallback_refusals_total",
            "counter",
            "Requests, sockets and sessions refused, by reason.",
            [({"reason": r}, n) for r, n in stats["refusals"].items()],
        ),
        (
            "fallback_resumed_total",
            "counter",
            "Connections resumed on a new transport after theirs dropped.",
            [({}, stats["resumed"])],
        ),
        (
            "fallback_replayed_messages_total",
            "counter",
            "Messages sent again to resumed connections.",
            [({}, stats["replayed"])],
        ),
        (
            "fallback_draining",
            "gauge",
            "1 while the process shuts down and refuses new sessions.",
            [({}, stats["draining"])],
        ),
    ]


def prometheus_text(routers: Iterable[RouterLike]) -> str:
    """Every router's numbers in the Prometheus text format, label ``prefix`` per router."""
    families: dict[str, tuple[str, str, list[str]]] = {}
    for router in routers:
        prefix = _escape_label(label(router.prefix))
        for name, kind, help_text, samples in _families(router_stats(router)):
            lines = families.setdefault(name, (kind, help_text, []))[2]
            for labels, value in samples:
                pairs = [f'prefix="{prefix}"'] + [
                    f'{key}="{_escape_label(str(text))}"' for key, text in labels.items()
                ]
                lines.append(f"{name}{{{','.join(pairs)}}} {_number(value)}")
    out: list[str] = []
    for name, (kind, help_text, lines) in families.items():
        out.append(f"# HELP {name} {_escape_help(help_text)}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(lines)
    return "\n".join(out) + "\n"


# -- handlers ---------------------------------------------------------------------------


class _StatsHandler(RequestHandler):
    def initialize(self, allow: tuple[Network, ...]) -> None:
        self.allow = allow

    def check_xsrf_cookie(self) -> None:
        return None

    def compute_etag(self) -> str | None:
        return None

    def prepare(self) -> None:
        if not address_allowed(self.request.remote_ip, self.allow):
            log.warning(
                "refused statistics to %s (%s not in the allow-list)",
                self.request.remote_ip,
                self.request.path,
            )
            self.refused = True  # logged here once; the access log says INFO
            self.set_status(403)
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            self.finish("Forbidden.")
            return
        self.set_header("Cache-Control", "no-store")

    def routers(self) -> Sequence[RouterLike]:
        routers: Sequence[RouterLike] = self.application.settings.get(ROUTERS_SETTING, ())
        return routers


class StatsJSONHandler(_StatsHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(collect(self.routers()), sort_keys=True))


class PrometheusHandler(_StatsHandler):
    def get(self) -> None:
        self.set_header("Content-Type", PROMETHEUS_CONTENT_TYPE)
        self.finish(prometheus_text(self.routers()))


def stats_rules(path: str, allow: Iterable[str] | str = DEFAULT_STATS_ALLOW) -> list[Rule]:
    """``path`` (JSON) and ``path/metrics`` (Prometheus), for addresses in `allow`."""
    if not isinstance(path, str) or not path.startswith("/") or path.rstrip("/") == "":
        raise ConfigurationError(f"stats path {path!r} must be a URL path such as /_stats")
    path = path.rstrip("/")
    networks = parse_allow(allow)
    arguments = {"allow": networks}
    return [
        url(re.escape(path) + "/?", StatsJSONHandler, arguments),
        url(re.escape(path) + "/metrics", PrometheusHandler, arguments),
    ]
