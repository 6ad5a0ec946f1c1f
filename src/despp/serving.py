"""How uvicorn runs Django: ordinary requests on Django's synchronous stack in pooled threads,
live feeds (Server-Sent Events) on its asynchronous stack.

Django's ASGI handler suits long-lived async views but costs a plain request dearly: every
synchronous middleware hook and the view each hop between the event loop and a thread (about
twenty hops for this project's stack), and each request gets a thread of its own, so a
database connection of its own, opened for that request and abandoned after it. Under load
that is most of a request's cost, and PostgreSQL soon refuses connections.

`SyncFirst` sends every HTTP request that does not ask for `text/event-stream` to Django's WSGI
handler, run whole in one of `DESPP_THREADS` reused threads: one hop per request, and each
thread keeps its database connection for `DESPP_DB_CONN_MAX_AGE` seconds as under any threaded
WSGI server. Event streams, lifespan and anything else go to the ASGI handler unchanged. The
request body is spooled to a temporary file past 64 KiB (as Django's ASGI handler does) and
Django's own size limits still answer 413.
"""

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from tempfile import SpooledTemporaryFile
from typing import IO, Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]  # Django's handler types its arguments its own way
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_SPOOL_BYTES = 65536


def wants_stream(scope: Scope) -> bool:
    return any(
        name == b"accept" and b"text/event-stream" in value
        for name, value in scope.get("headers", ())
    )


def wsgi_environ(scope: Scope, body: IO[bytes]) -> dict[str, Any]:
    """The WSGI environ for an ASGI HTTP scope (PEP 3333; headers joined as CGI does)."""
    script_name = scope.get("root_path", "").encode("utf8").decode("latin1")
    path_info = scope["path"].encode("utf8").decode("latin1")
    if script_name and path_info.startswith(script_name):
        path_info = path_info[len(script_name) :]
    server = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin1"),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = client[0]
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin1").upper().replace("-", "_")
        if name not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            name = "HTTP_" + name
        value = raw_value.decode("latin1")
        environ[name] = f"{environ[name]},{value}" if name in environ else value
    return environ


class SyncFirst:
    """The ASGI application uvicorn serves (see the module docstring)."""

    def __init__(self, asgi_app: ASGIApp, wsgi_app: WSGIApp, *, threads: int) -> None:
        self.asgi_app = asgi_app
        self.wsgi_app = wsgi_app
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="despp-http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or wants_stream(scope):
            await self.asgi_app(scope, receive, send)
            return
        with SpooledTemporaryFile(max_size=_SPOOL_BYTES) as body:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body.write(message.get("body", b""))
                if not message.get("more_body"):
                    break
            body.seek(0)
            loop = asyncio.get_running_loop()
            messages = await loop.run_in_executor(self.executor, self._run, scope, body, send, loop)
        for message in messages:
            await send(message)

    def _run(
        self, scope: Scope, body: IO[bytes], send: Send, loop: asyncio.AbstractEventLoop
    ) -> list[Message]:
        """Run the request in this thread. A plain response comes back whole, as the messages
        left to send; a streaming one (static files) is sent chunk by chunk from here."""
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
            started["status"] = int(status.split(" ", 1)[0])
            started["headers"] = [
                (name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers
            ]
            return lambda data: None  # the legacy write() callable; Django never uses it

        result = self.wsgi_app(wsgi_environ(scope, body), start_response)
        try:
            if not getattr(result, "streaming", False):
                content = b"".join(result)
                return [self._start(started), {"type": "http.response.body", "body": content}]
            self._send(loop, send, self._start(started))
            for chunk in result:
                chunk_message = {"type": "http.response.body", "body": chunk, "more_body": True}
                self._send(loop, send, chunk_message)
            return [{"type": "http.response.body", "body": b""}]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()  # sends request_finished: Django closes stale connections here

    @staticmethod
    def _start(started: dict[str, Any]) -> Message:
        return {
            "type": "http.response.start",
            "status": started["status"],
            "headers": started["headers"],
        }

    @staticmethod
    def _send(loop: asyncio.AbstractEventLoop, send: Send, message: Message) -> None:
        async def sending() -> None:
            await send(message)

        asyncio.run_coroutine_threadsafe(sending(), loop).result()
