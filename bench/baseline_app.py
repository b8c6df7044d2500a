"""The baseline server: a plain Starlette route that returns fixed bytes.

It is what the fastest possible gateway would cost on the same uvicorn: no
auth, no database, no serialisation. Benchmarks run it under uvicorn with the
gateway's options and point it at a file holding the gateway's own response:

    BENCH_BASELINE_BODY=/path/to/body.json  (required: the response bytes)
    BENCH_BASELINE_PATH=/api/station        (optional: the route, so URLs match)
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# Read once at import: the point is to measure the framework and server, not file I/O.
BODY = Path(os.environ["BENCH_BASELINE_BODY"]).read_bytes()
ROUTE_PATH = os.environ.get("BENCH_BASELINE_PATH", "/api/station")


async def fixed_body(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


# POST too, so a later GraphQL comparison can reuse the same app.
app = Starlette(routes=[Route(ROUTE_PATH, fixed_body, methods=["GET", "POST"])])
