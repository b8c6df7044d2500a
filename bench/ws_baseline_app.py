"""The fan-out baseline: a plain Starlette websocket broadcast of fixed frames.

It is what the fastest possible subscription server would cost on the same
uvicorn: no auth, no database, no GraphQL execution, no per-subscriber work
beyond writing the frame. Clients speak the graphql-transport-ws handshake in
its smallest form (``connection_init`` is answered with ``connection_ack``,
a ``subscribe`` adds the socket to the broadcast set, ``ping`` gets ``pong``);
``POST /publish`` sends the request body, unchanged, as one text frame to every
subscribed socket. The benchmark posts the very frames the gateway sent, so
both servers write the same bytes to the same number of sockets.

    GET  /health   200 "ok" (readiness)
    POST /publish  202 at once; the broadcast runs on its own task, as the
                   gateway's fan-out runs after its POST has answered
"""

from __future__ import annotations

import asyncio
import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

SUBPROTOCOL = "graphql-transport-ws"
ACK = '{"type":"connection_ack"}'
PONG = '{"type":"pong"}'

subscribed: set[WebSocket] = set()
# Running broadcasts, held so the event loop does not drop them half-way.
broadcasts: set[asyncio.Task[None]] = set()


async def graphql_socket(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol=SUBPROTOCOL)
    try:
        while True:
            message = json.loads(await websocket.receive_text())
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "connection_init":
                await websocket.send_text(ACK)
            elif kind == "subscribe":
                subscribed.add(websocket)
            elif kind == "ping":
                await websocket.send_text(PONG)
            elif kind == "complete":
                subscribed.discard(websocket)
    except WebSocketDisconnect:
        pass
    finally:
        subscribed.discard(websocket)


async def broadcast(frame: str) -> None:
    for websocket in list(subscribed):
        try:
            await websocket.send_text(frame)
        except (WebSocketDisconnect, RuntimeError):
            subscribed.discard(websocket)


async def publish(request: Request) -> Response:
    frame = (await request.body()).decode()
    task = asyncio.create_task(broadcast(frame))
    broadcasts.add(task)
    task.add_done_callback(broadcasts.discard)
    return PlainTextResponse(str(len(subscribed)), status_code=202)


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


app = Starlette(
    routes=[
        Route("/health", health, methods=["GET"]),
        Route("/publish", publish, methods=["POST"]),
        WebSocketRoute("/graphql", graphql_socket),
    ]
)
