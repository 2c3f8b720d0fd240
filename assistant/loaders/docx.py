"""Word .docx files (python-docx): paragraphs and tables in order, heading styles as Markdown headings."""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table

from ..errors import SourceError
from .base import Extracted, TextPart, require_text

_HEADING_STYLE = re.compile(r"^heading (\d)$", re.IGNORECASE)


def _markdown_line(style: str, text: str) -> str:
    # "Title" is the document's h1; Word's "Heading 1" is a section under it (h2), and so on.
    if style.lower() == "title":
        return f"# {text}"
    match = _HEADING_STYLE.match(style)
    if match:
        return f"{'#' * min(int(match.group(1)) + 1, 4)} {text}"
    if style.lower().startswith("list"):
        return f"- {text}"
    return text


def load_docx(data: bytes, charset: str | None = None) -> Extracted:
    """The body of a .docx as Markdown, so its heading styles become sections."""
    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in item.rows]
                blocks.append("\n".join(r for r in rows if r.strip(" |")))
            elif item.text.strip():
                blocks.append(_markdown_line(item.style.name if item.style is not None else "", item.text.strip()))
        title = document.core_properties.title
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SourceError(f"not a readable .docx ({type(exc).__name__}: {exc})") from exc
    body = "\n\n".join(b for b in blocks if b)
    parts = require_text([TextPart(body)])
    heading = next((b[2:] for b in blocks if b.startswith("# ")), None)
    return Extracted(parts=parts, format="markdown", title=(title or "").strip() or heading)
