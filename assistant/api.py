"""One FastAPI application: the HTTP API beside the Gradio chat mounted at `/`."""

from __future__ import annotations

import logging

import gradio as gr
import uvicorn
from fastapi import FastAPI

from .chat import Assistant
from .config import Settings, get_settings
from .ui import build_ui

log = logging.getLogger(__name__)


def create_app(assistant: Assistant) -> FastAPI:
    app = FastAPI(title="ML career assistant", version="0.1.0")

    @app.get("/healthz")
    def healthz() -> dict[str, object]:
        manifest = assistant.manifest
        return {"status": "ok", "chunks": manifest.chunk_count, "embedding_model": manifest.embedding_model}

    @app.get("/api/index")
    def index_manifest() -> dict[str, object]:
        return assistant.manifest.model_dump()

    return gr.mount_gradio_app(app, build_ui(assistant), path="/")


def run_server(host: str | None = None, port: int | None = None, settings: Settings | None = None) -> None:
    """Load the index and models once, then serve until interrupted."""
    settings = settings or get_settings(host=host, port=port)
    assistant = Assistant(settings=settings)
    app = create_app(assistant)
    log.info("serving on http://%s:%d", settings.host, settings.port)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
