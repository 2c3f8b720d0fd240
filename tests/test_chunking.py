from langchain_core.documents import Document

from assistant.chunking import chunk_document, chunk_id


def _doc(body: str) -> Document:
    return Document(page_content=body, metadata={"source": "x.md", "title": "T", "lang": "en", "format": "markdown"})


def test_chunks_know_their_section_path_and_embed_it():
    chunks = chunk_document(_doc("# T\n\nIntro.\n\n## Maths\n\n### Algebra\n\nVectors and matrices.\n\n## Code\n\nPython."))
    sections = [c.section for c in chunks]
    assert sections == ["", "Maths > Algebra", "Code"]
    algebra = chunks[1]
    assert algebra.text == "Vectors and matrices."
    assert algebra.embedding_text.startswith("T > Maths > Algebra\n\n")


def test_long_sections_are_split_below_the_chunk_size():
    body = "## Long\n\n" + " ".join(f"Sentence number {i} is here." for i in range(300))
    chunks = chunk_document(_doc(body), chunk_size=400, chunk_overlap=50)
    assert len(chunks) > 5
    assert all(len(c.text) <= 400 for c in chunks)
    assert {c.section for c in chunks} == {"Long"}


def test_chunk_ids_are_stable_and_content_addressed():
    first = chunk_document(_doc("## A\n\nSame text."))
    again = chunk_document(_doc("## A\n\nSame text."))
    changed = chunk_document(_doc("## A\n\nOther text."))
    assert [c.id for c in first] == [c.id for c in again]
    assert first[0].id != changed[0].id
    assert chunk_id("a", "s", 0, "t") != chunk_id("b", "s", 0, "t")
