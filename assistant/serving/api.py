"""One FastAPI application: the HTTP API (OpenAI-compatible and native) beside the Gradio chat at `/`."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio
import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response, StreamingResponse
from mcp.server.fastmcp.server import StreamableHTTPASGIApp
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from .api_models import (
    AskRequest,
    AskResponse,
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    ErrorResponse,
    ModelCard,
    ModelList,
    ResponseMessage,
    SearchRequest,
    SearchResponse,
    SourceOut,
    error_body,
)
from ..chat import Assistant
from ..config import Settings, get_settings
from ..errors import AssistantError, InvalidQuestionError
from ..schema import Answer, AnswerEvent
from .mcp_server import create_mcp_server
from .security import MISSING_KEY, KeyGuard, OriginGuard, key_is_valid
from .ui import mount_ui

log = logging.getLogger(__name__)
MODEL_ID = "mlcareer-assistant"
T = TypeVar("T")


class APIError(Exception):
    """An error answered as OpenAI-style JSON: {"error": {"message", "type", "code"}}."""

    def __init__(self, status: int, message: str, type_: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code = status, message, type_, code


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Invalid question or conversation"},
    401: {"model": ErrorResponse, "description": "Missing or wrong API key"},
    422: {"model": ErrorResponse, "description": "Malformed request body"},
    504: {"model": ErrorResponse, "description": "The answer took longer than the time limit"},
}


def _answer_fields(answer: Answer) -> dict[str, Any]:
    """What every JSON shape of an answer carries beside its text: one list, so a new field reaches all."""
    return {
        "sources": [SourceOut.of(s) for s in answer.sources],
        "in_scope": answer.in_scope,
        "covered": answer.covered,
        "status": answer.status,
        "language": answer.language,
        "backend": answer.backend,
        "notice": answer.notice,
        "unmentioned": answer.unmentioned,
    }


def _answer_json(answer: Answer) -> AskResponse:
    return AskResponse(question=answer.question, answer=answer.text, **_answer_fields(answer))


def _conversation(request: ChatCompletionRequest, settings: Settings) -> tuple[str, list[tuple[str, str]]]:
    """The last user message is the question; earlier user/assistant turns are the history.

    System and developer messages are ignored: the assistant's own rules are not negotiable.
    """
    if len(request.messages) > settings.max_messages:
        raise APIError(400, f"too many messages ({len(request.messages)}, limit {settings.max_messages})", "invalid_request_error", "too_many_messages")
    turns = [(m.role, m.text()) for m in request.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1][0] != "user":
        raise APIError(400, "the last message must come from the user", "invalid_request_error", "no_user_message")
    return turns[-1][1], turns[:-1]


class GenerationPool:
    """Bounds how many answers run at once and how long each may take, so slow ones cannot starve the rest."""

    def __init__(self, workers: int, timeout: float) -> None:
        self.limiter = anyio.CapacityLimiter(workers)
        # Each stream blocks a thread in `next()` while its answer waits for the model. Pulled through
        # anyio's default limiter (40 threads, shared with the sync routes), 50 such streams queued behind
        # each other; with threads of their own the load benchmark at 50 clients went from sources p50
        # 2.83 s to 1.03 s (eval/DECISIONS.md).
        self.pulls = anyio.CapacityLimiter(workers)
        self.timeout = timeout

    async def run(self, fn: Callable[[], T]) -> T:
        try:
            with anyio.fail_after(self.timeout):
                return await anyio.to_thread.run_sync(fn, limiter=self.limiter, abandon_on_cancel=True)
        except TimeoutError as exc:
            raise APIError(504, f"the answer took longer than {self.timeout:.0f} s; try again or shorten the question", "timeout", "timeout") from exc

    async def iterate(self, events: Iterator[T]) -> AsyncIterator[T]:
        """Pull a blocking iterator in worker threads, holding one pool slot for the whole stream."""
        done = object()
        with anyio.fail_after(self.timeout):
            async with self.limiter:
                while True:
                    item = await anyio.to_thread.run_sync(next, events, done, abandon_on_cancel=True, limiter=self.pulls)
                    if item is done:
                        return
                    yield item  # type: ignore[misc]


WIDGET_FILE = Path(__file__).parent / "web" / "widget.js"


def create_app(assistant: Assistant, settings: Settings | None = None, with_ui: bool = True) -> FastAPI:
    settings = settings or assistant.settings
    pool = GenerationPool(settings.generation_workers, settings.request_timeout)
    mcp = create_mcp_server(assistant, settings, run_blocking=pool.run)
    mcp.streamable_http_app()  # creates the session manager the /mcp route hands requests to

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            yield

    app = FastAPI(
        title="ML career assistant",
        version="0.1.0",
        description="Bilingual (fr/en) assistant for the machine-learning-engineer career. "
        "OpenAI-compatible chat completions, plus ask and search endpoints; MCP (streamable HTTP) at /mcp.",
        lifespan=lifespan,
    )
    # Outermost first: a foreign origin is refused before anything else runs; CORS answers preflights.
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Mcp-Session-Id", "Mcp-Protocol-Version"],
            expose_headers=["Mcp-Session-Id"],
        )
    app.add_middleware(OriginGuard, settings=settings)
    app.router.routes.append(Route("/mcp", endpoint=KeyGuard(StreamableHTTPASGIApp(mcp.session_manager), settings)))

    def require_key(request: Request) -> None:
        if not key_is_valid(request.headers.get("authorization"), settings):
            raise APIError(401, MISSING_KEY, "authentication_error", "invalid_api_key")

    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> JSONResponse:
        return JSONResponse(error_body(exc.message, exc.type, exc.code), status_code=exc.status)

    @app.exception_handler(InvalidQuestionError)
    async def _invalid_question(_: Request, exc: InvalidQuestionError) -> JSONResponse:
        return JSONResponse(error_body(str(exc), "invalid_request_error", "invalid_question"), status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}" for e in exc.errors())
        return JSONResponse(error_body(f"invalid request: {problems}", "invalid_request_error", "validation_error"), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(str(exc.detail), "invalid_request_error"), status_code=exc.status_code)

    @app.exception_handler(AssistantError)
    async def _assistant_error(_: Request, exc: AssistantError) -> JSONResponse:
        log.error("request failed: %s", exc)
        return JSONResponse(error_body(str(exc), "server_error"), status_code=503)

    api = [Depends(require_key)]

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, Any]:
        """Liveness and readiness: the model and the index are loaded."""
        manifest = assistant.manifest
        return {
            "status": "ok",
            "embedding_model": manifest.embedding_model,
            "chunks": manifest.chunk_count,
            "index_built_at": manifest.built_at,
            "backend": assistant.backend.name,
            **assistant.model_status(),
            "warming_up": assistant.warming_up,
            # A rebuilt index that failed verification: the previous one is still served.
            "index_reload_error": assistant.index_reload_error,
        }

    widget_script = WIDGET_FILE.read_text("utf-8")

    @app.get("/widget.js", tags=["service"], response_class=Response)
    def widget() -> Response:
        """The one-tag chat widget for other sites: `<script src=".../widget.js" defer></script>`."""
        return Response(widget_script, media_type="text/javascript", headers={"Cache-Control": "public, max-age=300"})

    @app.get("/api/index", dependencies=api, responses=ERRORS, tags=["index"])
    def index_manifest() -> dict[str, Any]:
        """The manifest of the index being served."""
        return assistant.manifest.model_dump()

    @app.post("/api/search", dependencies=api, responses=ERRORS, tags=["assistant"])
    async def search(body: SearchRequest) -> SearchResponse:
        """Hybrid search; the shape of `mlcareer search --json`."""
        results = await pool.run(lambda: assistant.search(body.query, k=body.k))
        return SearchResponse(query=body.query, results=[SourceOut.of(r) for r in results])

    @app.post("/api/ask", dependencies=api, responses=ERRORS, tags=["assistant"])
    async def ask(body: AskRequest) -> AskResponse:
        """A cited answer; the shape of `mlcareer ask --json`."""
        history = [(t.role, t.content) for t in body.history]
        answer = await pool.run(lambda: assistant.ask(body.question, history=history))
        return _answer_json(answer)

    @app.get("/v1/models", dependencies=api, responses=ERRORS, tags=["openai"])
    def models() -> ModelList:
        """OpenAI-compatible model list: one model, this assistant."""
        return ModelList(data=[ModelCard(id=MODEL_ID, created=_created(assistant))])

    @app.post(
        "/v1/chat/completions",
        dependencies=api,
        responses={**ERRORS, 200: {"content": {"text/event-stream": {}}, "description": "A completion, or SSE chunks when stream is true"}},
        tags=["openai"],
    )
    async def chat_completions(body: ChatCompletionRequest) -> Any:
        """OpenAI-compatible chat completions; sources ride along in a `sources` field."""
        question, history = _conversation(body, settings)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        cancel = threading.Event()  # set when the client goes: the model stops and frees its slot
        # Validate before streaming starts, so bad input is a 4xx, not a broken stream.
        events = assistant.stream_events(question, history, cancel=cancel)
        first = await pool.run(lambda: next(events))
        if not body.stream:
            rest = await pool.run(lambda: list(events))
            answer = next(e.answer for e in [first, *rest] if e.kind == "done" and e.answer)
            return ChatCompletion(
                id=completion_id,
                created=created,
                model=MODEL_ID,
                choices=[Choice(message=ResponseMessage(content=answer.text))],
                **_answer_fields(answer),
            )
        return StreamingResponse(
            _sse(pool, first, events, completion_id, created, cancel),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache"},
        )

    if with_ui:
        return mount_ui(app, assistant, settings)
    return app


def _created(assistant: Assistant) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(assistant.manifest.built_at).timestamp())


def _close_when_idle(events: Iterator[AnswerEvent], seconds: float = 60.0) -> None:
    """Close a stream's generator once no worker is inside it: its `finally` blocks free the model's slot."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            events.close()  # type: ignore[attr-defined]
            return
        except ValueError:  # "generator already executing": a worker is still in it
            time.sleep(0.01)


