"""Load knowledge sources into LangChain Documents with their metadata.

A Markdown file may start with YAML front matter (title, lang, topics, sources); it is parsed
with `yaml.safe_load`, never with a loader that can build arbitrary objects.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from langchain_core.documents import Document

from .config import PROJECT_ROOT
from .errors import SourceError
from .language import detect_language

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt"}
MAX_SOURCE_BYTES = 20 * 1024 * 1024
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


@dataclass(frozen=True)
class SkippedSource:
    """A source that could not be indexed, and why (shown in the build summary)."""

    source: str
    reason: str


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def display_path(path: Path) -> str:
    """Paths inside the project are stored relative to it, so the shipped index is portable."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return resolved.as_posix()


def split_front_matter(text: str) -> tuple[dict[str, object], str]:
    """Front matter as a dict, and the body; a file without front matter gets an empty dict."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise SourceError(f"invalid YAML front matter: {exc}") from exc
    if not isinstance(meta, dict):
        raise SourceError("front matter must be a YAML mapping")
    return meta, text[match.end():]


def load_text_file(path: Path) -> Document:
    """One Markdown or text file as a Document; raises SourceError with the reason."""
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise SourceError(f"file too large ({size} bytes, limit {MAX_SOURCE_BYTES})")
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"unreadable: {exc.strerror or exc}") from exc
    if b"\x00" in data[:8192]:
        raise SourceError("binary content, not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not valid UTF-8 text ({exc.reason})") from exc
    meta, body = split_front_matter(text)
    if not body.strip():
        raise SourceError("empty document")
    title = str(meta.get("title") or _first_heading(body) or path.stem)
    lang = str(meta.get("lang") or detect_language(body[:2000]))
    links = meta.get("sources") or []
    metadata = {
        "source": display_path(path),
        "title": title,
        "lang": lang,
        "topics": [str(t) for t in (meta.get("topics") or [])],
        "links": [str(u) for u in links] if isinstance(links, list) else [],
        "content_hash": content_hash(data),
        "format": "markdown" if path.suffix.lower() != ".txt" else "text",
    }
    return Document(page_content=body, metadata=metadata)


def _first_heading(body: str) -> str | None:
    match = re.search(r"^#\s+(.+)$", body, re.MULTILINE)
    return match.group(1).strip() if match else None


def iter_source_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under the given paths, folders walked recursively in a stable order."""
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if not any(part.startswith(".") for part in child.relative_to(path).parts):
                    yield child
        else:
            yield path


def load_sources(paths: Iterable[Path]) -> tuple[list[Document], list[SkippedSource]]:
    """Every readable source as a Document; the rest as SkippedSource with a one-line reason."""
    documents: list[Document] = []
    skipped: list[SkippedSource] = []
    for path in iter_source_files(paths):
        name = display_path(path)
        if not path.exists():
            skipped.append(SkippedSource(name, "no such file or folder"))
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            skipped.append(SkippedSource(name, f"unsupported file type {path.suffix or '(none)'}"))
            continue
        try:
            documents.append(load_text_file(path))
        except SourceError as exc:
            log.warning("skipping %s: %s", name, exc)
            skipped.append(SkippedSource(name, str(exc)))
    return documents, skipped


def corpus_hash(documents: Iterable[Document]) -> str:
    """One hash over every source's path and content: changes whenever the corpus does."""
    digest = hashlib.sha256()
    for source, chash in sorted(
        (d.metadata["source"], d.metadata["content_hash"]) for d in documents
    ):
        digest.update(f"{source}\0{chash}\n".encode())
    return digest.hexdigest()
