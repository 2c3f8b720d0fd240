"""Heading-aware splitting: each chunk knows its section path and carries it into its embedding."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from langchain_core.documents import Document
from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

SECTION_SEPARATOR = " > "
_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage; `metadata` holds source, title, section, lang and hashes."""

    id: str
    text: str
    metadata: dict[str, object] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return str(self.metadata.get("title", ""))

    @property
    def section(self) -> str:
        return str(self.metadata.get("section", ""))

    @property
    def heading(self) -> str:
        """Title and section path: embedded on its own too (the heading vectors of the index)."""
        return self.title if not self.section else f"{self.title}{SECTION_SEPARATOR}{self.section}"

    @property
    def questions(self) -> list[str]:
        """Questions users ask that this passage's section answers (front matter `questions`)."""
        asked = self.metadata.get("questions")
        return [str(q) for q in asked] if isinstance(asked, list) else []

    @property
    def embedding_text(self) -> str:
        """What is embedded and keyword-indexed: title and section give short passages context."""
        return f"{self.heading}\n\n{self.text}"

    def to_record(self) -> dict[str, object]:
        return {"id": self.id, "text": self.text, "metadata": self.metadata}


def chunk_id(source: str, section: str, ordinal: int, text: str, page: int | None = None) -> str:
    """Stable across rebuilds: the same text in the same place (and PDF page) keeps its id."""
    key = f"{source}\0{section}\0{ordinal}\0{text}" + (f"\0{page}" if page is not None else "")
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def chunk_document(document: Document, chunk_size: int = 1000, chunk_overlap: int = 150) -> list[Chunk]:
    """Split a document by its headings, then split long sections by paragraphs and sentences."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=min(chunk_overlap, chunk_size // 2),
        separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
    )
    if document.metadata.get("format") == "markdown":
        sections = MarkdownHeaderTextSplitter(_HEADERS, strip_headers=True).split_text(
            document.page_content
        )
    else:
        sections = [Document(page_content=document.page_content)]
    chunks: list[Chunk] = []
    source = str(document.metadata.get("source", ""))
    for section_doc in sections:
        # The level-1 heading is the document title, already carried by `title`.
        path = [str(section_doc.metadata[key]) for key in ("h2", "h3", "h4") if key in section_doc.metadata]
        section = SECTION_SEPARATOR.join(path)
        for ordinal, piece in enumerate(splitter.split_text(section_doc.page_content)):
            text = piece.strip()
            if not text:
                continue
            metadata = {
                key: value
                for key, value in document.metadata.items()
                if key in {"source", "title", "lang", "topics", "links", "content_hash", "page", "url"}
            }
            metadata["section"] = section
            asked = _section_questions(document.metadata.get("questions"), path)
            if asked:
                metadata["questions"] = asked
            metadata["text_hash"] = hashlib.sha256(text.encode()).hexdigest()[:16]
            page = document.metadata.get("page")
            chunks.append(Chunk(chunk_id(source, section, ordinal, text, page if isinstance(page, int) else None), text, metadata))
    return chunks


def _section_questions(questions: object, path: list[str]) -> list[str]:
    """The questions listed for the innermost heading of a section (a `###` inherits none from its `##`)."""
    if not isinstance(questions, dict) or not path:
        return []
    asked = questions.get(path[-1].strip())
    return [str(q) for q in asked] if isinstance(asked, list) else []


def chunk_documents(documents: list[Document], chunk_size: int = 1000, chunk_overlap: int = 150) -> list[Chunk]:
    return [c for d in documents for c in chunk_document(d, chunk_size, chunk_overlap)]