async def _sse(
    pool: GenerationPool,
    first: AnswerEvent,
    events: Iterator[AnswerEvent],
    completion_id: str,
    created: int,
    cancel: threading.Event,
) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    # The passages are known before any text: the first chunk carries them (the last one again).
    yield chunk({"role": "assistant", "content": ""}, sources=[SourceOut.of(s).model_dump() for s in first.sources])
    try:
        async for event in pool.iterate(events):
            if event.kind == "delta":
                yield chunk({"content": event.delta})
            elif event.kind == "status" and event.waiting is not None:
                # OpenAI clients ignore the extra field; the widget and others show the place in line.
                yield chunk({}, queue=event.waiting.model_dump())
            elif event.kind == "done" and event.answer is not None:
                fields = _answer_fields(event.answer)
                yield chunk({}, "stop", **{**fields, "sources": [s.model_dump() for s in fields["sources"]]})
    except (TimeoutError, APIError):
        yield f"data: {json.dumps(error_body('the answer took too long and was stopped', 'timeout', 'timeout'))}\n\n"
    except Exception:  # a failed stream must end cleanly for the client, never hang
        log.exception("stream failed")
        yield f"data: {json.dumps(error_body('the answer failed; try again', 'server_error'))}\n\n"
    finally:
        # Normal end, or the client went away (Starlette cancels this generator): stop the answer now.
        cancel.set()
        threading.Thread(target=_close_when_idle, args=(events,), name="close-stream", daemon=True).start()
    yield "data: [DONE]\n\n"


def run_server(host: str | None = None, port: int | None = None, settings: Settings | None = None) -> None:
    """Load the index and models once, then serve until interrupted."""
    settings = settings or get_settings(host=host, port=port)
    assistant = Assistant(settings=settings)
    assistant.warm_up_in_background()
    app = create_app(assistant, settings)
    log.info("serving on http://%s:%d", settings.host, settings.port)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
