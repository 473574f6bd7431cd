"""Flash socket policy: the request, the answer, and where the answer's contents come from.

Before a Flash movie (web-socket-js and its forks emulate WebSocket this way) opens a TCP
socket, Flash Player connects to port 843 of the target host -- and, failing that, to the
target port itself -- sends ``<policy-file-request/>`` and a NUL byte, and waits for a
``<cross-domain-policy>`` XML document terminated by NUL. Without an answer that names the
page's domain and the port, the socket is refused.

This module is the sans-I/O half: what a request looks like (`match_request`, also for
requests that arrive in pieces) and what to answer (`FlashPolicy`). It imports no I/O
library; `fallback.policyserver` moves the bytes with Tornado.

Facts from Adobe's socket policy documentation that shape the answer:

* ``to-ports`` takes single ports, ranges (``516-523``), comma lists and ``*``.
* A policy served from a port >= 1024 may only grant ports >= 1024; the one on port 843
  (the *master* policy) may grant any. `FlashPolicy.document` keeps whatever it is given;
  `FlashPolicy.grants_low_ports` lets callers warn.
* ``domain`` is a host name, an IP address, ``*.example.com`` or ``*``.
* The default meta-policy for sockets is "all", so a policy on the destination port counts
  even when port 843 answers too; no ``<site-control>`` element is needed.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from ..exceptions import ConfigurationError

#: What Flash Player sends, to port 843 and in-band alike.
POLICY_REQUEST = b"<policy-file-request/>\0"

#: No HTTP request (nor TLS ClientHello, nor HTTP/2 preface) starts with this byte, so one
#: byte is enough to tell a policy request from HTTP on a shared port.
POLICY_REQUEST_FIRST_BYTE = POLICY_REQUEST[:1]

#: Where Flash Player looks first. Binding it needs privileges (see the README).
DEFAULT_POLICY_PORT = 843

#: A policy client that has not sent its whole request by then is disconnected. Flash
#: sends the request as soon as it connects; this only bounds what idle sockets cost.
DEFAULT_POLICY_TIMEOUT = 5.0


class RequestState(enum.Enum):
    """How the bytes received so far on a policy connection compare to `POLICY_REQUEST`."""

    #: A proper prefix of the request: keep reading.
    INCOMPLETE = "incomplete"
    #: Exactly the request: answer it.
    COMPLETE = "complete"
    #: Anything else: close without an answer.
    REFUSED = "refused"


def match_request(received: bytes) -> RequestState:
    """Judge everything received so far on a connection (pieces joined, in order).

    Bytes past the request's NUL are refused too: Flash sends nothing after it and waits
    for the answer, so extra bytes mean some other client.
    """
    if received == POLICY_REQUEST:
        return RequestState.COMPLETE
    if len(received) < len(POLICY_REQUEST) and POLICY_REQUEST.startswith(received):
        return RequestState.INCOMPLETE
    return RequestState.REFUSED


def bytes_still_needed(received: bytes) -> int:
    """How many more bytes to read at most: never more than the request's length in all."""
    return max(0, len(POLICY_REQUEST) - len(received))


# A host name, an IPv4 address, or a wildcard over a domain; IPv6 literals in brackets or
# bare. Validation is for the operator's sake (a typo should fail at start-up); the
# document is XML-escaped regardless.
_DOMAIN = re.compile(
    r"""
    \*                                   # any domain
    | (\*\.)?[A-Za-z0-9_]([A-Za-z0-9_\-]*[A-Za-z0-9_])?
      (\.[A-Za-z0-9_]([A-Za-z0-9_\-]*[A-Za-z0-9_])?)*\.?  # (wildcard) host or IPv4
    | \[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]?   # IPv6
    """,
    re.VERBOSE,
)


def normalize_domain(domain: str) -> str:
    """A ``domain`` attribute value, or ConfigurationError naming what is wrong."""
    if not isinstance(domain, str):
        raise ConfigurationError(f"flash policy domain {domain!r} must be a string")
    value = domain.strip()
    if not value or not _DOMAIN.fullmatch(value):
        raise ConfigurationError(
            f"flash policy domain {domain!r} is not a host name, an IP address, "
            "'*.example.com' or '*'"
        )
    return value.lower()


def normalize_ports(ports: Iterable[int | str] | int | str) -> tuple[str, ...]:
    """``to-ports`` entries: ``8080``, ``"8000-8100"``, ``"80,443"`` or ``"*"``, checked."""
    if isinstance(ports, (int, str)):
        ports = [ports]
    entries: list[str] = []
    for port in ports:
        pieces = [port] if isinstance(port, int) else str(port).split(",")
        for piece in pieces:
            entry = _normalize_port_entry(piece)
            if entry not in entries:
                entries.append(entry)
    if not entries:
        raise ConfigurationError("flash policy ports must name at least one port")
    return tuple(entries)


