"""Thin Tornado handlers, one module per transport family, over `fallback.service`."""
