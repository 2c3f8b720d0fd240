"""PDF files: the text of each page (pypdf), page numbers kept so answers can cite them."""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from ..errors import SourceError
from .base import Extracted, TextPart, require_text
from .headings import mark_headings

# pypdf warns about every quirk of real-world PDFs; the skip reason says what matters.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def load_pdf(data: bytes, charset: str | None = None) -> Extracted:
    """One text part per page that has text, headings marked; truncated, encrypted or image-only PDFs are refused."""
    if not data.startswith(b"%PDF-"):
        raise SourceError("not a PDF (no %PDF- header)")
    if b"%%EOF" not in data[-2048:]:
        # A download cut short or a partial copy: refuse rather than index whatever pypdf salvages.
        raise SourceError("truncated or corrupt PDF (no %%EOF marker)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise SourceError("encrypted PDF: save a decrypted copy to index it")
        parts = [TextPart(page.extract_text() or "", page=n) for n, page in enumerate(reader.pages, start=1)]
        title = reader.metadata.title if reader.metadata else None
    except SourceError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise SourceError(f"corrupt PDF ({type(exc).__name__}: {exc})") from exc
    parts = require_text(parts, "no extractable text in the PDF (scanned pages need OCR first)")
    # Headings shown as lines on the page become sections that carry over page breaks.
    marked = mark_headings([p.text for p in parts])
    parts = [TextPart(text, page=p.page) for text, p in zip(marked, parts)]
    return Extracted(parts=parts, format="markdown", title=(str(title).strip() or None) if title else None)
