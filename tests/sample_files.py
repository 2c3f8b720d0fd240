"""Real files of every supported format, written by the tests themselves (no fixtures checked in)."""

from __future__ import annotations

import io

HTML_WITH_NOISE = """<!doctype html>
<html lang="en"><head><title>Deploying models | Example site</title>
<script>window.tracker = "NOISE-SCRIPT-TRACKER";</script><style>.nav { color: red }</style></head>
<body>
<nav><ul><li><a href="/">Home NOISE-NAV-LINK</a></li><li><a href="/blog">Blog</a></li></ul></nav>
<main><article>
<h1>Deploying machine learning models</h1>
<p>To deploy a machine learning model you package it behind an HTTP API, version the model artefact and
roll it out gradually, watching latency and error rates as traffic shifts to the new version.</p>
<h2>Monitoring in production</h2>
<p>Monitoring tracks prediction latency, error rates and the drift of input distributions, so that a
silent degradation of the model triggers an alert and a retraining job before users notice it.</p>
</article></main>
<footer>Copyright NOISE-FOOTER 2024</footer>
<script>console.log("NOISE-SCRIPT-BODY")</script>
</body></html>
"""


def make_pdf(pages: list[str], title: str | None = None) -> bytes:
    """A minimal but valid PDF (Helvetica text, one content stream per page), written by hand."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    pages_id = add(b"")  # filled in once the page ids are known
    kids = []
    for text in pages:
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 740 Td"]
        for line in text.split("\n"):
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("cp1252")
        content = add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> >> "
                b"/Contents %d 0 R >>" % (pages_id, font, content)
            )
        )
    objects[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    info = add(b"<< /Title (%s) >>" % title.encode("cp1252")) if title else None
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    info_ref = b" /Info %d 0 R" % info if info else b""
    out.write(b"trailer\n<< /Size %d /Root %d 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, info_ref, xref))
    return out.getvalue()


def make_docx(title: str, sections: dict[str, str], table: list[list[str]] | None = None) -> bytes:
    """A real .docx written with python-docx: a Title, Heading 1 sections, paragraphs and a table."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=0)
    for heading, text in sections.items():
        document.add_heading(heading, level=1)
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
