"""The one seam to AWS: a shared boto3 session, clients built once and reused, and sessions in other accounts.

boto3 reads its own configuration (AWS_PROFILE, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL, config
files); we only add adaptive retries. Building a client costs hundreds of milliseconds of CPU,
and clients are thread-safe, so each (service, region) is built once per process.

`assumed()` is the one place another account is entered: `sts:AssumeRole` with the person's
`SourceIdentity`, so the target account's CloudTrail names who asked, and its trust policy can
insist on it. Each (role, identity) gets one session, with its own clients, whose credentials
botocore renews shortly before they expire: one AssumeRole per person and role per hour.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials
from botocore.exceptions import ClientError

from bot.aws.errors import RoleNotAssumed, name_service_on_errors, refuse_html_pages

# The pool must hold as many connections as threads may call at once (OPSBOT_WORKER_THREADS plus
# HTTP routes); botocore's default of 10 would open and drop a TLS connection per extra call.
RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=100,
)


_AWS_DOMAINS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".c2s.ic.gov", ".sc2s.sgov.gov")


def _is_aws_host(host: str) -> bool:
    return any(host.endswith(domain) for domain in _AWS_DOMAINS)


# Renew an assumed session's credentials this long before they expire (botocore's default is 15
# minutes, which would make it one AssumeRole per 45 minutes of a one-hour session).
RENEW_BEFORE = 5 * 60
SESSION_SECONDS = 3600


class _Given(CredentialProvider):
    METHOD = "opsbot-assume-role"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        self._credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self._credentials


class AwsClients:
    """Builds each boto3 client once per (service, region) and hands out the same one after."""

    def __init__(self, session: boto3.session.Session | None = None, config: Config = RETRY_CONFIG) -> None:
        self._given_session = session
        self._config = config
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.RLock()
        self._assumed: dict[tuple[str, str | None, str | None, str], AwsClients] = {}
        self._assuming: dict[tuple[str, str | None, str | None, str], threading.Lock] = {}

    @property
    def _session(self) -> boto3.session.Session:
        # Built at first use: a bad AWS_PROFILE then fails the command that needs AWS, with a reply naming
        # the profile, instead of the bot's start with a traceback.
        with self._lock:
            if self._given_session is None:
                self._given_session = boto3.session.Session()
            return self._given_session

    @property
    def default_region(self) -> str | None:
        return self._session.region_name

    def client(self, service: str, region: str | None = None) -> Any:
        with self._lock:
            key = (service, region or self._session.region_name)
            client = self._clients.get(key)
            if client is None:
                # Session.client is not thread-safe; building under the lock also builds once.
                client = self._session.client(service, region_name=key[1], config=self._config)
                if not _is_aws_host(urlsplit(client.meta.endpoint_url).hostname or ""):
                    # An endpoint of one's own (AWS_ENDPOINT_URL: moto, LocalStack, a proxy) has no
                    # `stream-` or `data-` subdomains: StartLiveTail would go to stream-127.0.0.1.
                    config = self._config.merge(Config(inject_host_prefix=False))
                    client = self._session.client(service, region_name=key[1], config=config)
                self._clients[key] = client
                name_service_on_errors(client)
                refuse_html_pages(client)
            return client

    def regions(self, service: str) -> list[str]:
        return sorted(self._session.get_available_regions(service))

    def assumed(
        self, role_arn: str, identity: str, *, external_id: str | None = None, region: str | None = None
    ) -> AwsClients:
        """Clients acting as `role_arn` for `identity` (`slack-U0ABC123`): built once, then shared.

        The first AssumeRole happens here, so a role that cannot be assumed fails the request that
        asked for it, in one sentence (RoleNotAssumed), before any of the command's work.
        """
        key = (role_arn, external_id, region, identity)
        with self._lock:
            clients = self._assumed.get(key)
            if clients is not None:
                return clients
            # One lock per session: a slow or failing STS holds back only those asking for this one.
            assuming = self._assuming.setdefault(key, threading.Lock())
        with assuming:
            with self._lock:
                clients = self._assumed.get(key)
            if clients is None:
                clients = AwsClients(self._assume(role_arn, identity, external_id, region), self._config)
                with self._lock:
                    self._assumed[key] = clients
            return clients

    def in_region(self, region: str | None) -> AwsClients:
        """These credentials with another default region (an account of the bot's own with a region)."""
        if region is None or region == self.default_region:
            return self
        with self._lock:
            key = ("", None, region, "")
            if key not in self._assumed:  # boto3 finds the bot's credentials as it found them for this session
                self._assumed[key] = AwsClients(boto3.session.Session(region_name=region), self._config)
            return self._assumed[key]

    def _assume(
        self, role_arn: str, identity: str, external_id: str | None, region: str | None
    ) -> boto3.session.Session:
        sts = self.client("sts")
        request: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": identity,
            "SourceIdentity": identity,
            "DurationSeconds": SESSION_SECONDS,
        }
        if external_id:
            request["ExternalId"] = external_id

        def fetch() -> dict[str, Any]:
            try:
                granted = sts.assume_role(**request)["Credentials"]
            except ClientError as exc:
                raise RoleNotAssumed(role_arn=role_arn, error=exc) from None
            return {
                "access_key": granted["AccessKeyId"],
                "secret_key": granted["SecretAccessKey"],
                "token": granted["SessionToken"],
                "expiry_time": granted["Expiration"].isoformat(),
            }

        credentials = RefreshableCredentials.create_from_metadata(
            fetch(), fetch, _Given.METHOD, advisory_timeout=RENEW_BEFORE, mandatory_timeout=RENEW_BEFORE // 2
        )
        botocore_session = botocore.session.Session()
        botocore_session.register_component("credential_provider", CredentialResolver([_Given(credentials)]))
        return boto3.session.Session(botocore_session=botocore_session, region_name=region or self.default_region)
