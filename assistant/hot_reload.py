"""Hot reload: a running assistant picks up a rebuilt index without a restart, never a half-written one."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .errors import AssistantError
from .index import index_signature
from .retrieval import HybridSearcher

log = logging.getLogger(__name__)


class IndexWatcher:
    """Holds the searcher being served; when the manifest on disk changes, loads and verifies the new
    index aside, then swaps the reference. Requests in flight keep the searcher they started with."""

    def __init__(self, index_dir: Path, load: Callable[[], HybridSearcher], interval: float) -> None:
        self.index_dir = Path(index_dir)
        self.interval = interval
        self.last_error: str | None = None
        self._load = load
        self._lock = threading.Lock()  # guards the fields below
        self._reload_lock = threading.Lock()  # one load at a time
        # Read before loading: a build landing during the first load is then seen at the next check.
        self._signature = index_signature(self.index_dir)
        self._failed: tuple[int, int, int] | None = None
        self._current = load()
        self._checked_at = time.monotonic()
        self._reloading: threading.Thread | None = None

    def current(self) -> HybridSearcher:
        """The searcher to use now; at most every `interval` seconds, a cheap stat looks for a new index."""
        if self.interval > 0 and time.monotonic() - self._checked_at >= self.interval:
            self._check_in_background()
        return self._current

    def _check_in_background(self) -> None:
        with self._lock:
            if time.monotonic() - self._checked_at < self.interval:
                return
            self._checked_at = time.monotonic()
            if self._reloading is not None and self._reloading.is_alive():
                return
            signature = index_signature(self.index_dir)
            if signature is None or signature in (self._signature, self._failed):
                return
            # Loading takes a while on a large index: requests go on with the old one meanwhile.
            self._reloading = threading.Thread(target=self.reload, name="index-reload", daemon=True)
            self._reloading.start()

    def reload(self) -> bool:
        """Load the index on disk if it changed; True when it is now served. A failure keeps the old one."""
        with self._reload_lock:
            signature = index_signature(self.index_dir)
            if signature is None or signature == self._signature:
                return False
            try:
                searcher = self._load()  # load_index verifies the manifest and every checksum
            except (AssistantError, OSError, ValueError) as exc:
                with self._lock:
                    self._failed, self.last_error = signature, str(exc)
                log.error("the index in %s changed but cannot be loaded; still serving the previous one: %s", self.index_dir, exc)
                return False
            with self._lock:
                self._current, self._signature, self._failed, self.last_error = searcher, signature, None, None
            manifest = searcher.index.manifest
            log.info("now serving the rebuilt index in %s: %d chunks, built %s", self.index_dir, manifest.chunk_count, manifest.built_at)
            return True

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a background reload in progress, if any (tests, graceful shutdown)."""
        thread = self._reloading
        if thread is not None:
            thread.join(timeout)
