"""Channel history in Redis Streams: the two Lua scripts and how to read their answers.

One stream per channel with history, ``ns:s:<channel>``, whose entry ids are the
publications' offsets (``<offset>-0``) and whose fields are ``d`` (the text) and ``t``
(when, in Redis's clock, ms); and one hash, ``ns:m:<channel>``, with ``o`` (the last offset)
and ``e`` (the epoch). Both run inside Redis, atomically, so that every process sees one
sequence of positions:

* `APPEND` numbers a publication, adds it (``XADD ... MAXLEN size``: trimmed by size),
  renews both keys' expiry (the stream's by the TTL, the hash's by the longer meta TTL) and
  PUBLISHes it with its position on the channel's pub/sub channel -- one command, so no
  process can see a position before the publication is in the stream.
* `READ` answers the latest position and the entries after an offset (or the latest ones),
  leaving out those older than the TTL. A channel without the hash -- never published to,
  expired, or a Redis restarted without persistence -- gets one with a new epoch and
  offset 0: the old epoch is gone for good, and anyone recovering from it is told so.
"""

from __future__ import annotations

from typing import Any

from ..history import Position, Publication

#: The pub/sub payload kind of a publication with its position.
HISTORY_KIND = "h"

# KEYS: stream, meta, pub/sub channel.
# ARGV: sender, text, size, ttl ms, meta ttl ms, epoch to start if there is none.
APPEND = """
local offset = redis.call('HINCRBY', KEYS[2], 'o', 1)
local epoch = redis.call('HGET', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[6]
  redis.call('HSET', KEYS[2], 'e', epoch)
  redis.call('DEL', KEYS[1])
end
local now = redis.call('TIME')
local ms = string.format('%d', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], offset .. '-0', 'd', ARGV[2], 't', ms)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PUBLISH', KEYS[3], ARGV[1] .. '|h|' .. offset .. '|' .. epoch .. '|' .. ARGV[2])
return offset
"""

# KEYS: stream, meta.  ARGV: after ('' for the latest), count, epoch to start if there is
# none, meta ttl ms, ttl ms.  Answers {offset, epoch, offset1, text1, offset2, text2...}.
READ = """
local offset = redis.call('HGET', KEYS[2], 'o')
local epoch = redis.call('HGET', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[3]
  offset = '0'
  redis.call('HSET', KEYS[2], 'o', 0, 'e', epoch)
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  redis.call('DEL', KEYS[1])
end
local answer = {offset, epoch}
local count = tonumber(ARGV[2])
if count <= 0 then
  return answer
end
local entries
if ARGV[1] == '' then
  entries = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', count)
else
  entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1] .. '-0', '+', 'COUNT', count)
end
local now = redis.call('TIME')
local oldest = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[5])
local first, last, step = 1, #entries, 1
if ARGV[1] == '' then
  first, last, step = #entries, 1, -1
end
for i = first, last, step do
  local id, fields = entries[i][1], entries[i][2]
  local text, at = nil, 0
  for f = 1, #fields, 2 do
    if fields[f] == 'd' then text = fields[f + 1] end
    if fields[f] == 't' then at = tonumber(fields[f + 1]) end
  end
  if text and at > oldest then
    table.insert(answer, string.match(id, '^(%d+)'))
    table.insert(answer, text)
  end
end
return answer
"""


def parse_read_reply(reply: Any) -> tuple[Position, list[Publication]]:
    """`READ`'s answer as the latest position and the publications, oldest first."""
    items = [value.decode("utf-8") if isinstance(value, bytes) else str(value) for value in reply]
    top = Position(int(items[0]), items[1])
    return top, [Publication(int(items[i]), items[i + 1]) for i in range(2, len(items) - 1, 2)]
