"""sockjs-tornado's ``transports.pollingbase`` module.

fallback serves every transport with its own handlers, so the classes exist for
imports only and raise `fallback.exceptions.UnsupportedError` when instantiated.
"""

from __future__ import annotations

from .._gone import TRANSPORT_INSTEAD as INSTEAD
from .._gone import placeholder

__all__ = ["PollingTransportBase"]

PollingTransportBase = placeholder("transports.pollingbase", "PollingTransportBase", INSTEAD)
