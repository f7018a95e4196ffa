"""Serving an ASGI app on one address until Ctrl-C, for every command that serves (serve, demo, matchmaking serve).

uvicorn catches SIGINT to shut down gracefully and then returns as if the service had finished (``uvicorn.run``
swallows the KeyboardInterrupt it raises again, and under its event loop the signal it raises again may not reach
Python at all), so a stopped service exited 0; the command line promises 130 for an interrupt (``socialcredit
--help``'s exit codes). The server here notes the signal and raises KeyboardInterrupt once the requests in flight
are answered.

A request's line and headers are bounded (:data:`HEAD_BYTES`) as they arrive: httptools, uvicorn's fast parser, holds
a header whole however long it is (a 20 MB header was read, and answered 200), so the protocol here counts the bytes
of a request's head as they arrive, and the target and headers the parser read of the read that ends it, and answers
431 past the limit, before the parser is fed more of it; and in time (:data:`HEAD_SECONDS`, 408 past it): uvicorn
times out a connection idle between requests, never one that has not sent a whole head. A refused head behind requests
on the same connection (pipelined) is answered after them, in order.
"""

from __future__ import annotations

import json
import signal
from types import FrameType
from typing import TYPE_CHECKING, Any

from socialcredit.errors import SocialCreditError

if TYPE_CHECKING:
    import asyncio  # in annotations only: the command line's start does not import asyncio (uvicorn does, to serve)

__all__ = ["HEAD_BYTES", "HEAD_SECONDS", "bounded_http", "serve_until_stopped"]

HEAD_BYTES = 64 * 1024  # a request's line and headers together (browsers send a few kilobytes, cookies included)
HEAD_SECONDS = 20.0  # from a connection, or a head's first byte, to the head's end
_DRAIN_SECONDS = 2.0  # how long the rest of a refused head is read (and dropped) before the connection is closed


def _answer(status: bytes, code: str, message: str) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s" % (
        status,
        len(body),
        body,
    )


