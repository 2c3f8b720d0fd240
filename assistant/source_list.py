"""corpus/sources.yaml: the versioned list of extra sources (paths or URLs) a default build indexes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .config import Settings
from .errors import SourceListError
from .loaders import is_url
from .sources import SkippedSource, SourceRequest, display_path

log = logging.getLogger(__name__)


class ListedSource(BaseModel):
    """One entry of sources.yaml: a `path` (relative to the file) or a `url`, with optional metadata."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = None
    url: str | None = None
    title: str | None = None
    lang: Literal["fr", "en"] | None = None
    topics: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_location(self) -> ListedSource:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of `path` or `url`")
        if self.url is not None and not is_url(self.url):
            raise ValueError("`url` must start with http:// or https://")
        return self

    def request(self, base: Path) -> SourceRequest:
        location = self.url if self.url is not None else str(base / str(self.path))
        return SourceRequest(location, self.title, self.lang, tuple(self.topics))


class SourceList(BaseModel):
    """The whole file: `sources:` and a list of entries (an empty list is fine)."""

    model_config = ConfigDict(extra="forbid")

    sources: list[dict[str, object]] | None = None


def read_source_list(path: Path) -> tuple[list[SourceRequest], list[SkippedSource]]:
    """The requests listed in `path`; a bad entry is skipped with its reason, a bad file is an error."""
    if not path.exists():
        return [], []
    name = display_path(path)
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
        listing = SourceList.model_validate(raw or {})
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValidationError) as exc:
        # Guessing what a broken list meant could drop curated sources from the index: refuse instead.
        raise SourceListError(
            f"{name} is not a valid source list ({type(exc).__name__}: {str(exc).splitlines()[0]}): fix it "
            f"(expected `sources:` followed by entries with `path` or `url`, and optional title, lang, topics)"
        ) from exc
    requests: list[SourceRequest] = []
    skipped: list[SkippedSource] = []
    for n, entry in enumerate(listing.sources or [], start=1):
        try:
            requests.append(ListedSource.model_validate(entry).request(path.parent))
        except ValidationError as exc:
            reason = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in exc.errors())
            log.warning("skipping entry %d of %s: %s", n, name, reason)
            skipped.append(SkippedSource(f"{name} entry {n}", f"invalid entry ({reason})"))
    return requests, skipped


def default_sources(settings: Settings) -> tuple[list[SourceRequest], list[SkippedSource]]:
    """What `mlcareer index build` reads without --source: the corpus folder, then sources.yaml's entries."""
    listed, skipped = read_source_list(settings.source_list_file)
    return [SourceRequest(str(settings.corpus_dir)), *listed], skipped
