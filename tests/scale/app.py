"""The application the scale-out tests run in several processes.

Commands, one per message: ``join:<room>``, ``leave:<room>``, ``pub:<room>|<text>``,
``whoami``, ``presence:<room>``. Channel traffic arrives as ``<room>|<text>``.
"""

from __future__ import annotations

import asyncio
import json
import os

from fallback import Connection, channels


class Member(Connection):
    def on_message(self, text: str) -> None:
        command, _, argument = text.partition(":")
        if command == "join":
            channels.join(self, argument, {"pid": os.getpid(), "transport": self.transport})
            asyncio.get_running_loop().create_task(self._joined(argument))
        elif command == "leave":
            channels.leave(self, argument)
            self.send("left:" + argument)
        elif command == "pub":
            room, _, payload = argument.partition("|")
            channels.publish(room, room + "|" + payload)
        elif command == "whoami":
            self.send(f"pid:{os.getpid()}")
        elif command == "presence":
            asyncio.get_running_loop().create_task(self._presence(argument))

    async def _joined(self, room: str) -> None:
        await channels.subscribed(room)
        self.send("joined:" + room)

    async def _presence(self, room: str) -> None:
        members = await channels.presence(room)
        self.send("presence:" + json.dumps(sorted(info["pid"] for info in members.values())))
