"""Tenants (virtual hosts): several applications on one server, fully isolated.

Each tenant has its own URL prefix, secret (signs its tokens), API key (its backend API),
channel rules and limits. Channel names are namespaced by tenant inside the hub, so the
same name in two tenants is two channels; a token or key of one tenant never acts on
another. Configured in TOML (`load_config`), parsed with the standard library's tomllib.

    [server]
    host = "127.0.0.1"
    port = 8080
    broker = "redis://127.0.0.1:6379/0"   # optional
    admin_key = "..."                      # optional: lists tenants at /_fallback/tenants
    [server.login_limits]                  # optional: wrong keys per client address
    free_failures = 5                      # then 429 for 1 s, doubling up to max_lockout
    lockout = 1.0
    max_lockout = 300.0

    [tenants.acme]
    prefix = "/acme"
    secret = "long random string"          # signs access tokens (HS256)
    api_key = "another long random string" # enables the backend HTTP API and admin page
    private = ["private-*"]                # channels that need a token
    presence = ["presence-*"]              # channels that need a token and show members
    client_publish = ["chat-*"]            # channels browsers may publish to (none by default)
    webhook = "http://127.0.0.1:9000/fallback-events"  # where browser triggers are POSTed
    max_channels_per_connection = 100
    admin = true                           # the admin page at /acme/admin
    max_history_size = 1000                # bounds of this tenant's history rules ...
    max_history_ttl = 86400                # ... (seconds)
    max_recovery = 1000                    # most publications one recovery or read returns
    [tenants.acme.history]                 # channels that keep history (first match wins)
    "news-*" = { size = 100, ttl = 600 }   # the last 100 publications, for 10 minutes
    [tenants.acme.settings]                # Router settings for this tenant
    heartbeat_delay = 25
"""

from __future__ import annotations

import dataclasses
import enum
import fnmatch
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..channels.history import DEFAULT_META_TTL, DEFAULT_RECOVERY_LIMIT, HistoryPolicy
from ..exceptions import ConfigurationError
from .ratelimit import Backoff
from .tokens import is_reserved

#: The largest history a tenant's rule may ask for unless the tenant says otherwise.
DEFAULT_MAX_HISTORY_SIZE = 1_000

_NAME = re.compile(r"[A-Za-z0-9_\-]{1,64}")


class ChannelKind(enum.Enum):
    PUBLIC = "public"
    PRIVATE = "private"
    PRESENCE = "presence"


@dataclasses.dataclass(frozen=True, slots=True)
class Tenant:
    name: str
    prefix: str
    secret: str
    api_key: str | None = None
    private: tuple[str, ...] = ("private-*",)
    presence: tuple[str, ...] = ("presence-*",)
    client_publish: tuple[str, ...] = ()
    webhook: str | None = None
    webhook_attempts: int = 5
    webhook_queue: int = 10_000
    max_channels_per_connection: int = 100
    admin: bool = False
    #: Channel pattern -> ``{"size": n, "ttl": seconds}``: the channels that keep history.
    history: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    max_history_size: int = DEFAULT_MAX_HISTORY_SIZE
    max_history_ttl: float = 86_400.0
    #: The most publications one recovery answers (more missed: ``recovered: false``)
    #: and one history read returns.
    max_recovery: int = DEFAULT_RECOVERY_LIMIT
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ConfigurationError(
                f"tenant name {self.name!r}: 1-64 characters of A-Z a-z 0-9 _ -"
            )
        for key in ("secret", "api_key"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, str):
                raise ConfigurationError(
                    f"tenant {self.name}: {key} must be a string (in TOML, in quotes)"
                )
        if not self.secret or len(self.secret) < 16:
            raise ConfigurationError(f"tenant {self.name}: secret must be at least 16 characters")
        if self.api_key is not None and len(self.api_key) < 16:
            raise ConfigurationError(f"tenant {self.name}: api_key must be at least 16 characters")
        if self.max_channels_per_connection < 1:
            raise ConfigurationError(
                f"tenant {self.name}: max_channels_per_connection must be >= 1"
            )
        if self.max_recovery < 1:
            raise ConfigurationError(f"tenant {self.name}: max_recovery must be >= 1")
        self.history_policies()  # every rule valid and within the tenant's bounds

    def history_policies(self) -> list[tuple[str, HistoryPolicy]]:
        """The tenant's history rules, checked: (channel pattern, policy), in order."""
        rules = []
        if not isinstance(self.history, Mapping):
            raise ConfigurationError(f"tenant {self.name}: history must be a table")
        for pattern, rule in self.history.items():
            where = f"tenant {self.name}: history rule {pattern!r}"
            if not isinstance(rule, Mapping) or set(rule) - {"size", "ttl"}:
                raise ConfigurationError(f"{where} must be {{ size = n, ttl = seconds }}")
            size, ttl = rule.get("size"), rule.get("ttl")
            if not isinstance(size, int) or not 1 <= size <= self.max_history_size:
                raise ConfigurationError(
                    f"{where}: size must be 1-{self.max_history_size} (max_history_size)"
                )
            if not isinstance(ttl, (int, float)) or not 0 < ttl <= self.max_history_ttl:
                raise ConfigurationError(
                    f"{where}: ttl must be 0-{self.max_history_ttl:g} s (max_history_ttl)"
                )
            rules.append((pattern, HistoryPolicy(size, ttl, max(DEFAULT_META_TTL, ttl))))
        return rules

    def kind(self, channel: str) -> ChannelKind:
        if is_reserved(channel):
            return ChannelKind.PRIVATE  # the server's feeds, whatever the patterns say
        if _matches(channel, self.presence):
            return ChannelKind.PRESENCE
        if _matches(channel, self.private):
            return ChannelKind.PRIVATE
        return ChannelKind.PUBLIC

    def client_may_publish(self, channel: str) -> bool:
        return not is_reserved(channel) and _matches(channel, self.client_publish)

    def hub_channel(self, channel: str) -> str:
        """The hub's name for this tenant's `channel` (tenants never share channels)."""
        return self.name + "/" + channel

    @property
    def hub_prefix(self) -> str:
        return self.name + "/"


