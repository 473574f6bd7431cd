"""Channels from the browser: the envelope protocol, tenants, authorization, backend API.

Opt-in: plain `fallback.Connection` applications and plain SockJS clients never see any
of it. A router serving `ChannelConnection` speaks the envelope in `envelope`.
"""

from .app import build_application, tenant_rules
from .runtime import ChannelConnection, TenantRuntime
from .tenants import ChannelKind, ServerConfig, Tenant, load_config, parse_config

__all__ = [
    "ChannelConnection",
    "ChannelKind",
    "ServerConfig",
    "Tenant",
    "TenantRuntime",
    "build_application",
    "load_config",
    "parse_config",
    "tenant_rules",
]
