"""A TCP proxy on 127.0.0.1 in front of the SeaweedFS rig that misbehaves on request:
it can hold object PUTs until released (so saves stay pending as long as a test needs),
and drop the reply of a PUT after SeaweedFS stored it (a reply lost on the way back).

It runs its own event loop in a thread, so tests on any loop (or none) can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

__all__ = ["S3Proxy"]


class S3Proxy:
    """Forwards 127.0.0.1:<port> to ``upstream_port``; see the module docstring."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        #: How many more object PUT replies to drop (after the PUT reached SeaweedFS).
        self.drop_put_replies = 0
        #: How many PUT replies were dropped.
        self.dropped = 0
        #: How many object PUTs were forwarded.
        self.puts = 0
        self._released = threading.Event()
        self._released.set()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Proxy:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self.port = future.result(10)
        return self

    def stop(self) -> None:
        self._released.set()

        async def close() -> None:
            if self._server is not None:
                self._server.close()
            others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def hold_puts(self) -> None:
        """From now on, object PUTs wait (unsent) until :meth:`release_puts`."""
        self._released.clear()

    def release_puts(self) -> None:
        self._released.set()

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        state: dict[str, Any] = {"drop": False}

        async def client_to_upstream() -> None:
            while data := await reader.read(1 << 16):
                if data.startswith(b"PUT ") and b"?" not in data.split(b" ", 2)[1]:
                    # An object PUT (not ?versioning, ?partNumber…): held, counted, maybe dropped.
                    await asyncio.to_thread(self._released.wait)
                    with self._lock:
                        self.puts += 1
                        if self.drop_put_replies > 0:
                            self.drop_put_replies -= 1
                            state["drop"] = True
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def upstream_to_client() -> None:
            while data := await up_reader.read(1 << 16):
                if state["drop"] and not data.startswith(b"HTTP/1.1 100 "):
                    # The final reply (not botocore's "100 Continue"): SeaweedFS stored it.
                    with self._lock:
                        self.dropped += 1
                    writer.transport.abort()
                    up_writer.transport.abort()
                    return
                writer.write(data)
                await writer.drain()
            writer.close()

        with contextlib.suppress(Exception):
            await asyncio.gather(client_to_upstream(), upstream_to_client())
        writer.transport.abort()
        up_writer.transport.abort()
