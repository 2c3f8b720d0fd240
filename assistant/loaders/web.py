"""http(s) URLs fetched with httpx: bounded time, size and redirects; the content type picks the loader."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import httpx

from ..errors import SourceError
from .base import SourceLimits

log = logging.getLogger(__name__)

USER_AGENT = "mlcareer-assistant/0.1 (index builder)"


@dataclass(frozen=True)
class Fetched:
    """A downloaded resource: its bytes and what the server said they are."""

    url: str
    final_url: str
    media_type: str
    charset: str | None
    data: bytes


def is_url(location: str) -> bool:
    return location.lower().startswith(("http://", "https://"))


def _media_type(response: httpx.Response) -> tuple[str, str | None]:
    header = response.headers.get("content-type", "")
    media_type = header.split(";", 1)[0].strip().lower()
    return media_type, response.charset_encoding


def fetch(url: str, limits: SourceLimits, client: httpx.Client | None = None) -> Fetched:
    """GET `url` with the limits applied; every failure is a SourceError with a one-line reason."""
    own = client is None
    client = client or httpx.Client(
        timeout=httpx.Timeout(limits.timeout),
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        headers={"User-Agent": USER_AGENT},
    )
    started = time.monotonic()
    try:
        with client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise SourceError(f"HTTP {response.status_code} {response.reason_phrase}".strip())
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limits.max_bytes:
                raise SourceError(f"too large ({declared} bytes, limit {limits.max_bytes})")
            body = bytearray()
            for block in response.iter_bytes():
                body += block
                if len(body) > limits.max_bytes:
                    raise SourceError(f"too large (more than {limits.max_bytes} bytes, download stopped)")
                if time.monotonic() - started > limits.deadline:
                    raise SourceError(f"download took longer than {limits.deadline:g} s, stopped")
            media_type, charset = _media_type(response)
            return Fetched(url, str(response.url), media_type, charset, bytes(body))
    except httpx.TimeoutException as exc:
        raise SourceError(f"timed out after {limits.timeout:g} s ({type(exc).__name__})") from exc
    except httpx.TooManyRedirects as exc:
        raise SourceError(f"too many redirects (limit {limits.max_redirects})") from exc
    except httpx.InvalidURL as exc:
        raise SourceError(f"invalid URL ({exc})") from exc
    except httpx.HTTPError as exc:
        raise SourceError(f"could not fetch ({type(exc).__name__}: {exc})") from exc
    finally:
        if own:
            client.close()
