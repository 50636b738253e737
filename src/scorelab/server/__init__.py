"""The dashboard (FastAPI + uvicorn): runs, reports, comparisons, new runs, citizens, downloads, experiments.

`serve()` binds 127.0.0.1 by default and answers only requests whose Host is a loopback name (or one
given with `allow_hosts`): the dashboard starts runs and reads every table of the runs folder, so it is
meant for the person at this machine. docs/DASHBOARD.md says how to expose it safely.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path

from scorelab.errors import ScorelabError
from scorelab.server.state import DEFAULT_MAX_CELLS

LOOPBACK = ("127.0.0.1", "localhost", "::1")

__all__ = ["DEFAULT_MAX_CELLS", "LOOPBACK", "check_options", "create_app", "listen", "serve"]


def create_app(runs_dir: str | Path, *, allow_hosts: tuple[str, ...] | list[str] = (),
               max_cells: int = DEFAULT_MAX_CELLS, bind: str | None = None):
    """The FastAPI app over a runs folder (see scorelab.server.app)."""
    from scorelab.server.app import create_app as _create

    return _create(runs_dir, allow_hosts=allow_hosts, max_cells=max_cells, bind=bind)


def serve(runs_dir: str | Path = "runs", host: str = "127.0.0.1", port: int = 8000, log_level: str = "warning",
          allow_hosts: tuple[str, ...] | list[str] = (), max_cells: int = DEFAULT_MAX_CELLS) -> None:
    """Run the dashboard until interrupted. Bad options and a busy port raise ScorelabError (one line, exit 2)."""
    import uvicorn

    check_options(port, allow_hosts, max_cells)
    sock = listen(host, port)
    app = create_app(runs_dir, allow_hosts=allow_hosts, max_cells=max_cells, bind=host)
    # keep-alive 30 s: on a busy machine a 5 s timer can close a connection as the next request arrives
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="off", server_header=False,
                                           timeout_keep_alive=30))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def check_options(port: int, allow_hosts: tuple[str, ...] | list[str] = (), max_cells: int = DEFAULT_MAX_CELLS
                  ) -> None:
    """`serve`'s options, each refused with one clear message."""
    from scorelab.server.security import host_name

    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ScorelabError(f"got {port!r}", key="--port", allowed="a port number from 1 to 65535")
    if isinstance(max_cells, bool) or not isinstance(max_cells, int) or max_cells < 1:
        raise ScorelabError(f"got {max_cells!r}", key="--max-cells", allowed="a whole number from 1 up")
    for name in allow_hosts:
        try:
            host_name(name)
        except ValueError as exc:
            raise ScorelabError(str(exc), key="--allow-host") from None


def listen(host: str, port: int) -> socket.socket:
    """A bound socket for the server, or one clear error (a busy port, an unknown host)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ScorelabError(f"cannot use host '{host}': {exc.strerror}", key="--host",
                            allowed="an address of this machine, such as 127.0.0.1") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it: without it, keep-alive responses wait ~40 ms on delayed ACKs
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ScorelabError(f"port {port} on {host} is already in use", key="--port",
                                allowed="a free port such as --port 8765, or stop the program using this one") from None
        raise ScorelabError(f"cannot listen on {host}:{port}: {exc.strerror}", key="--host/--port") from None
    sock.set_inheritable(True)
    return sock
