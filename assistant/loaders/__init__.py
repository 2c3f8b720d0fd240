"""Source loaders, one module per format; the registries below route a file suffix or a media type to one."""

from __future__ import annotations

from .base import Extracted, FormatLoader, SourceLimits, TextPart
from .docx import load_docx
from .html import load_html
from .markdown import load_markdown, load_plain_text, split_front_matter
from .pdf import load_pdf
from .web import Fetched, fetch, is_url

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

LOADERS_BY_SUFFIX: dict[str, FormatLoader] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_plain_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
}

LOADERS_BY_MEDIA_TYPE: dict[str, FormatLoader] = {
    "text/html": load_html,
    "application/xhtml+xml": load_html,
    "application/pdf": load_pdf,
    "text/plain": load_plain_text,
    "text/markdown": load_markdown,
    "text/x-markdown": load_markdown,
    DOCX_MEDIA_TYPE: load_docx,
}

# Servers that do not know what they send: the URL's suffix decides instead.
GENERIC_MEDIA_TYPES = {"", "application/octet-stream", "binary/octet-stream"}

__all__ = [
    "DOCX_MEDIA_TYPE",
    "GENERIC_MEDIA_TYPES",
    "LOADERS_BY_MEDIA_TYPE",
    "LOADERS_BY_SUFFIX",
    "Extracted",
    "Fetched",
    "FormatLoader",
    "SourceLimits",
    "TextPart",
    "fetch",
    "is_url",
    "split_front_matter",
]
