"""Our EventSource events are byte for byte what sockjs-node writes for the same frame:
its own escaping function (npm ``sockjs`` 0.3.24, ``lib/utils.js``) is run on the frames
and compared with `fallback.protocol.eventsource_chunk`."""

from __future__ import annotations

import json
import os
import subprocess

from fallback.core.envelopes import eventsource_chunk
from fallback.core.frames import OutgoingMessage, close_frame, messages_frame

HERE = os.path.dirname(os.path.abspath(__file__))

SCRIPT = """
var utils = require("sockjs/lib/utils");
var frames = JSON.parse(require("fs").readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(frames.map(function (f) {
  return "data: " + utils.escape_selected(f, "\\r\\n\\x00") + "\\r\\n\\r\\n";
})));
"""

TEXTS = ["%", "%20", "%25", "%E0%A4", "100%", "%%", "\r\n", "\x00", "\u2028", "😀", "plain"]


def test_eventsource_events_match_sockjs_node_byte_for_byte():
    frames = [messages_frame([OutgoingMessage(t)]) for t in TEXTS]
    frames += ["o", "h", close_frame(3000, "50% off"), 'a["raw\r\nline", "\x00"]']
    result = subprocess.run(
        ["node", "-e", SCRIPT],
        input=json.dumps(frames),
        capture_output=True,
        text=True,
        cwd=HERE,
        timeout=30,
        check=True,
    )
    assert [eventsource_chunk(f) for f in frames] == json.loads(result.stdout)
