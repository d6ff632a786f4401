"""A local AWS for the demo, the tests and the benchmarks: moto's server on loopback, and boto3
pointed at it with fake credentials so that no real account can be reached by mistake."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager


def use_fake_credentials(endpoint_url: str | None = None) -> None:
    """Fake credentials (and no profile, no instance metadata) for boto3 in this process."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on 127.0.0.1 (a free port), emptied first; yields its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        reset_moto(url)  # moto keeps its state per process, not per server
        yield url
    finally:
        server.stop()


def reset_moto(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset", method="POST"), timeout=30).read()


@contextmanager
def local_aws() -> Iterator[str]:
    """moto's server, with boto3 pointed at it for the duration; the environment is restored after."""
    saved = dict(os.environ)
    try:
        with moto_server() as url:
            use_fake_credentials(url)
            yield url
    finally:
        os.environ.clear()
        os.environ.update(saved)


def require_local() -> None:
    """Refuse to create demo resources anywhere but a local endpoint."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise RuntimeError("demo resources are only ever created in a local moto server")