def _matches(channel: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(channel, pattern) for pattern in patterns)


@dataclasses.dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    broker: str | None = None
    workers: str = "1"
    admin_key: str | None = None
    tenants: tuple[Tenant, ...] = ()
    #: Wrong keys allowed per client address before lockouts start (`fallback.ratelimit`).
    login_limits: Backoff = dataclasses.field(default_factory=Backoff)


_TENANT_KEYS = {f.name for f in dataclasses.fields(Tenant)} - {"name"}
_SERVER_KEYS = {"host", "port", "broker", "workers", "admin_key", "login_limits"}
_LOGIN_LIMIT_KEYS = {f.name for f in dataclasses.fields(Backoff)}


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigurationError(f"{where} must be a string or a list of strings")


def parse_config(data: Mapping[str, Any]) -> ServerConfig:
    """Validate a parsed TOML document; every unknown key is an error that names it."""
    unknown = set(data) - {"server", "tenants"}
    if unknown:
        raise ConfigurationError(
            f"unknown section(s) {', '.join(sorted(unknown))}; use [server] and [tenants.NAME]"
        )
    server = dict(data.get("server", {}))
    bad = set(server) - _SERVER_KEYS
    if bad:
        raise ConfigurationError(
            f"unknown [server] key(s) {', '.join(sorted(bad))}; "
            f"known: {', '.join(sorted(_SERVER_KEYS))}"
        )
    tenants = []
    prefixes: set[str] = set()
    for name, table in dict(data.get("tenants", {})).items():
        if not isinstance(table, dict):
            raise ConfigurationError(f"[tenants.{name}] must be a table")
        bad = set(table) - _TENANT_KEYS
        if bad:
            raise ConfigurationError(
                f"unknown [tenants.{name}] key(s) {', '.join(sorted(bad))}; "
                f"known: {', '.join(sorted(_TENANT_KEYS))}"
            )
        values = dict(table)
        for key in ("private", "presence", "client_publish"):
            if key in values:
                values[key] = _strings(values[key], f"tenants.{name}.{key}")
        values.setdefault("prefix", "/" + name)
        if "secret" not in values:
            raise ConfigurationError(
                f"[tenants.{name}] needs a secret (a random string of 16 or more "
                "characters: it signs the tenant's tokens)"
            )
        try:
            tenant = Tenant(name=name, **values)
        except (TypeError, ValueError) as error:  # a value of the wrong type
            raise ConfigurationError(f"[tenants.{name}]: {error}") from None
        if tenant.prefix in prefixes:
            raise ConfigurationError(f"two tenants share the prefix {tenant.prefix!r}")
        prefixes.add(tenant.prefix)
        tenants.append(tenant)
    if not tenants:
        raise ConfigurationError("the configuration defines no [tenants.NAME] table")
    port = server.get("port", 8080)
    if not isinstance(port, int):
        raise ConfigurationError("[server] port must be an integer")
    limits = server.get("login_limits", {})
    if not isinstance(limits, dict):
        raise ConfigurationError("[server.login_limits] must be a table")
    bad = set(limits) - _LOGIN_LIMIT_KEYS
    if bad:
        raise ConfigurationError(
            f"unknown [server.login_limits] key(s) {', '.join(sorted(bad))}; known: "
            f"{', '.join(sorted(_LOGIN_LIMIT_KEYS))}"
        )
    return ServerConfig(
        host=str(server.get("host", "127.0.0.1")),
        port=port,
        broker=server.get("broker"),
        workers=str(server.get("workers", "1")),
        admin_key=server.get("admin_key"),
        tenants=tuple(tenants),
        login_limits=Backoff(**limits),
    )


def load_config(path: str) -> ServerConfig:
    import tomllib

    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as error:
        raise ConfigurationError(f"cannot read {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{path} is not valid TOML: {error}") from None
    return parse_config(data)
