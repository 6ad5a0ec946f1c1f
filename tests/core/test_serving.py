"""The ASGI front (despp/serving.py): plain requests run on the WSGI stack in reused threads,
event streams on the ASGI stack."""

import asyncio
import threading
from typing import Any

from despp.serving import SyncFirst, wsgi_environ

SCOPE = {
    "type": "http",
    "method": "POST",
    "path": "/api/dispatch/calls",
    "root_path": "",
    "query_string": b"x=1",
    "http_version": "1.1",
    "scheme": "http",
    "server": ("127.0.0.1", 8000),
    "client": ("10.0.0.7", 5555),
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", b"2"),
        (b"x-forwarded-for", b"a"),
        (b"x-forwarded-for", b"b"),
    ],
}


def _drive(app: SyncFirst, scope: dict[str, Any], body: bytes) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_the_environ_carries_method_path_query_headers_and_client() -> None:
    environ = wsgi_environ(SCOPE, None)  # type: ignore[arg-type]
    assert environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == "/api/dispatch/calls"
    assert environ["QUERY_STRING"] == "x=1" and environ["REMOTE_ADDR"] == "10.0.0.7"
    assert environ["CONTENT_TYPE"] == "application/json" and environ["CONTENT_LENGTH"] == "2"
    assert environ["HTTP_X_FORWARDED_FOR"] == "a,b"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("127.0.0.1", "8000")


def test_a_plain_request_runs_the_wsgi_app_in_a_pool_thread_and_gets_its_whole_answer() -> None:
    threads: list[str] = []

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        threads.append(threading.current_thread().name)
        start_response("201 Created", [("Content-Type", "application/json")])
        return [b'{"got": ', environ["wsgi.input"].read(), b"}"]

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("a plain request must not reach the ASGI stack")

    app = SyncFirst(asgi, wsgi, threads=2)
    sent = _drive(app, SCOPE, b"42")
    assert sent[0] == {
        "type": "http.response.start",
        "status": 201,
        "headers": [(b"content-type", b"application/json")],
    }
    assert sent[1] == {"type": "http.response.body", "body": b'{"got": 42}'}
    assert threads[0].startswith("despp-http")


def test_an_event_stream_goes_to_the_asgi_stack() -> None:
    seen: list[str] = []

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise AssertionError("an event stream must not reach the WSGI stack")

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])

    stream = SCOPE | {"headers": [(b"accept", b"text/event-stream")], "path": "/feed"}
    _drive(SyncFirst(asgi, wsgi, threads=1), stream, b"")
    assert seen == ["/feed"]


def test_a_streaming_response_is_sent_chunk_by_chunk_and_closed() -> None:
    closed: list[bool] = []

    class Chunks:
        streaming = True

        def __iter__(self) -> Any:
            return iter([b"a", b"b"])

        def close(self) -> None:
            closed.append(True)

    def wsgi(environ: dict[str, Any], start_response: Any) -> Chunks:
        start_response("200 OK", [])
        return Chunks()

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError

    sent = _drive(SyncFirst(asgi, wsgi, threads=1), SCOPE, b"")
    assert [m.get("body") for m in sent] == [None, b"a", b"b", b""]
    assert sent[-1].get("more_body", False) is False and closed == [True]
