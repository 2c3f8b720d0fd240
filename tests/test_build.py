"""Builds a maintainer can trust: sources.yaml, honest summaries, exit codes, no-op rebuilds, SIGKILL halfway."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant import build_index
from assistant.config import Settings
from assistant.embeddings import SPECS
from assistant.errors import IndexBuildError, SourceListError
from assistant.index import load_index, read_manifest, recover_unless_building

from .conftest import ARTICLE, free_port
from .sample_files import make_docx, make_pdf

pytestmark = pytest.mark.integration
E5 = SPECS["multilingual-e5-small"]


def _corpus(root: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "git.md").write_text("---\ntitle: Git\nlang: en\n---\n# Git\n\n## Branches\n\nFeature branches keep ML experiments apart.\n", "utf-8")
    return corpus


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, timeout=300, check=False)


def test_default_build_reads_the_corpus_and_its_sources_yaml(tmp_path: Path):
    corpus = _corpus(tmp_path)
    external = tmp_path / "external"
    external.mkdir()
    (external / "checklist.pdf").write_bytes(make_pdf(["Checklist: log every training run.", "Checklist: pin every dependency."]))
    (external / "guide.docx").write_bytes(make_docx("Serving guide", {"Batch or online": "Batch scoring suits nightly reports."}))
    dead = f"http://127.0.0.1:{free_port()}/gone.html"
    (corpus / "sources.yaml").write_text(
        "sources:\n"
        "  - path: ../external/checklist.pdf\n    title: Checklist MLOps\n    lang: fr\n    topics: [mlops]\n"
        "  - path: ../external/guide.docx\n"
        f"  - url: {dead}\n    title: Gone\n"
        "  - title: no location at all\n",
        "utf-8",
    )
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", fetch_timeout=2)
    report = build_index(settings=settings, progress=False)
    assert sorted(Path(s).name for s in report.added) == ["checklist.pdf", "git.md", "guide.docx"]
    reasons = {s.source: s.reason for s in report.skipped}
    assert reasons[dead].startswith("could not fetch")
    assert any(name.endswith("sources.yaml entry 4") and "path" in r for name, r in reasons.items())
    chunks = load_index(settings.index_dir, E5).chunks
    pdf = [c for c in chunks if str(c.metadata["source"]).endswith("checklist.pdf")]
    assert {(c.metadata["title"], c.metadata["lang"], tuple(c.metadata["topics"])) for c in pdf} == {("Checklist MLOps", "fr", ("mlops",))}
    assert sorted(c.metadata["page"] for c in pdf) == [1, 2]

    # A new title in sources.yaml changes what is embedded: the source is updated and re-embedded.
    yaml_text = (corpus / "sources.yaml").read_text("utf-8")
    (corpus / "sources.yaml").write_text(yaml_text.replace("Checklist MLOps", "Checklist de mise en production"), "utf-8")
    again = build_index(settings=settings, progress=False)
    assert [Path(s).name for s in again.updated] == ["checklist.pdf"] and again.embedded_chunks == 2

    # A list that cannot be parsed stops the build with the fix, and leaves the index alone.
    before = (settings.index_dir / "manifest.json").read_bytes()
    (corpus / "sources.yaml").write_text("sources: [unclosed\n", "utf-8")
    with pytest.raises(SourceListError, match="fix it"):
        build_index(settings=settings, progress=False)
    assert (settings.index_dir / "manifest.json").read_bytes() == before


def test_an_unchanged_rebuild_writes_nothing(tmp_path: Path):
    settings = Settings(corpus_dir=_corpus(tmp_path), index_dir=tmp_path / "index")
    build_index(settings=settings, progress=False)
    manifest = settings.index_dir / "manifest.json"
    before = (manifest.stat().st_ino, manifest.stat().st_mtime_ns, manifest.read_bytes())
    report = build_index(settings=settings, progress=False)
    assert not report.written and report.embedded_chunks == 0 and "already up to date" in report.summary()
    assert (manifest.stat().st_ino, manifest.stat().st_mtime_ns, manifest.read_bytes()) == before
    assert build_index(settings=settings, full=True, progress=False).written  # --full always rewrites


def test_questions_listed_in_front_matter_are_indexed_and_lift_their_section(tmp_path: Path):
    """doc2query: a user's wording close to a listed question finds the section, whatever its own words."""
    from assistant.embeddings import load_embeddings
    from assistant.retrieval import FusionWeights, HybridSearcher

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    body = (
        "# Habits\n\n"
        "## Weekly routine\n\nBlock two one-hour slots a week; skim a curated digest and drop the rest.\n\n"
        "## Night owls\n\nSome engineers work best late in the evening, once meetings are over.\n"
    )
    listed = 'questions:\n  "Weekly routine":\n    - How can I keep up with AI news without giving up my evenings?\n    - What is a sane way to stay current in ML?\n'
    doc = corpus / "habits.md"
    doc.write_text(f"---\ntitle: Habits\nlang: en\n{listed}---\n{body}", "utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings=settings, progress=False)
    index = load_index(settings.index_dir, E5)
    vectors, owner = index.question_vectors
    routine = next(i for i, c in enumerate(index.chunks) if c.section == "Weekly routine")
    assert vectors.shape == (2, E5.dimension) and owner.tolist() == [routine, routine]
    assert [c.questions for c in index.chunks if c.section == "Night owls"] == [[]]

    embeddings = load_embeddings("multilingual-e5-small")
    query = "How do I stay up to date with AI without spending all my evenings on it?"
    ranked = {
        weight: [h.chunk.section for h in HybridSearcher(index, embeddings, weights=FusionWeights(question=weight)).search(query, k=3)]
        for weight in (0.0, FusionWeights().question)
    }
    assert ranked[FusionWeights().question][0] == "Weekly routine", ranked

    # Unchanged: nothing written; questions removed: the index is rewritten without them.
    assert not build_index(settings=settings, progress=False).written
    doc.write_text(f"---\ntitle: Habits\nlang: en\n---\n{body}", "utf-8")
    build_index(settings=settings, progress=False)
    assert not (settings.index_dir / "questions.index").exists()
    assert load_index(settings.index_dir, E5).question_vectors[0].shape == (0, E5.dimension)


def test_cli_summary_names_changes_and_exits_non_zero_only_when_nothing_was_indexed(tmp_path: Path):
    src, index_dir = tmp_path / "src", tmp_path / "index"
    src.mkdir()
    (src / "a.md").write_text("# A\n\nModel cards document intended use.\n", "utf-8")
    (src / "b.txt").write_text("Data contracts pin the schema of features.\n", "utf-8")
    (src / "broken.pdf").write_bytes(b"%PDF-1.4\ncut short")
    proc = _cli("index", "build", "--source", str(src), "--index-dir", str(index_dir))
    assert proc.returncode == 0, proc.stderr
    assert "2 added" in proc.stdout and "1 skipped" in proc.stdout
    assert re.search(r"in \d+\.\d s", proc.stdout)
    assert "skipped " in proc.stdout and "broken.pdf: truncated or corrupt PDF" in proc.stdout

    (src / "a.md").write_text("# A\n\nModel cards document intended use and limits.\n", "utf-8")
    (src / "b.txt").unlink()
    (src / "c.md").write_text("# C\n\nShadow deployments compare models on live traffic.\n", "utf-8")
    proc = _cli("index", "build", "--source", str(src), "--index-dir", str(index_dir))
    assert proc.returncode == 0, proc.stderr
    assert "1 added, 1 updated, 1 removed, 0 unchanged, 0 kept from the previous index, 1 skipped" in proc.stdout
    assert re.search(r"added: \S*c\.md", proc.stdout) and re.search(r"updated: \S*a\.md", proc.stdout)
    assert re.search(r"removed: \S*b\.txt", proc.stdout)

    before = (index_dir / "manifest.json").read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.pdf").write_bytes(b"garbage")
    (bad / "y.bin").write_bytes(b"\x00\x01")
    proc = _cli("index", "build", "--source", str(bad), "--source", str(tmp_path / "nope.md"), "--index-dir", str(index_dir))
    assert proc.returncode == 1
    assert "nothing could be indexed" in proc.stderr and "Traceback" not in proc.stderr
    assert (index_dir / "manifest.json").read_bytes() == before


def test_nothing_indexable_raises_and_keeps_the_index(tmp_path: Path):
    settings = Settings(corpus_dir=_corpus(tmp_path), index_dir=tmp_path / "index")
    build_index(settings=settings, progress=False)
    with pytest.raises(IndexBuildError, match="unchanged"):
        build_index(sources=[tmp_path / "missing"], settings=settings, progress=False)
    assert read_manifest(settings.index_dir).chunk_count == 1


# --- SIGKILL halfway -------------------------------------------------------------------------

_WORDS = (
    "model data feature training pipeline gradient loss metric deployment monitoring drift latency "
    "experiment tracking registry container batch stream embedding vector retrieval evaluation bias "
    "variance regularisation optimiser schedule checkpoint rollout canary shadow label annotation"
).split()


def _generated_corpus(root: Path, files: int = 40) -> Path:
    """Enough text (~80 chunks of ~900 characters) that embedding it takes several seconds."""
    rng = random.Random(7)
    root.mkdir()
    for n in range(files):
        sections = []
        for s in range(2):
            words = " ".join(rng.choice(_WORDS) for _ in range(130))
            sections.append(f"## Section {s}\n\n{words.capitalize()}.\n")
        (root / f"doc-{n:03d}.md").write_text(f"# Generated {n}\n\n" + "\n".join(sections), "utf-8")
    return root


class _Build:
    """`mlcareer index build` in a subprocess, its stderr (tqdm's progress) collected as it comes."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "assistant", "index", "build", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.err = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        while block := self.proc.stderr.read1(4096):  # type: ignore[attr-defined]
            self.err += block

    def kill(self) -> int:
        self.proc.send_signal(signal.SIGKILL)
        code = self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        return code


def _assert_recovers(index_dir: Path, before: bytes | None, fresh_sources: list[Path]) -> None:
    """After a kill: what is on disk loads (the old index, or the new one if the swap had finished),
    nothing half-written is left, and the next build takes the lock and succeeds."""
    recover_unless_building(index_dir)  # what a server or the next build does first
    loaded = load_index(index_dir, E5)
    if before is not None:
        assert (index_dir / "manifest.json").read_bytes() == before
    assert not list(index_dir.parent.glob(f"{index_dir.name}.build-*"))
    report = build_index(sources=fresh_sources, index_dir=index_dir, progress=False)
    assert load_index(index_dir, E5).manifest.chunk_count == report.chunks > 0
    assert loaded.manifest.chunk_count > 0
    assert not list(index_dir.parent.glob(f"{index_dir.name}.build-*")) and not index_dir.with_name("index.previous").exists()


def test_sigkill_while_embedding_leaves_the_previous_index_serving(tmp_path: Path, article_index: Path):
    index_dir = tmp_path / "index"
    shutil.copytree(article_index, index_dir)
    before = (index_dir / "manifest.json").read_bytes()
    generated = _generated_corpus(tmp_path / "generated")

    build = _Build("--source", str(generated), "--index-dir", str(index_dir))
    deadline = time.monotonic() + 180
    while not re.search(rb"embedding passages:\s+\d+%\|[^|\r\n]*\|\s*[1-9]\d*/\d+", build.err):
        assert build.proc.poll() is None, build.err.decode(errors="replace")
        assert time.monotonic() < deadline, "the build never reported embedding progress"
        time.sleep(0.05)
    assert build.kill() == -signal.SIGKILL
    _assert_recovers(index_dir, before, [ARTICLE])


def test_sigkill_while_writing_leaves_a_loadable_index(tmp_path: Path, article_index: Path):
    index_dir = tmp_path / "index"
    shutil.copytree(article_index, index_dir)
    extra = tmp_path / "extra.md"
    extra.write_text("# Extra\n\nA model registry records every version that reached production.\n", "utf-8")

    # Incremental: one chunk to embed, then the write. Kill the moment a staging folder appears;
    # if the build wins the race, the index must simply be the new one.
    build = _Build("--source", str(ARTICLE), "--source", str(extra), "--index-dir", str(index_dir))
    deadline = time.monotonic() + 180
    while build.proc.poll() is None and time.monotonic() < deadline:
        if any(entry.name.startswith("index.build-") for entry in os.scandir(tmp_path)):
            break
    build.kill() if build.proc.poll() is None else build.proc.wait()
    _assert_recovers(index_dir, None, [ARTICLE, extra])


def test_a_source_that_fails_this_time_keeps_its_previous_version(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.md").write_text("# A\n\nModel cards document intended use.\n", "utf-8")
    (src / "checklist.pdf").write_bytes(make_pdf(["Checklist: log every training run."]))
    index_dir = tmp_path / "index"
    first = build_index(sources=[src], index_dir=index_dir, progress=False)
    assert len(first.added) == 2

    # The PDF is caught half-written (or a URL is down): its indexed version stays, and says why.
    (src / "checklist.pdf").write_bytes(b"%PDF-1.4\ncut short")
    again = build_index(sources=[src], index_dir=index_dir, progress=False)
    assert [Path(s.source).name for s in again.kept] == ["checklist.pdf"] and again.skipped == []
    assert "kept the previously indexed version of" in again.summary() and "corrupt PDF" in again.summary()
    assert not again.written and again.chunks == first.chunks
    assert any("log every training run" in c.text for c in load_index(index_dir, E5).chunks)

    # A source that is gone is removed, not kept.
    (src / "checklist.pdf").unlink()
    gone = build_index(sources=[src], index_dir=index_dir, progress=False)
    assert [Path(s).name for s in gone.removed] == ["checklist.pdf"] and gone.kept == []
    assert not any("log every training run" in c.text for c in load_index(index_dir, E5).chunks)


def test_a_first_build_starts_from_the_shipped_scope_classifier(tmp_path: Path):
    """Same training file, same model: the shipped classifier and its questions' vectors are reused
    (checksummed), the cuts are still calibrated on the new index; --full trains afresh."""
    from assistant.build import SHIPPED_INDEX
    from assistant.index import load_scope

    shipped, shipped_questions = load_scope(SHIPPED_INDEX, E5)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.md").write_text("# Model cards\n\nModel cards document the intended use of a model.\n", "utf-8")
    build_index(sources=[src], index_dir=tmp_path / "index", progress=False)
    built = load_index(tmp_path / "index", E5)
    assert built.scope.coef == shipped.coef and built.scope.training_sha256 == shipped.training_sha256
    assert (built.scope_question_vectors == shipped_questions).all()
    assert built.scope.calibration != shipped.calibration  # calibrated on this one-chunk index
