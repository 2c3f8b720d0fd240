"""HTML pages: the main text only (navigation, scripts, footers dropped by trafilatura), headings kept."""

from __future__ import annotations

import trafilatura

from ..errors import SourceError
from .base import Extracted, TextPart, require_text


def load_html(data: bytes, charset: str | None = None) -> Extracted:
    """The article of an HTML page as Markdown, so its headings become sections."""
    if b"\x00" in data[:8192]:
        raise SourceError("binary content, not HTML")
    page: bytes | str = data.decode(charset, errors="replace") if charset else data  # trafilatura sniffs bytes
    try:
        text = trafilatura.extract(
            page,
            output_format="markdown",
            include_formatting=True,
            include_links=False,
            include_images=False,
            include_comments=False,
            include_tables=True,
            favor_recall=True,
        )
        meta = trafilatura.extract_metadata(page)
    except (ValueError, TypeError, LookupError) as exc:
        raise SourceError(f"unreadable HTML ({exc})") from exc
    parts = require_text([TextPart(text or "")], "no main text found in the HTML page")
    return Extracted(parts=parts, format="markdown", title=(meta.title if meta else None) or None)
