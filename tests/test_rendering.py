from html.parser import HTMLParser

from assistant.serving.rendering import (
    ReplyView,
    markdown_html,
    render_reply,
    reply_answer_id,
    reply_text,
    safe_url,
    source_card,
    sources_html,
    stopped_reply,
)
from assistant.schema import Source

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    '<svg onload="alert(3)"></svg>',
    '<a href="javascript:alert(4)">x</a>',
    "[click](javascript:alert(5))",
    "![pixel](https://evil.example/steal?c=1)",
    '<iframe src="javascript:alert(6)"></iframe>',
]


def _source(**kw) -> Source:
    base = dict(n=1, id="a", text="t", score=0.9, title="Title", section="Sec", source="corpus/x.md", lang="en", url="https://example.org/")
    base.update(kw)
    return Source(**base)


class _Tags(HTMLParser):
    """Collects the real tags and attributes of some HTML, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.live: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "img", "svg", "iframe", "object", "embed", "style"):
            self.live.append(tag)
        for name, value in attrs:
            if name.startswith("on") or "javascript:" in (value or "").lower():
                self.live.append(f"{tag} {name}={value}")


def _live_markup(html: str) -> list[str]:
    """Tags and attributes that could run code or load something."""
    parser = _Tags()
    parser.feed(html)
    return parser.live


def test_only_http_links_survive():
    assert safe_url("https://scikit-learn.org/stable/") == "https://scikit-learn.org/stable/"
    for bad in ("javascript:alert(1)", "data:text/html,<b>", "/etc/passwd", "https://x.org/\"onmouseover=1", None, ""):
        assert safe_url(bad) is None


def test_markdown_from_models_and_documents_is_inert():
    for payload in PAYLOADS:
        assert _live_markup(markdown_html(payload)) == [], payload


def test_markdown_keeps_safe_formatting_and_links():
    out = markdown_html("Read **this** [book](https://d2l.ai/) and `code`.\n\n- one\n- two")
    assert "<strong>this</strong>" in out and "<code>code</code>" in out and "<li>one</li>" in out
    assert '<a href="https://d2l.ai/" target="_blank" rel="noopener noreferrer nofollow">book</a>' in out


def test_citations_become_labelled_chips_but_not_inside_code():
    out = markdown_html("A fact [2]. `x[1]`", titles={2: "Books › Deep learning"})
    assert '<span class="mlc-cite" title="Books › Deep learning">[2]</span>' in out
    assert "<code>x[1]</code>" in out


def test_rendered_html_has_no_blank_line():
    out = markdown_html("```\na\n\nb\n```\n\npara")
    assert "\n" not in out and "a&#10;&#10;b" in out


def test_source_card_escapes_everything_from_the_document():
    card = source_card(_source(title='<b onmouseover="x">T</b>', section="A > B &amp; <C", text=PAYLOADS[1], url="javascript:alert(1)"), "en")
    assert _live_markup(card) == []
    assert "&lt;b onmouseover=&quot;x&quot;&gt;T&lt;/b&gt;" in card and "A › B &amp;amp; &lt;C" in card
    assert "<details" in card and "corpus/x.md" in card  # no safe link: the file it came from


def test_source_card_links_to_the_original():
    card = source_card(_source(url="https://www.deeplearningbook.org/?a=1&b=2"), "fr")
    assert 'href="https://www.deeplearningbook.org/?a=1&amp;b=2"' in card and "deeplearningbook.org ↗" in card
    assert 'rel="noopener noreferrer nofollow"' in card and "Afficher le passage" in card


def test_sources_are_numbered_like_citations():
    block = sources_html([_source(n=1), _source(n=2, id="b")], "en")
    assert block.count('class="mlc-card"') == 2 and '<span class="mlc-n">2</span>' in block
    assert sources_html([], "en") == ""


def test_reply_round_trip_and_states():
    sources = [_source()]
    pending = render_reply(ReplyView(answer_id="0123456789abcdef", language="en", sources=sources, retrieving=False))
    assert "mlc-pending" in pending and "Writing the answer" in pending and "mlc-footer" not in pending
    done = render_reply(
        ReplyView(
            answer_id="0123456789abcdef",
            language="fr",
            text="Voici :\n\n- Un fait [1]\n- <b>gras</b>",
            sources=sources,
            backend="extractive",
            notice="Le modèle <local> a échoué",
        )
    )
    assert "\n" not in done and "mlc-pending" not in done
    assert "Réponse : extractive (repli)" in done and "Le modèle &lt;local&gt; a échoué" in done
    assert reply_answer_id(done) == "0123456789abcdef"
    assert reply_text(done) == "Voici :\n- Un fait [1]\n- <b>gras</b>"
    assert reply_answer_id("plain text") is None and reply_text("plain text") == "plain text"


def test_scope_guard_is_said_in_words():
    out = render_reply(ReplyView(answer_id="0123456789abcdef", language="en", text="Sorry.", backend="scope-guard"))
    assert "out of scope" in out and "mlc-sources" not in out


def test_a_stopped_reply_stops_saying_it_is_writing():
    pending = render_reply(ReplyView(answer_id="0123456789abcdef", language="fr", text="Voici", retrieving=False))
    stopped = stopped_reply(pending)
    assert "mlc-pending" not in stopped and "Réponse interrompue." in stopped and "<p>Voici</p>" in stopped
    done = render_reply(ReplyView(answer_id="0123456789abcdef", language="en", text="Done.", backend="extractive"))
    assert stopped_reply(done) == done and stopped_reply("plain") == "plain"
