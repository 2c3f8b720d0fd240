"""Load knowledge sources (files, folders, http(s) URLs) into LangChain Documents with their metadata.

Each format has its own loader in `assistant.loaders`; this module finds the sources, routes each
one to its loader and gives every Document the same metadata: source (project-relative path or
URL), title, lang (detected when not given), topics, links, content hash, and page for PDFs. A
source that cannot be read is skipped with a one-line reason instead of failing the build.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from langchain_core.documents import Document

from .config import PROJECT_ROOT, Settings
from .errors import SourceError
from .language import detect_language
from .loaders import (
    GENERIC_MEDIA_TYPES,
    LOADERS_BY_MEDIA_TYPE,
    LOADERS_BY_SUFFIX,
    Extracted,
    SourceLimits,
    fetch,
    is_url,
    split_front_matter,
)

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = frozenset(LOADERS_BY_SUFFIX)
# A folder's sources.yaml lists extra sources (assistant.source_list); it is not a document itself.
SOURCE_LIST_NAME = "sources.yaml"

__all__ = [
    "SUPPORTED_SUFFIXES",
    "SkippedSource",
    "SourceLimits",
    "SourceRequest",
    "corpus_hash",
    "load_sources",
    "load_text_file",
    "split_front_matter",
]


MISSING_SOURCE = "no such file or folder"


@dataclass(frozen=True)
class SkippedSource:
    """A source that could not be indexed, and why (shown in the build summary)."""

    source: str
    reason: str


@dataclass(frozen=True)
class SourceRequest:
    """One path, folder or URL to index; title, lang and topics, when given, win over the file's own."""

    location: str
    title: str | None = None
    lang: str | None = None
    topics: tuple[str, ...] = field(default_factory=tuple)

    def overrides(self) -> dict[str, object]:
        return {k: v for k, v in (("title", self.title), ("lang", self.lang), ("topics", list(self.topics))) if v}


def limits_from_settings(settings: Settings) -> SourceLimits:
    return SourceLimits(settings.max_source_bytes, settings.fetch_timeout, settings.fetch_max_redirects)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def display_path(path: Path) -> str:
    """Paths inside the project are stored relative to it, so the shipped index is portable."""
    # The link's own name first: a symlink keeps its place in the corpus, a dangling one is named as listed.
    absolute = Path(os.path.abspath(path))
    for candidate in (absolute, path.resolve()):
        try:
            return candidate.relative_to(PROJECT_ROOT).as_posix()
        except ValueError:
            continue
    return absolute.as_posix()


