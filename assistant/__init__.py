"""A bilingual (French/English) assistant for the machine-learning-engineer career."""

from .build import BuildReport, build_index
from .chat import Assistant
from .config import Settings
from .schema import Answer, AnswerEvent, Source

__all__ = ["Answer", "AnswerEvent", "Assistant", "BuildReport", "Settings", "Source", "build_index"]
