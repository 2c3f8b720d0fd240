"""All configuration in one place: environment variables prefixed MLCAREER_, offline defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The project root holds corpus/ and the shipped index/ (the package is installed editable).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob of the assistant; each field can be set as MLCAREER_<FIELD> in the environment."""

    model_config = SettingsConfigDict(env_prefix="MLCAREER_", env_file=None, extra="ignore")

    # Knowledge and index
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    index_dir: Path = PROJECT_ROOT / "index"
    embedding_model: str = Field(
        default="multilingual-e5-small",
        description="One of the ids in assistant.embeddings.EMBEDDING_MODELS.",
    )
    threads: int = Field(default=2, ge=1, description="CPU threads for embedding and generation.")
    chunk_size: int = Field(default=1000, ge=200, description="Max characters per chunk.")
    chunk_overlap: int = Field(default=150, ge=0)
    sources_file: Path | None = Field(
        default=None, description="Extra sources (paths, URLs) for `mlcareer index build`; default <corpus_dir>/sources.yaml."
    )
    max_source_bytes: int = Field(default=20 * 1024 * 1024, ge=1, description="Larger files and downloads are skipped.")
    fetch_timeout: float = Field(default=20.0, gt=0, description="Seconds a URL may take to connect or send data.")
    fetch_max_redirects: int = Field(default=5, ge=0, description="Redirects followed when fetching a URL.")

    # Retrieval
    top_k: int = Field(default=6, ge=1, le=20, description="Passages given to the answer (and shown as sources).")
    passage_chars: int = Field(
        default=2400,
        ge=0,
        description="A retrieved chunk comes with the rest of its section up to this many characters (0: the chunk alone); "
        "one passage per section.",
    )
    candidates: int = Field(default=20, ge=1, description="Hits per search (passages, headings, BM25) before fusion.")
    heading_weight: float = Field(default=0.35, ge=0.0, description="Weight of the heading's cosine in fusion.")
    keyword_weight: float = Field(default=0.03, ge=0.0, description="Weight of the BM25 score (divided by the best) in fusion.")
    language_bonus: float = Field(
        default=0.01, ge=0.0, description="Fusion bonus for passages in the question's language."
    )
    intro_penalty: float = Field(
        default=0.01, ge=0.0, description="Fusion malus for a document's introduction, which overlaps every section."
    )
    scope_probability: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Minimum probability from the scope classifier for a question to be in scope; unset: the "
        "index's calibrated cut (`mlcareer index info`); 0 turns the classifier off.",
    )
    scope_training_file: Path | None = Field(
        default=None,
        description="Labelled questions for the scope classifier, trained at index build; default assistant/data/scope_training.jsonl.",
    )
    scope_threshold: float | None = Field(
        default=None,
        description="Minimum dense similarity of the best passage for a question to be in scope; unset: the "
        "index's calibrated cut (`mlcareer index info`).",
    )

    # Questions and answers
    max_question_chars: int = Field(default=2000, ge=10)
    max_history_turns: int = Field(default=6, ge=0)
    llm: Literal["local", "openai", "extractive"] = Field(
        default="extractive", description="Answer backend: embedded local LLM, any OpenAI-compatible endpoint, or extractive."
    )
    local_model: str = Field(
        default="qwen2.5-coder-1.5b-instruct", description="A packaged GGUF in assistant.answering.local_llm.LOCAL_MODELS."
    )
    local_model_path: Path | None = Field(default=None, description="Any other GGUF file; overrides local_model.")
    local_slots: int = Field(
        default=2, ge=1, le=16, description="Answers the local model writes at once (llama.cpp slots, continuous batching)."
    )
    speculative: Literal["none", "ngram"] = Field(
        default="none", description="Speculative decoding of the local model: n-gram prompt lookup, or none."
    )
    model_cache_dir: Path = Field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlcareer" / "models",
        description="Where the packaged GGUF is assembled once.",
    )
    openai_base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1.")
    openai_model: str = "gpt-4o-mini"
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("MLCAREER_OPENAI_API_KEY", "OPENAI_API_KEY", "openai_api_key")
    )
    temperature: float = Field(default=0.1, ge=0.0, le=2.0)
    max_tokens: int = Field(default=320, ge=16, le=4096, description="Longest generated answer, in tokens.")
    context_tokens: int = Field(default=4096, ge=512, description="Model context; passages are trimmed to fit.")
    answer_support: float = Field(
        default=0.6,
        ge=0.0,
        le=1.0,
        description="Share of a generated sentence's content words that must occur in the passages for it "
        "to be shown (assistant/answering/guard.py); 0 shows everything the model writes.",
    )
    listed_question_cut: float = Field(
        default=0.895,
        ge=0.0,
        le=1.0,
        description="A question of 10 words or more whose closest question listed in the corpus's front matter is "
        "further than this cosine is told the sources do not answer it (assistant/answering/answerability.py); "
        "0 turns the check off. Indexes without listed questions never use it.",
    )
    structured_output: bool = Field(
        default=True,
        description="Generating backends fill a JSON schema (a verdict on the passages, then sentences each citing "
        "one), checked sentence by sentence; off: free text checked by the answer guard (for endpoints without "
        "JSON-schema support).",
    )
    focus_sentences: int = Field(
        default=6, ge=1, le=40, description="Most relevant passage sentences or list items given to a generating backend."
    )
    llm_timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for the LLM before falling back.")
    answer_mode: Literal["hybrid", "written"] = Field(
        default="hybrid",
        description="Generating backends: the quoted key points at once, then the written answer (hybrid), or the "
        "written answer only.",
    )
    queue_size: int = Field(
        default=64,
        ge=0,
        description="Answers that may wait for a busy model; more are quoted at once. Above the number of clients: "
        "an overflow answered at once is asked again at once, and that churn takes the CPU from the model.",
    )
    queue_wait: float = Field(
        default=30.0, ge=0, description="Seconds an answer may wait for the model before it is quoted instead."
    )
    openai_concurrency: int = Field(default=4, ge=1, description="Answers written at once by the hosted endpoint.")
    answer_units: int = Field(
        default=5, ge=1, le=10, description="Most sentences or list items an extractive answer quotes."
    )

    # Serving
    host: str = "127.0.0.1"
    port: int = 7860
    concurrency_limit: int = Field(default=8, ge=1)
    api_key: SecretStr | None = Field(default=None, description="When set, the HTTP API needs `Authorization: Bearer <key>`.")
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS (none by default).")
    max_messages: int = Field(default=40, ge=1, description="Most messages accepted in one chat request.")
    request_timeout: float = Field(default=120.0, gt=0, description="Seconds before an API request is abandoned.")
    generation_workers: int = Field(
        default=64,
        ge=1,
        description="Answers the HTTP API works on at once (threads; a generating model has its own queue, MLCAREER_QUEUE_SIZE).",
    )
    feedback_path: Path = Field(
        default=PROJECT_ROOT / "var" / "feedback.jsonl", description="Append-only JSONL of the web chat's thumbs up/down."
    )
    index_reload_interval: float = Field(
        default=5.0, ge=0, description="Seconds between checks for a rebuilt index while serving (0: never reload)."
    )

    @property
    def source_list_file(self) -> Path:
        """Where the versioned list of extra sources lives (beside the corpus unless set)."""
        return self.sources_file or self.corpus_dir / "sources.yaml"


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI flags, tests) on top."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)
