"""Running the app under uvicorn, as `serve` and `demo` do: hakama's log configuration, and
`/metrics` on a port of its own when `HAKAMA_METRICS_PORT` is set."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from hakama.http import logs
from hakama.settings import Settings

log = logging.getLogger("hakama.server")


def serve_app(app: FastAPI, settings: Settings) -> None:
    """Serve `app` until interrupted, logging one line per event (see `http.logs`)."""
    import uvicorn
    from prometheus_client import start_http_server

    logs.configure(settings)
    if settings.metrics_port is not None:
        start_http_server(
            settings.metrics_port, addr=settings.host, registry=app.state.metrics.registry
        )
        log.info("metrics at http://%s:%d/metrics", settings.host, settings.metrics_port)
    uvicorn.run(app, **_uvicorn_options(settings), host=settings.host, port=settings.port)


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "log_config": None,  # keep the handler `logs.configure` installed
        "access_log": False,  # `logs.RequestLog` writes the request lines, without query strings
        "log_level": settings.log_level.lower(),
        "proxy_headers": False,
    }


#: Seconds between a worker's death and its replacement (a worker dying at start must not spin).
RESPAWN_DELAY = 1.0


def serve_workers(build: Callable[[], FastAPI], settings: Settings, workers: int) -> None:
    """Serve with `workers` processes sharing one listening socket, until SIGINT/SIGTERM.

    The socket is bound here, then each worker is forked and builds its own app (`build`):
    database connections, threads and the event loop never cross a fork. A worker that dies
    (crash, OOM killer, kill -9) is replaced. Which worker runs the background jobs is settled
    by the leader lock (`http.background`), not here, so the same holds under gunicorn or
    `uvicorn --workers`.
    """
    import uvicorn

    logs.configure(settings)
    if settings.metrics_port is not None:
        log.warning("HAKAMA_METRICS_PORT is ignored with --workers: /metrics is per process")
    listener = socket.create_server((settings.host, settings.port), backlog=2048, reuse_port=False)
    listener.set_inheritable(True)
    children: dict[int, int] = {}  # pid -> worker number
    stopping = False

    def spawn(number: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                config = uvicorn.Config(build(), **_uvicorn_options(settings))
                uvicorn.Server(config).run(sockets=[listener])
            except BaseException:
                log.exception("worker %d failed", number)
                code = 1
            finally:
                os._exit(code)
        children[pid] = number
        log.info("worker %d started (pid %d)", number, pid)

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for number in range(workers):
        spawn(number)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        number = children.pop(pid, -1)
        if number < 0 or stopping:
            continue
        log.warning("worker %d (pid %d) ended (%s); starting another", number, pid, status)
        time.sleep(RESPAWN_DELAY)
        if not stopping:
            spawn(number)
    listener.close()
