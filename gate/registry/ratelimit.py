"""Docker Hub's pull rate limit, as its answers state it: the budget left, and a spent one.

Docker Hub sends on manifest answers (GET and HEAD alike; a HEAD does not count as a pull)
`ratelimit-limit: 100;w=21600` (pulls per window of `w` seconds), `ratelimit-remaining:
76;w=21600` and `docker-ratelimit-source` (who is counted: the client's address, or the
account). A spent budget is a 429 whose error body has the code `TOOMANYREQUESTS`. Accounts
without a limit get no such headers.

Pure: nothing here opens a connection. Headers that do not parse are ignored, never an error.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from gate.reference import DOCKER_HUB_API

LIMIT_HEADER = "ratelimit-limit"
REMAINING_HEADER = "ratelimit-remaining"
SOURCE_HEADER = "docker-ratelimit-source"
RESET_HEADER = "ratelimit-reset"
"""Seconds until the window resets (the IETF RateLimit draft's field; Docker Hub may not
send it)."""
SPENT_CODE = "TOOMANYREQUESTS"

_MAX_COUNT = 10**9
_MAX_SECONDS = 10 * 365 * 24 * 3600
_ITEM = re.compile(r"^\s*(\d{1,10})\s*((?:;[^;]*)*)$")
_WINDOW = re.compile(r"^\s*w\s*=\s*(\d{1,10})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Budget:
    """What one answer said of the pull budget (each part None where it said nothing usable)."""

    limit: int | None = None
    remaining: int | None = None
    window: int | None = None
    """Seconds of the window the limit counts in (`w=`)."""
    reset: float | None = None
    """Seconds until the window resets, where the answer says (`Retry-After`,
    `ratelimit-reset`)."""
    counted_as: str | None = None
    """`docker-ratelimit-source`: whom Docker Hub counts (never shown: it may be an address)."""
    spent: bool = False
    """The answer was Docker Hub's 429 `TOOMANYREQUESTS`: nothing is left."""
    message: str = ""
    """For a spent budget: the registry's own words (`TOOMANYREQUESTS: You have reached …`)."""

    @property
    def left(self) -> int | None:
        """Pulls left: 0 when spent, else `remaining`."""
        return 0 if self.spent else self.remaining

    def resets_in(self) -> float | None:
        """Seconds until the budget is back: the answer's reset, else the whole window."""
        return self.reset if self.reset is not None else self.window


def _count(text: str) -> tuple[int, int | None] | None:
    """`76;w=21600` -> (76, 21600); the first item of a list; None for anything else."""
    item = text.split(",")[0]
    match = _ITEM.match(item)
    if match is None:
        return None
    value = int(match.group(1))
    window = None
    for param in match.group(2).split(";")[1:]:
        found = _WINDOW.match(param)
        if found is not None and 0 < int(found.group(1)) <= _MAX_SECONDS:
            window = int(found.group(1))
    return (value, window) if value <= _MAX_COUNT else None


def _seconds(text: str | None) -> float | None:
    """A non-negative, finite number of seconds (a `Retry-After` date is not read)."""
    if not text:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and 0 <= value <= _MAX_SECONDS else None