def bounded_http(head_seconds: float = HEAD_SECONDS) -> type[Any]:
    """uvicorn's httptools protocol with a request's head bounded to :data:`HEAD_BYTES` (431 past it) and to
    ``head_seconds`` from the connection or the head's first byte (408 then: a client that sends nothing, or a
    byte at a time, held its connection for ever); the connection is then closed. The reads of a head not yet ended
    are counted as they arrive, and of the read that ends it the target and headers the parser read (its body is
    not counted): the parser holds at most the limit and one read (asyncio's, 256 KiB) of a head. Requests before a
    refused head on the connection are answered first, in order, and the refusal after them."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    too_large = _answer(
        b"431 Request Header Fields Too Large",
        "headers_too_large",
        f"a request's line and headers may be at most {HEAD_BYTES} bytes together",
    )
    too_slow = _answer(
        b"408 Request Timeout",
        "request_timeout",
        f"a request's line and headers must arrive within {head_seconds:g} seconds",
    )

    class BoundedHead(HttpToolsProtocol):
        head_bytes = 0
        head_said = 0  # the bytes of the head's target and headers the parser has handed on
        in_head = True  # a connection starts with a request's head
        refused = False
        held: bytes | None = None  # a refusal waiting for the answers to the requests before it
        head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._time_head()

        def connection_lost(self, exc: Exception | None) -> None:
            self._untime_head()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self.refused:
                return
            super().data_received(data)  # a read may end a head and start a body: only a head not ended counts
            if self.in_head and self.parser is not None:
                self.head_bytes += len(data)
                if self.head_bytes > HEAD_BYTES:
                    self._refuse(too_large)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.in_head, self.head_bytes, self.head_said = True, 0, 0
            self._time_head()

        def on_url(self, url: bytes) -> None:
            super().on_url(url)
            self.head_said += len(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            super().on_header(name, value)
            self.head_said += len(name) + len(value) + 4  # "name: value\r\n"

        def on_headers_complete(self) -> None:
            self.in_head = False
            self._untime_head()
            if self.refused:
                return
            # A head that ends in the read that brought its last part is not counted by data_received: its target
            # and headers as the parser read them are (a 70 000-byte header sent at once was answered 200, and a
            # target over 65 535 bytes, which httptools cannot parse, a plain-text 400 naming no limit)
            if self.head_said > HEAD_BYTES:
                self._refuse(too_large)
                return
            super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            if not self.refused:  # the body of a refused head is dropped, never handed to a request before it
                super().on_body(body)

        def on_message_complete(self) -> None:
            if not self.refused:
                super().on_message_complete()

        def send_400_response(self, msg: str) -> None:
            if not self.refused:  # the parser's complaint about what follows a refused head: answered already
                super().send_400_response(msg)

        def _time_head(self) -> None:
            self._untime_head()
            self.head_timer = self.loop.call_later(head_seconds, self._too_slow)

        def _untime_head(self) -> None:
            if self.head_timer is not None:
                self.head_timer.cancel()
                self.head_timer = None

        def _too_slow(self) -> None:
            self.head_timer = None
            if self.in_head and not self.refused and not self.transport.is_closing():
                self._refuse(too_slow)

        def on_response_complete(self) -> None:
            super().on_response_complete()  # starts the next request queued, if any
            if self.held is not None and self.cycle.response_complete and not self.transport.is_closing():
                self._answer(self.held)  # the last request before the refused head is answered: the refusal now

        def _refuse(self, answer: bytes) -> None:
            self.refused = True
            self._untime_head()
            cycle = getattr(self, "cycle", None)
            if cycle is None or cycle.response_complete:
                self._answer(answer)
                return
            # Requests before it on the connection (pipelined) are answered first, in order (HTTP/1.1 answers a
            # connection's requests in the order they came): the refusal is held until the last of them is answered.
            # Until 2026-12-06 it was written at once, so the client read it as the answer to the request before it
            # (which had run: a POST of records was stored), a later request was never run, and an answer streaming
            # had it spliced into its body. Nothing more is read meanwhile (uvicorn's own resumptions, a request's
            # receive and an answer's end, find reading not paused by them and leave it so).
            self.held = answer
            self.transport.pause_reading()
            self.flow.read_paused = False

        def _answer(self, answer: bytes) -> None:
            # answered, then the rest is read and dropped for a moment: closed on unread bytes, the connection
            # would be reset under the answer before the client reads it
            self.held = None
            self._unset_keepalive_if_required()
            self.transport.write(answer)
            if self.transport.can_write_eof():
                self.transport.write_eof()
            self.transport.resume_reading()
            self.loop.call_later(_DRAIN_SECONDS, self.transport.close)

    return BoundedHead


def serve_until_stopped(
    app: Any, host: str, port: int, *, what: str = "the service", proxy_headers: bool = False
) -> None:
    """Serve ``app`` on http://host:port until SIGINT, then raise KeyboardInterrupt (after a graceful shutdown).

    A service that cannot start (the port is taken) is a refusal: :class:`SocialCreditError` (uvicorn has logged why).
    """
    import uvicorn

    class Server(uvicorn.Server):
        interrupted = False

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            self.interrupted = self.interrupted or sig == signal.SIGINT
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", proxy_headers=proxy_headers, http=bounded_http()
    )
    server = Server(config)
    try:
        server.run()  # on SIGINT: stops taking requests, answers those in flight, then raises KeyboardInterrupt
    except SystemExit as exc:  # uvicorn logged why it cannot start and exits
        if exc.code in (0, None):
            raise
        raise SocialCreditError(f"{what} did not start on http://{host}:{port}; the line above says why") from None
    if server.interrupted:
        raise KeyboardInterrupt
    if not server.started:
        raise SocialCreditError(f"{what} did not start on http://{host}:{port}; the line above says why")