def iter_source_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under the given paths, folders walked recursively in a stable order (hidden files left out)."""
    for path in paths:
        if path.is_dir():
            # Symlinks are listed even when broken, so a dangling one is reported, not silently lost.
            found = (p for p in path.rglob("*") if p.is_file() or p.is_symlink())
            for child in sorted(found):
                relative = child.relative_to(path).parts
                if any(part.startswith(".") for part in relative) or child.name == SOURCE_LIST_NAME:
                    continue
                yield child
        else:
            yield path


def _read_file(path: Path, limits: SourceLimits) -> bytes:
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise SourceError(f"file too large ({size} bytes, limit {limits.max_bytes})")
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"unreadable: {exc.strerror or exc}") from exc


def _title_from_url(url: str) -> str:
    parts = urlsplit(url)
    stem = PurePosixPath(parts.path).stem
    return stem or parts.netloc


def _documents(
    name: str, data: bytes, extracted: Extracted, request: SourceRequest, fallback_title: str, url: str | None = None
) -> list[Document]:
    """The common metadata on every part; sources.yaml overrides count in the hash, so changing them re-embeds."""
    overrides = request.overrides()
    digest = content_hash(data if not overrides else data + b"\0" + json.dumps(overrides, sort_keys=True).encode())
    sample = " ".join(p.text for p in extracted.parts)[:2000]
    base: dict[str, object] = {
        "source": name,
        "title": request.title or extracted.title or fallback_title,
        "lang": request.lang or extracted.lang or detect_language(sample),
        "topics": list(request.topics or extracted.topics),
        "links": list(extracted.links),
        "content_hash": digest,
        "format": extracted.format,
    }
    if url:
        base["url"] = url
    if extracted.questions:
        base["questions"] = {heading: list(asked) for heading, asked in extracted.questions.items()}
    documents = []
    for part in extracted.parts:
        metadata = dict(base)
        if part.page is not None:
            metadata["page"] = part.page
        documents.append(Document(page_content=part.text, metadata=metadata))
    return documents


def _load_file(path: Path, request: SourceRequest, limits: SourceLimits) -> list[Document]:
    loader = LOADERS_BY_SUFFIX.get(path.suffix.lower())
    if loader is None:
        raise SourceError(f"unsupported file type {path.suffix or '(none)'}")
    data = _read_file(path, limits)
    return _documents(display_path(path), data, loader(data), request, path.stem)


def _load_url(url: str, request: SourceRequest, limits: SourceLimits) -> list[Document]:
    fetched = fetch(url, limits)
    loader = LOADERS_BY_MEDIA_TYPE.get(fetched.media_type)
    if loader is None and fetched.media_type in GENERIC_MEDIA_TYPES:
        loader = LOADERS_BY_SUFFIX.get(PurePosixPath(urlsplit(fetched.final_url).path).suffix.lower())
    if loader is None:
        raise SourceError(f"unsupported content type {fetched.media_type or '(none)'}")
    extracted = loader(fetched.data, fetched.charset)
    return _documents(url, fetched.data, extracted, request, _title_from_url(fetched.final_url), url=fetched.final_url)


def _expand(request: SourceRequest, limits: SourceLimits) -> Iterator[tuple[str, Callable[[], list[Document]]]]:
    """(source name, loader call) for each source a request stands for: one URL, one file, or a folder's files."""
    if is_url(request.location):
        yield request.location, lambda: _load_url(request.location, request, limits)
        return
    root = Path(request.location)
    if not root.exists() and not root.is_symlink():
        yield display_path(root), _raise(MISSING_SOURCE)
        return
    for path in iter_source_files([root]):
        yield display_path(path), lambda path=path: _load_file(path, request, limits)  # type: ignore[misc]


def _raise(reason: str) -> Callable[[], list[Document]]:
    def fail() -> list[Document]:
        raise SourceError(reason)

    return fail


def _as_request(source: str | Path | SourceRequest) -> SourceRequest:
    return source if isinstance(source, SourceRequest) else SourceRequest(str(source))


def load_sources(
    sources: Iterable[str | Path | SourceRequest], limits: SourceLimits | None = None
) -> tuple[list[Document], list[SkippedSource]]:
    """Every readable source as Documents; the rest as SkippedSource with a one-line reason.

    A source named twice (a corpus file also listed in sources.yaml) is loaded once, the later
    request winning, so a listed entry can add a title, lang or topics to a file in a folder.
    """
    limits = limits or SourceLimits()
    loaded: dict[str, list[Document]] = {}
    skipped: dict[str, SkippedSource] = {}
    for request in map(_as_request, sources):
        for name, load in _expand(request, limits):
            loaded.pop(name, None)
            skipped.pop(name, None)
            try:
                loaded[name] = load()
            except SourceError as exc:
                reason = " ".join(str(exc).split())  # one line in the summary, whatever a parser said
                log.warning("skipping %s: %s", name, reason)
                skipped[name] = SkippedSource(name, reason)
    return [d for docs in loaded.values() for d in docs], list(skipped.values())


def load_text_file(path: Path) -> Document:
    """One Markdown or text file as a Document; raises SourceError with the reason."""
    return _load_file(path, SourceRequest(str(path)), SourceLimits())[0]


def corpus_hash(documents: Iterable[Document]) -> str:
    """One hash over every source's name and content: changes whenever the corpus does."""
    return content_hash_of((str(d.metadata["source"]), str(d.metadata["content_hash"])) for d in documents)


def content_hash_of(pairs: Iterable[tuple[str, str]]) -> str:
    """The corpus hash from (source, content hash) pairs, e.g. a manifest's sources."""
    digest = hashlib.sha256()
    for source, chash in sorted(set(pairs)):
        digest.update(f"{source}\0{chash}\n".encode())
    return digest.hexdigest()
