"""A test server process: ``python -m tests.realtime.server HOST PORT '<json overrides>'``.

The app with test settings on gevent's WSGI server, the way ``atendimento.serve``
runs it. gevent patches before anything else is imported.
"""
from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402

from atendimento import create_app  # noqa: E402
from atendimento.serve import serve  # noqa: E402

if __name__ == "__main__":
    host, port, overrides = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    serve(create_app(overrides), host, port)
