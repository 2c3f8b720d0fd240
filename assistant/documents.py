"""Whole documents rebuilt from an index's chunks, so a client can read a cited source in full.

Rebuilt from the index rather than read from disk: the index is what answers cite, it holds
sources fetched from URLs too, and it stays right when the corpus folder has moved or changed
since the build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .chunking import SECTION_SEPARATOR, Chunk

_NOT_ID = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class CorpusDocument:
    """One indexed source: its metadata and its text section by section."""

    id: str
    source: str
    title: str
    lang: str
    topics: tuple[str, ...]
    url: str | None
    text: str

    @property
    def uri(self) -> str:
        return f"mlcareer://documents/{self.id}"


def document_id(source: str) -> str:
    """A readable, URI-safe id from the source path or URL ("corpus/resources/books.en.md" -> "books-en")."""
    name = source.rsplit("/", 1)[-1] if not source.endswith("/") else source
    stem = name[: -len(".md")] if name.endswith(".md") else name
    return _NOT_ID.sub("-", stem.lower()).strip("-") or "document"


def documents_from_chunks(chunks: list[Chunk]) -> list[CorpusDocument]:
    """Group chunks by source, in index order; each section heading is written once, as Markdown."""
    by_source: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_source.setdefault(str(chunk.metadata.get("source", "")), []).append(chunk)
    taken: set[str] = set()
    documents = []
    for source, parts in by_source.items():
        first = parts[0]
        base = document_id(source)
        doc_id, n = base, 2
        while doc_id in taken:  # two sources with the same file name in different folders
            doc_id, n = f"{base}-{n}", n + 1
        taken.add(doc_id)
        lines = [f"# {first.title}"]
        previous: str | None = None
        for chunk in parts:
            if chunk.section != previous and chunk.section:
                lines.append(f"\n## {chunk.section.replace(SECTION_SEPARATOR, ' · ')}")
            previous = chunk.section
            lines.append(chunk.text)
        url = first.metadata.get("url")
        documents.append(
            CorpusDocument(
                id=doc_id,
                source=source,
                title=first.title,
                lang=str(first.metadata.get("lang", "")),
                topics=tuple(str(t) for t in first.metadata.get("topics") or []),  # type: ignore[union-attr]
                url=str(url) if url else None,
                text="\n\n".join(lines).replace("\n\n\n", "\n\n"),
            )
        )
    return documents
