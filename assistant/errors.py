"""Errors a user can meet; each message names the fix."""


class AssistantError(Exception):
    """Base class for errors with a user-facing, actionable message."""


class IndexNotFoundError(AssistantError):
    """No index at the configured location."""


class IndexMismatchError(AssistantError):
    """The index was built with another embedding model or format."""


class IndexCorruptError(AssistantError):
    """The index files are damaged or inconsistent."""


class IndexBuildError(AssistantError):
    """Nothing could be indexed, or the index could not be written."""


class IndexLockedError(AssistantError):
    """Another build holds the index lock."""


class InvalidQuestionError(AssistantError, ValueError):
    """Empty or oversized question, or malformed history."""


class SourceError(AssistantError):
    """A source could not be read; the message says why."""


class SourceListError(AssistantError):
    """The sources file (corpus/sources.yaml) cannot be read or is malformed."""


REBUILD_HINT = "run `mlcareer index build --full` to rebuild it"
