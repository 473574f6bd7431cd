"""Adapters that let applications written for other SockJS servers run on fallback.

`fallback.compat.sockjs_tornado` speaks sockjs-tornado's API: an application moves over
by changing its import. Each adapter is a thin layer over `fallback.Connection`,
`fallback.Router` and `fallback.broadcast` -- no second implementation of the protocol --
and refuses, at start-up and by name, any setting it cannot honour.
"""
