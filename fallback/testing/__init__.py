"""Servers for tests and conformance runs (not part of the public API)."""
