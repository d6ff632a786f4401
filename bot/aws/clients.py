"""The one seam to AWS: a shared boto3 session, clients built once and reused.

boto3 reads its own configuration (AWS_PROFILE, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL, config
files); we only add adaptive retries. Building a client costs hundreds of milliseconds of CPU,
and clients are thread-safe, so each (service, region) is built once per process.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from bot.aws.errors import name_service_on_errors, refuse_html_pages

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


class AwsClients:
    """Builds each boto3 client once per (service, region) and hands out the same one after."""

    def __init__(self, session: boto3.session.Session | None = None, config: Config = RETRY_CONFIG) -> None:
        self._given_session = session
        self._config = config
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.RLock()

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
