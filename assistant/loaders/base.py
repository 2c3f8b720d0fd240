"""What every format loader returns: text parts plus the metadata the format itself carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from ..errors import SourceError

TextFormat = Literal["markdown", "text"]


@dataclass(frozen=True)
class TextPart:
    """A stretch of text from one place in a source: a PDF page, or the whole document."""

    text: str
    page: int | None = None


@dataclass(frozen=True)
class Extracted:
    """One source as read by its format loader, before the common metadata is added."""

    parts: list[TextPart]
    format: TextFormat
    title: str | None = None
    lang: str | None = None
    topics: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    # Front matter `questions`: per section heading, questions users ask that it answers (doc2query).
    questions: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceLimits:
    """How large a source may be, and how long and how far a URL fetch may go, before it is skipped."""

    max_bytes: int = 20 * 1024 * 1024
    timeout: float = 20.0
    max_redirects: int = 5

    @property
    def deadline(self) -> float:
        # httpx's timeout bounds each wait; this bounds a server that trickles bytes forever.
        return 5 * self.timeout


class FormatLoader(Protocol):
    """Raw bytes (and the charset a server declared) in, extracted text out; SourceError says why not."""

    def __call__(self, data: bytes, charset: str | None = None) -> Extracted: ...


def decode_text(data: bytes, charset: str | None = None) -> str:
    """Bytes of a text format as str; binary or mis-encoded input is refused with the reason."""
    if b"\x00" in data[:8192]:
        raise SourceError("binary content, not text")
    encoding = charset or "utf-8"
    try:
        return data.decode(encoding)
    except LookupError as exc:
        raise SourceError(f"unknown text encoding {encoding!r}") from exc
    except UnicodeDecodeError as exc:
        label = "UTF-8" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
        raise SourceError(f"not valid {label} text ({exc.reason})") from exc


def require_text(parts: list[TextPart], empty_reason: str = "empty document") -> list[TextPart]:
    """Only the parts that hold text; none at all is a SourceError with `empty_reason`."""
    kept = [p for p in parts if p.text.strip()]
    if not kept:
        raise SourceError(empty_reason)
    return kept
