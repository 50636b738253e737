"""The dashboard (FastAPI + uvicorn): runs, reports, comparisons, new runs, citizens, downloads.

`serve()` binds 127.0.0.1 by default: the dashboard starts runs and reads every table of the runs
folder, so it is meant for the person at this machine, not for a network.
"""

from __future__ import annotations

from pathlib import Path

from scorelab.errors import ScorelabError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def create_app(runs_dir: str | Path):
    """The FastAPI app over a runs folder (see scorelab.server.app)."""
    from scorelab.server.app import create_app as _create

    return _create(runs_dir)


def serve(runs_dir: str | Path = "runs", host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Run the dashboard until interrupted."""
    import uvicorn

    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise ScorelabError(f"got {port!r}", key="--port", allowed="a port number from 1 to 65535")
    uvicorn.run(create_app(runs_dir), host=host, port=port, log_level=log_level)
