"""Who is in a Slack user group, for the policy: read with usergroups.users.list, kept briefly.

A change of membership takes effect within `TTL` seconds; Slack is asked once per group per
`TTL`, not once per command. A group Slack will not list is None (the policy then lets no allow
rule through on it, and lets every deny rule refuse).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)

TTL = 60.0
_RETRY_FAILED = 5.0  # a group Slack refused is asked again this soon, not at every command meanwhile


class UsergroupMembers:
    def __init__(self, client: WebClient, ttl: float = TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._known: dict[str, tuple[float, frozenset[str] | None]] = {}

    def __call__(self, group: str) -> frozenset[str] | None:
        with self._lock:
            known = self._known.get(group)
            if known is not None and self._clock() < known[0]:
                return known[1]
        members: frozenset[str] | None
        try:
            users = self._client.usergroups_users_list(usergroup=group).get("users") or []
            members, keep = frozenset(str(u) for u in users), self._ttl
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("cannot read the members of user group %r: %s", group, type(exc).__name__)
            members, keep = None, _RETRY_FAILED
        with self._lock:
            self._known[group] = (self._clock() + keep, members)
        return members


_BY_CLIENT: dict[int, UsergroupMembers] = {}
_BY_CLIENT_LOCK = threading.Lock()


def members_via(client: WebClient) -> UsergroupMembers:
    """The one membership cache of a client (the app's and the HTTP routes' share it)."""
    with _BY_CLIENT_LOCK:
        found = _BY_CLIENT.get(id(client))
        if found is None or found._client is not client:
            found = _BY_CLIENT[id(client)] = UsergroupMembers(client)
        return found
