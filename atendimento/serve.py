"""Run the app on gevent's WSGI server: streams and pages served together in one process.

    python -m atendimento.serve [--host 127.0.0.1] [--port 5000]
    flask --app app serve [--host ...] [--port ...]

This is the development / single-host command (the blocking Werkzeug server would
give every open stream a thread). Production runs ``gunicorn -c gunicorn.conf.py
app:app``, whose gevent worker patches the same way.

gevent must patch the standard library before anything imports sockets: psycopg, for
one, chooses at import whether its waits are cooperative. Importing this module has
already imported the ``atendimento`` package (and with it ssl and socket), so when the
process is not patched yet it starts itself again under ``python -m gevent.monkey``,
which patches first and then runs this module.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from .config import setting


def patched() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("socket")


def exec_patched(args: list[str]) -> None:
    """Replace this process with one that gevent patches before importing anything else."""
    os.execv(sys.executable, [sys.executable, "-m", "gevent.monkey", "--module", "atendimento.serve", *args])


def serve(app, host: str, port: int) -> None:
    from gevent.pywsgi import WSGIServer

    # Not under "atendimento": Flask's handler on that logger writes to wsgi.errors, which is
    # this very log inside a request; a child logger would feed it back to itself forever.
    server = WSGIServer((host, port), app, log=None, error_log=logging.getLogger("gevent.pywsgi"))
    print(f" * Atendimento on http://{host}:{port}/ (gevent; streams included). Ctrl+C stops.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["realtime"].close()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m atendimento.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=setting("HOST"))
    parser.add_argument("--port", type=int, default=setting("PORT"))
    options = parser.parse_args(argv)
    if not patched():
        exec_patched(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from atendimento import create_app

    serve(create_app(), options.host, options.port)


if __name__ == "__main__":
    main()
