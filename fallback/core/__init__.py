"""The sans-I/O SockJS core: frames, payloads, sessions, resume -- plain data, no I/O.

Nothing here imports Tornado or asyncio (tests/unit/test_layers.py says so): the core
is driven by plain calls and a clock it is given, and tested that way.
"""
