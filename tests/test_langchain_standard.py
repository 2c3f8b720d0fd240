"""LangChain's own standard test suites (`langchain-tests`) against the retriever and every packaged embedding model."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import EmbeddingsIntegrationTests, RetrieversIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from assistant import Assistant
from assistant.embeddings import E5Embeddings, SentenceTransformerEmbeddings, USEEmbeddings
from assistant.retrieval import HybridRetriever

pytestmark = pytest.mark.integration


class TestHybridRetriever(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _searcher(self, article_assistant: Assistant) -> None:
        self._params = {"searcher": article_assistant.retriever().searcher}

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return self._params

    @property
    def retriever_query_example(self) -> str:
        return "Quelles compétences en mathématiques faut-il ?"


def test_k_given_at_call_time_wins(article_assistant: Assistant):
    retriever = article_assistant.retriever(k=4)
    assert len(retriever.invoke("programmation", k=1)) == 1
    assert len(retriever.invoke("programmation")) == 4


class TestE5Embeddings(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return E5Embeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"threads": 2}


class TestE5EmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return E5Embeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"threads": 2}


class TestUSEEmbeddings(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return USEEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"threads": 2}


class TestUSEEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return USEEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"threads": 2}


class TestSentenceTransformerEmbeddings(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return SentenceTransformerEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"threads": 2}


class TestSentenceTransformerEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return SentenceTransformerEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"threads": 2}
