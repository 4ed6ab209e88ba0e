"""Start the review web app on 127.0.0.1 (uvicorn) and open the browser."""

from __future__ import annotations

import os
import socket
import threading
import webbrowser
from dataclasses import dataclass
from typing import Any, Callable

from qualcode.errors import InputError
from qualcode.review.app import DbWorker, create_app, new_token

HOST = "127.0.0.1"  # never anything else: nothing leaves the machine
DEFAULT_PORT = 8765


@dataclass
class Served:
    url: str          # the URL with the session token
    port: int
    app: Any


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:``port`` (0: any free port); a clear error if taken."""
    if not 0 <= int(port) <= 65535:
        raise InputError(f"port must be 0-65535 (--port); got {port}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, int(port)))
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}",
                         hint="another review may be running there; pass --port N, or --port 0 for a free one") from None
    sock.listen(64)
    return sock


def serve(factory: Callable[[], Any], *, port: int = DEFAULT_PORT, open_browser: bool = True,
          on_ready: Callable[[Served], None] | None = None, log_level: str = "warning") -> None:
    """Serve the review app until Ctrl-C. ``factory`` builds the ReviewSession (it is
    called once, on the database thread, before the server starts: its errors show
    before anything listens)."""
    import uvicorn

    worker = DbWorker(factory)
    try:
        sock = bind(port)
    except BaseException:
        worker.close()
        raise
    real_port = sock.getsockname()[1]
    token = new_token()
    app = create_app(factory, token=token, port=real_port, worker=worker)
    served = Served(url=f"http://{HOST}:{real_port}/?token={token}", port=real_port, app=app)
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off",
                            server_header=False, date_header=False)
    server = uvicorn.Server(config)
    if on_ready is not None:
        on_ready(served)
    if open_browser and not os.environ.get("QUALCODE_NO_BROWSER"):
        threading.Timer(0.5, lambda: webbrowser.open(served.url)).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        worker.close()
