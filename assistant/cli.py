"""The `mlcareer` command line (also `python -m assistant`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from .config import get_settings
from .errors import AssistantError

app = typer.Typer(help="Bilingual assistant for the machine-learning-engineer career.", no_args_is_help=True)
index_app = typer.Typer(help="Build and inspect the search index.", no_args_is_help=True)
app.add_typer(index_app, name="index")

IndexDir = Annotated[Optional[Path], typer.Option("--index-dir", help="Index folder (default: the shipped index/).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=1)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@index_app.command("build")
def index_build(
    source: Annotated[
        Optional[list[str]], typer.Option("--source", help="File (.md .txt .html .pdf .docx), folder or http(s) URL; repeatable.")
    ] = None,
    index_dir: IndexDir = None,
    full: Annotated[bool, typer.Option("--full", help="Re-embed everything instead of reusing vectors.")] = False,
) -> None:
    """Build the index from corpus/ and corpus/sources.yaml (or exactly the given sources); incremental unless --full."""
    from .build import build_index

    logging.getLogger("assistant").setLevel(logging.INFO)
    try:
        report = build_index(sources=source or None, index_dir=index_dir, full=full)
    except AssistantError as exc:
        _fail(exc)
    typer.echo(report.summary())


@index_app.command("info")
def index_info(index_dir: IndexDir = None, as_json: JsonFlag = False) -> None:
    """Show the index manifest: model, chunk count, sources, build time, and the scope guard's calibrated cuts."""
    from .index import read_manifest
    from .scope import SCOPE_FILE, read_scope_model

    settings = get_settings()
    directory = index_dir or settings.index_dir
    try:
        manifest = read_manifest(directory)
        calibration = read_scope_model(directory / SCOPE_FILE).calibration
    except AssistantError as exc:
        _fail(exc)
    except (OSError, ValueError) as exc:
        _fail(AssistantError(f"the scope guard of {directory} is unreadable ({exc}): run `mlcareer index build --full`"))
    overrides = {
        name: value
        for name, value in (("MLCAREER_SCOPE_THRESHOLD", settings.scope_threshold), ("MLCAREER_SCOPE_PROBABILITY", settings.scope_probability))
        if value is not None
    }
    if as_json:
        payload = manifest.model_dump()
        payload["scope"] = calibration.model_dump() if calibration else None
        payload["scope_overrides"] = overrides
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    typer.echo(
        f"model: {manifest.embedding_model} ({manifest.dimension} dims)\nchunks: {manifest.chunk_count}\n"
        f"sources: {len(manifest.sources)}\nbuilt: {manifest.built_at}\ncorpus hash: {manifest.corpus_hash}"
    )
    if calibration is not None:
        typer.echo(f"scope guard (calibrated on this index): {calibration.describe()}")
    for name, value in overrides.items():
        typer.echo(f"  overridden by {name}={value}")


def _assistant(index_dir: Path | None, llm: str | None = None):  # noqa: ANN202
    from .chat import Assistant

    return Assistant(index_dir=index_dir, llm=llm)


@app.command()
def search(
    query: str,
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="Number of results.")] = 5,
    index_dir: IndexDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Hybrid search over the index."""
    try:
        results = _assistant(index_dir).search(query, k=k)
    except AssistantError as exc:
        _fail(exc)
    if as_json:
        payload = {"query": query, "results": [r.model_dump(exclude={"n"}) for r in results]}
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    for r in results:
        typer.echo(f"[{r.n}] {r.score:.3f}  {r.title} > {r.section}  ({r.source})\n    {r.text[:200]}")


@app.command()
def ask(
    question: str,
    llm: Annotated[Optional[str], typer.Option("--llm", help="Answer backend, e.g. extractive.")] = None,
    index_dir: IndexDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Answer a question with cited sources."""
    try:
        answer = _assistant(index_dir, llm).ask(question)
    except (AssistantError, ValueError) as exc:
        _fail(exc)
    if as_json:
        payload = {
            "question": answer.question,
            "answer": answer.text,
            "language": answer.language,
            "in_scope": answer.in_scope,
            "covered": answer.covered,
            "status": answer.status,
            "sources": [s.model_dump(exclude={"n"}) for s in answer.sources],
            "backend": answer.backend,
            "unmentioned": answer.unmentioned,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    typer.echo(answer.text)
    for s in answer.sources:
        typer.echo(f"[{s.n}] {s.title} > {s.section} ({s.url or s.source})")


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (default 7860).")] = None,
) -> None:
    """Serve the web chat and the HTTP API."""
    from .serving.api import run_server

    logging.getLogger("assistant").setLevel(logging.INFO)
    try:
        run_server(host=host, port=port)
    except AssistantError as exc:
        _fail(exc)


@app.command("mcp")
def mcp(index_dir: IndexDir = None) -> None:
    """Serve the assistant over MCP on stdin/stdout (for Claude Desktop, VS Code, Cursor, agents)."""
    from .serving.mcp_server import run_stdio

    try:
        run_stdio(get_settings(index_dir=index_dir))
    except AssistantError as exc:
        _fail(exc)


@app.command("eval")
def evaluate(
    eval_set: Annotated[Optional[Path], typer.Option("--set", help="JSONL file or folder of them.")] = None,
    index_dir: IndexDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Score retrieval, scope, language and citations on the evaluation set."""
    from .evaluation import DEFAULT_EVAL_SET, load_eval_set, report_json, run_eval

    try:
        items = load_eval_set(eval_set or DEFAULT_EVAL_SET)
        report = run_eval(_assistant(index_dir), items, progress=True)
    except AssistantError as exc:
        _fail(exc)
    typer.echo(report_json(report) if as_json else report.table())


@app.command("feedback")
def feedback_summary(
    path: Annotated[Optional[Path], typer.Option("--path", help="Feedback JSONL (default: MLCAREER_FEEDBACK_PATH).")] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="How many of the most disliked questions to list.")] = 5,
    as_json: JsonFlag = False,
) -> None:
    """Summarise the web chat's thumbs up/down: counts, by language and backend, most disliked questions."""
    from .serving.feedback import FeedbackStore, summarise, summary_json

    store = FeedbackStore(path or get_settings().feedback_path)
    summary = summarise(store.records(), path=store.path, top=top)
    typer.echo(summary_json(summary) if as_json else summary.table())


def main() -> None:
    app()