def _get(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (httpx's headers ignore it; plain dicts do not)."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value if isinstance(value, str) else None


def parse_budget(headers: Mapping[str, str]) -> Budget | None:
    """The budget an answer's headers state, or None where they state none usable."""
    limit = _count(_get(headers, LIMIT_HEADER) or "")
    remaining = _count(_get(headers, REMAINING_HEADER) or "")
    if limit is None and remaining is None:
        return None
    window = (remaining and remaining[1]) or (limit and limit[1]) or None
    source = (_get(headers, SOURCE_HEADER) or "").strip()[:200] or None
    reset = _seconds(_get(headers, "retry-after")) or _seconds(_get(headers, RESET_HEADER))
    return Budget(
        limit=limit[0] if limit else None,
        remaining=remaining[0] if remaining else None,
        window=window,
        reset=reset,
        counted_as=source,
    )


def _error(body: bytes) -> tuple[set[str], str]:
    """(codes, `CODE: message` of the first error) of a distribution error body."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return set(), ""
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list):
        return set(), ""
    entries = [e for e in errors if isinstance(e, dict)]
    codes = {str(e.get("code", "")) for e in entries}
    if not entries:
        return codes, ""
    code, message = str(entries[0].get("code", "")), str(entries[0].get("message", ""))[:200]
    return codes, f"{code}: {message}" if code and message else code or message


def spent_budget(status: int, host: str, headers: Mapping[str, str], body: bytes) -> Budget | None:
    """The spent budget that a 429 from Docker Hub is, or None for any other answer.

    Docker Hub's: from its API host, or an answer carrying its rate-limit headers (a mirror
    passing them on). A body naming another error code is another 429 (retried as such); a
    HEAD has no body, so its 429 counts as Docker Hub's limit.
    """
    if status != 429:
        return None
    # Docker Hub's own: its API host, or its `docker-ratelimit-source` passed on by a mirror
    # (`ratelimit-*` alone is the IETF draft any registry may send)
    hub = host.lower() == DOCKER_HUB_API or _get(headers, SOURCE_HEADER) is not None
    if not hub:
        return None
    codes, message = _error(body)
    stated_now = parse_budget(headers)
    if SPENT_CODE not in codes and not (
        not codes and stated_now is not None and stated_now.remaining == 0
    ):
        # another 429: the abuse limit answers `Too Many Requests (HAP429)` in plain text
        # with `Retry-After: 60`, and a HEAD without a word of the budget says nothing
        return None
    stated = stated_now or Budget(
        reset=_seconds(_get(headers, "retry-after")) or _seconds(_get(headers, RESET_HEADER))
    )
    return Budget(
        limit=stated.limit,
        remaining=0,
        window=stated.window,
        reset=stated.reset,
        counted_as=stated.counted_as,
        spent=True,
        message=message or "429 Too Many Requests",
    )


def who(credential: str) -> str:
    """Whose budget it is, for messages: `anonymous pulls from this address` or `login X`."""
    if credential == "anonymous":
        return "anonymous pulls from this address"
    return f"login {credential}"


def duration(seconds: float) -> str:
    """`6 h`, `45 min`: a rounded duration for messages."""
    if seconds >= 3600:
        return f"{max(1, round(seconds / 3600))} h"
    return f"{max(1, math.ceil(seconds / 60))} min"


def spent_message(credential: str, budget: Budget) -> str:
    """The sentence a spent budget is reported with."""
    text = f"Docker Hub's pull rate limit is spent for {who(credential)}: {budget.message}"
    if budget.reset is not None:
        text += f"; the window resets in about {duration(budget.reset)}"
    elif budget.window is not None:
        text += f"; the window is rolling: pulls come back within {duration(budget.window)}"
    return text


@dataclass(frozen=True)
class Seen:
    """The latest budget one (registry host, credential source) was told of."""

    host: str
    credential: str
    """The credential's source (`anonymous`, `secret:<ns>/<name>`, …), never its value."""
    budget: Budget
    docker_hub: bool
    """Seen for a Docker Hub image (through Docker Hub or one of its mirrors)."""
    order: int = 0


@dataclass
class RateBudgets:
    """Per (registry host, credential source): the latest budget seen in this run."""

    seen: dict[tuple[str, str], Seen] = field(default_factory=dict)
    counted: set[tuple[str, str, str]] = field(default_factory=set)
    """(host, credential source, repository) whose own answers stated a budget: only those
    pulls count (an image without the headers, a sponsored one, costs nothing)."""

    def record(
        self,
        host: str,
        credential: str,
        budget: Budget,
        *,
        docker_hub: bool,
        repository: str | None = None,
    ) -> None:
        """Keep the lowest budget left seen (answers arrive concurrently, out of order)."""
        key = (host.lower(), credential)
        if repository is not None:
            self.counted.add((host.lower(), credential, repository))
        earlier = self.seen.get(key)
        order = earlier.order if earlier is not None else len(self.seen) + 1
        if earlier is not None and not budget.spent:
            kept, new = earlier.budget.left, budget.left
            if earlier.budget.spent or (kept is not None and (new is None or new > kept)):
                return
        self.seen[key] = Seen(host.lower(), credential, budget, docker_hub, order)

    def extend(self, other: RateBudgets) -> None:
        """Take in what `other` saw."""
        self.counted |= other.counted
        for seen in sorted(other.seen.values(), key=lambda s: s.order):
            self.record(seen.host, seen.credential, seen.budget, docker_hub=seen.docker_hub)

    def counts(self, host: str, credential: str, repository: str) -> bool:
        return (host.lower(), credential, repository) in self.counted

    def get(self, host: str, credential: str) -> Seen | None:
        return self.seen.get((host.lower(), credential))

    def docker_hub(self) -> list[Seen]:
        """Every budget seen for Docker Hub images, in the order first seen."""
        return sorted((s for s in self.seen.values() if s.docker_hub), key=lambda s: s.order)