def _port_number(text: str, original: object) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigurationError(
            f"flash policy port {original!r} is not a port (1-65535), a range "
            "such as '8000-8100', or '*'"
        )
    return int(text)


def _normalize_port_entry(entry: int | str) -> str:
    if isinstance(entry, bool):
        raise ConfigurationError(f"flash policy port {entry!r} is not a port")
    if isinstance(entry, int):
        return str(_port_number(str(entry), entry))
    text = entry.strip()
    if text == "*":
        return text
    low, dash, high = text.partition("-")
    if not dash:
        return str(_port_number(low.strip(), entry))
    first, last = _port_number(low.strip(), entry), _port_number(high.strip(), entry)
    if first > last:
        raise ConfigurationError(f"flash policy port range {entry!r} runs backwards")
    return f"{first}-{last}" if first != last else str(first)


def domains_from_origins(origins: Iterable[str]) -> tuple[str, ...]:
    """The hosts of an ``allowed_origins`` list, as policy domains (order kept, no repeats).

    ``https://app.example`` and ``app.example:8080`` give ``app.example``; ``*.example``
    stays a wildcard; ``*`` stays ``*`` (the operator allowed every origin by name);
    ``null`` (pages opened from files) has no host and gives nothing.
    """
    domains: list[str] = []
    for origin in origins:
        host = _origin_host(origin.strip())
        if host and host not in domains:
            domains.append(host)
    return tuple(domains)


def _origin_host(origin: str) -> str | None:
    if origin in ("*", "*:*"):
        return "*"
    if not origin or origin == "null":
        return None
    if "://" in origin:
        host = urlsplit(origin).hostname or ""
    elif origin.startswith("["):
        host = origin[1 : origin.find("]")] if "]" in origin else ""
    else:
        host = origin.rsplit(":", 1)[0] if origin.count(":") == 1 else origin
    try:
        return normalize_domain(host)
    except ConfigurationError:
        return None


def _xml_attribute(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


@dataclasses.dataclass(frozen=True, slots=True)
class FlashPolicy:
    """Which page domains may open sockets to which ports; `answer` is what goes out.

    An empty `domains` is a valid policy that grants nothing (Flash refuses every socket),
    which is what a server with no configured origins gets rather than ``*``.
    """

    domains: tuple[str, ...]
    ports: tuple[str, ...]
    #: The XML document and its NUL terminator, built once: every policy client gets these
    #: same bytes.
    answer: bytes = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        given: object = self.domains  # typed as a tuple; callers may still pass a str
        if isinstance(given, str):
            raise ConfigurationError("flash policy domains must be a list, not one string")
        domains: list[str] = []
        for domain in self.domains:
            value = normalize_domain(domain)
            if value not in domains:
                domains.append(value)
        object.__setattr__(self, "domains", tuple(domains))
        object.__setattr__(self, "ports", normalize_ports(self.ports))
        object.__setattr__(self, "answer", self.document().encode("utf-8") + b"\0")

    @classmethod
    def build(
        cls,
        domains: Iterable[str] | str | None,
        ports: Iterable[int | str] | int | str,
        *,
        allowed_origins: Iterable[Iterable[str] | None] = (),
    ) -> FlashPolicy:
        """The policy for a server: explicit `domains`, else the hosts of its origin lists.

        `domains` may be one comma-separated string (as the command line gives it).
        `allowed_origins` holds one ``allowed_origins`` setting per router; a router that
        allows any origin (``None``) adds no domain, so the default is never ``*`` unless
        an origin list says ``*``.
        """
        if isinstance(domains, str):
            domains = [part for part in domains.split(",") if part.strip()]
        if domains is None:
            gathered: list[str] = []
            for origins in allowed_origins:
                gathered.extend(domains_from_origins(origins or ()))
            domains = gathered
        else:
            expanded: list[str] = []
            for entry in domains:
                expanded.extend(part for part in str(entry).split(",") if part.strip())
            domains = expanded
        return cls(tuple(domains), normalize_ports(ports))

    def document(self) -> str:
        lines = ['<?xml version="1.0"?>', "<cross-domain-policy>"]
        to_ports = _xml_attribute(",".join(self.ports))
        for domain in self.domains:
            lines.append(
                f'<allow-access-from domain="{_xml_attribute(domain)}" to-ports="{to_ports}"/>'
            )
        lines.append("</cross-domain-policy>")
        return "\n".join(lines) + "\n"

    @property
    def grants_low_ports(self) -> bool:
        """Whether it names a port below 1024, which only a policy on such a port may grant."""
        for entry in self.ports:
            if entry == "*":
                return True
            if int(entry.split("-")[0]) < 1024:
                return True
        return False
