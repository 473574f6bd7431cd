"""What wraps a frame on each transport: every byte a client sees around a frame.

A newline for XHR, ``data:`` lines for EventSource, ``<script>`` blocks in the htmlfile
page, a checked callback's call for JSONP; the streaming preludes; the greeting and the
``iframe.html`` page. The protocol suite checks them byte for byte.
"""

from __future__ import annotations

import re

from ..exceptions import CallbackError
from .frames import quote

#: xhr_streaming starts with 2 KiB of ``h`` and a newline so that old browsers start
#: delivering the body to script before the first real frame.
XHR_STREAMING_PRELUDE = "h" * 2048 + "\n"
#: EventSource starts with an empty line (Opera needed it).
EVENTSOURCE_PRELUDE = "\r\n"

WELCOME = "Welcome to SockJS!\n"


def xhr_chunk(frame: str) -> str:
    """xhr and xhr_streaming: one frame per line."""
    return frame + "\n"


#: What sockjs-node percent-encodes in EventSource events: ``%`` itself, and the three
#: characters an event line cannot carry (JSON frames never hold them raw, but a frame
#: is escaped the same way whatever it holds).
_EVENTSOURCE_ESCAPES = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A", "\x00": "%00"})


def eventsource_chunk(frame: str) -> str:
    """One EventSource event, escaped exactly as sockjs-node escapes it.

    sockjs-client runs ``decodeURI`` on every event's data, so a ``%`` must travel as
    ``%25`` or ``"%20"`` would arrive as ``" "`` (fallback.js decodes the same way).
    ``decodeURI`` only turns ``%25`` back into ``%`` here: after this escaping, every
    ``%`` in the data starts one of the four sequences below.
    """
    if "%" in frame or "\r" in frame or "\n" in frame or "\x00" in frame:
        frame = frame.translate(_EVENTSOURCE_ESCAPES)
    return "data: " + frame + "\r\n\r\n"


_CALLBACK = re.compile(r"[A-Za-z0-9_.]{1,128}")
MAX_CALLBACK_LENGTH = 128


def check_callback(callback: str | None) -> str:
    """Return a JSONP/htmlfile callback name that is safe to put in a script.

    Only ``[A-Za-z0-9_.]`` is allowed (sockjs-client uses names like ``_jp.a1b2c3``): a
    callback is never echoed unless it passes, which closes the reflected-script hole that
    sockjs-tornado left open.
    """
    if callback is None or callback == "":
        raise CallbackError('"callback" parameter required')
    if not _CALLBACK.fullmatch(callback):
        raise CallbackError('invalid "callback" parameter')
    return callback


#: The query argument with which `fallback.js` asks ``jsonp_send`` for `JSONP_SENT_PAGE`.
SEND_SIGNAL_PARAMETER = "fb_signal"
#: What ``info`` says when ``jsonp_send`` answers `SEND_SIGNAL_PARAMETER` (plain SockJS
#: clients ignore the key).
SEND_SIGNAL_INFO = {"v": 1}
#: ``jsonp_send``'s answer when asked with ``fb_signal=1``: still ``ok`` to read, and a
#: script that tells the window framing it that the post arrived. A form post cannot be
#: read from another origin, and a browser shows its own error page (also unreadable) in
#: the frame when the post fails: without the message, `fallback.js` could not tell a
#: failed send from one that arrived. The page is constant: nothing of the request is in it.
JSONP_SENT_PAGE = (
    "<!doctype html><html><head><script>"
    'try { parent.postMessage("fallback:sent", "*"); } catch (e) {}'
    "</script></head><body>ok</body></html>"
)


def jsonp_body(callback: str, frame: str) -> str:
    """A JSONP response: ``/**/`` defeats the Rosetta-Flash style content sniffing attack."""
    return "/**/" + callback + "(" + quote(frame) + ");\r\n"


_HTMLFILE_HEAD = """<!doctype html>
<html><head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
</head><body><h2>Don't panic!</h2>
  <script>
    %s
    c.start();
    function p(d) {c.message(d);};
    window.onload = function() {c.stop();};
  </script>
"""
#: The protocol's own page (the suite checks it byte for byte): its parent is
#: sockjs-client's iframe.html, which set document.domain too.
_HTMLFILE_PARENT = """document.domain = document.domain;
    var c = parent.%s;"""
#: For a page that is itself the parent (fallback.js asks with ``fb_direct=1``): it set no
#: document.domain, and in Firefox and WebKit (as the HTML standard says) setting it here
#: would make the parent cross-origin. The parent is reached directly, and only if that
#: fails (the page did set document.domain) is it set here too.
_HTMLFILE_DIRECT = """try { var c = parent.%s; } catch (e) {
      document.domain = document.domain;
      c = parent.%s;
    }"""


def htmlfile_prelude(callback: str, *, direct: bool = False) -> str:
    """The htmlfile page head, padded past 1 KiB because Safari buffers shorter pages.

    `direct`: the parent is the application's page itself, not sockjs-client's
    ``iframe.html`` (see `_HTMLFILE_DIRECT`).
    """
    reach = _HTMLFILE_DIRECT % (callback, callback) if direct else _HTMLFILE_PARENT % callback
    head = "\n" + (_HTMLFILE_HEAD % reach)
    return head + " " * max(0, 1024 - len(head)) + "\r\n\r\n"


def htmlfile_chunk(frame: str) -> str:
    """One frame as a script block of the htmlfile page.

    ``<`` travels as ``\\u003c`` (the same string to the script) so that a message
    holding ``</script>`` or ``<!--`` cannot end the block or start a comment in HTML.
    """
    return "<script>\np(" + quote(frame).replace("<", "\\u003c") + ");\n</script>\r\n"


IFRAME_TEMPLATE = """<!DOCTYPE html>
<html>
<head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <script src="%s"></script>
  <script>
    document.domain = document.domain;
    SockJS.bootstrap_iframe();
  </script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>"""


def iframe_page(sockjs_url: str) -> str:
    """The page sockjs-client's iframe-based transports load from the server's origin."""
    return IFRAME_TEMPLATE % html_attribute(sockjs_url)


def html_attribute(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )
