"""Serving an ASGI app on one address until Ctrl-C, for every command that serves (serve, demo, matchmaking serve).

uvicorn catches SIGINT to shut down gracefully and then returns as if the service had finished (``uvicorn.run``
swallows the KeyboardInterrupt it raises again, and under its event loop the signal it raises again may not reach
Python at all), so a stopped service exited 0; the command line promises 130 for an interrupt (``socialcredit
--help``'s exit codes). The server here notes the signal and raises KeyboardInterrupt once the requests in flight
are answered.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from socialcredit.errors import SocialCreditError

__all__ = ["serve_until_stopped"]


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

    server = Server(uvicorn.Config(app, host=host, port=port, log_level="warning", proxy_headers=proxy_headers))
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
