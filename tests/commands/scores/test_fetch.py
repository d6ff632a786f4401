"""The URL rules and every way a poll's GET fails, against the simulator over real HTTP on loopback."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from bot.local.scoreboard import ScoreboardGame, scoreboard_server
from commands.scores.fetch import FetchError, UrlRefused, UrlRules, check_url, fetch, is_public

LOOPBACK = UrlRules(http_hosts=frozenset({"127.0.0.1"}))


def _get(url: str, rules: UrlRules = LOOPBACK, **kw: object) -> bytes:
    return fetch(url, rules, timeout=float(kw.get("timeout", 5.0)), max_bytes=int(kw.get("max_bytes", 1 << 20)))  # type: ignore[arg-type]


def test_the_simulators_scores_are_fetched(simulator: tuple[str, ScoreboardGame]) -> None:
    base, _ = simulator
    assert b'"Team"' in _get(f"{base}/prod/scores")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://scores.example.com/prod/scores", "plain http is allowed only"),
        ("ftp://127.0.0.1/x", "must be https"),
        ("https://user:pw@scores.example.com/", "user name"),
        ("https:///nohost", "no host"),
        ("https://scores.example.com:99999/", "port"),
    ],
)
def test_urls_breaking_the_rules_are_refused_before_anything_is_sent(url: str, why: str) -> None:
    with pytest.raises(UrlRefused, match=why):
        check_url(url, LOOPBACK, resolver=lambda _h, _p: ["93.184.216.34"])


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
        "0.0.0.0",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b::7f00:1",
        "64:ff9b:1::808:808",  # NAT64 local use: never public
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2002:7f00:1::",
        "::127.0.0.1",  # IPv4-compatible
        "::10.0.0.1",
        "::ffff:0:127.0.0.1",  # IPv4-translated
        "::ffff:0:a9fe:a9fe",
    ],
)
def test_a_host_resolving_to_a_private_address_is_refused(address: str) -> None:
    assert not is_public(address)
    with pytest.raises(UrlRefused, match="private address"):
        check_url("https://scores.example.com/prod/scores", UrlRules(), resolver=lambda _h, _p: [address])


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:0:8.8.8.8", "::ffff:8.8.8.8"])
def test_an_ipv6_form_of_a_public_ipv4_address_is_public(address: str) -> None:
    assert is_public(address)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://[::1/prod/scores", "malformed"),
        ("https://[::1", "malformed"),
        ("https://scores.example.com/é", "non-ASCII"),
        ("https://scores.example.com/a b", "spaces"),
    ],
)
def test_a_malformed_url_is_refused_as_a_fetch_error(url: str, why: str) -> None:
    with pytest.raises(UrlRefused, match=why):
        fetch(url, UrlRules(), timeout=1, max_bytes=1024, resolver=lambda _h, _p: ["93.184.216.34"])


@pytest.mark.parametrize("to", ["http://[::1", "/caf\u00e9", "/a\u00a0b"])
def test_a_malformed_redirect_is_a_fetch_error(simulator: tuple[str, ScoreboardGame], to: str) -> None:
    base, game = simulator
    with pytest.raises(UrlRefused, match=r"malformed|non-ASCII"):
        _get(f"{base}/redirect?to={quote(to)}")
    assert game.requests == ["/redirect"]


def test_a_private_address_is_allowed_only_for_a_host_the_settings_name() -> None:
    rules = UrlRules(private_hosts=frozenset({"scores.internal"}))
    target = check_url("https://scores.internal/x?y=1", rules, resolver=lambda _h, _p: ["10.0.0.5"])
    assert (target.address, target.path) == ("10.0.0.5", "/x?y=1")
    with pytest.raises(UrlRefused):
        check_url("https://other.internal/x", rules, resolver=lambda _h, _p: ["10.0.0.5"])


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    with pytest.raises(UrlRefused):
        check_url("https://scores.example.com/", UrlRules(), resolver=lambda _h, _p: ["93.184.216.34", "127.0.0.1"])


@pytest.mark.parametrize(
    "to", ["http://169.254.169.254/latest/meta-data/", "http://localhost:{port}/prod/scores", "https://example.com/"]
)
def test_a_redirect_to_another_host_is_refused(simulator: tuple[str, ScoreboardGame], to: str) -> None:
    base, game = simulator
    port = base.rsplit(":", 1)[1]
    with pytest.raises(UrlRefused):
        _get(f"{base}/redirect?to={to.format(port=port)}")
    assert "/prod/scores" not in game.requests


def test_a_redirect_to_loopback_is_refused_unless_allowed(simulator: tuple[str, ScoreboardGame]) -> None:
    base, game = simulator
    port = base.rsplit(":", 1)[1]
    rules = UrlRules(http_hosts=frozenset({"localhost"}))  # localhost allowed, 127.0.0.1 not
    with pytest.raises(UrlRefused):
        _get(f"http://localhost:{port}/redirect?to=http://127.0.0.1:{port}/prod/scores", rules)
    assert "/prod/scores" not in game.requests


def test_a_redirect_on_the_same_host_is_followed(simulator: tuple[str, ScoreboardGame]) -> None:
    base, _ = simulator
    assert b'"Profit"' in _get(f"{base}/redirect?to=/prod/scores")


@pytest.mark.parametrize(
    ("to", "why"), [("http://user:pw@127.0.0.1:{port}/prod/scores", "user name"), ("ftp://127.0.0.1:{port}/", "https")]
)
def test_each_redirect_hop_is_checked_against_the_rules(
    simulator: tuple[str, ScoreboardGame], to: str, why: str
) -> None:
    base, game = simulator
    port = base.rsplit(":", 1)[1]
    with pytest.raises(UrlRefused, match=why):
        _get(f"{base}/redirect?to={quote(to.format(port=port))}")
    assert game.requests == ["/redirect"]


def test_a_redirect_loop_ends(simulator: tuple[str, ScoreboardGame]) -> None:
    base, _ = simulator
    with pytest.raises(FetchError, match="redirects"):
        _get(f"{base}/loop")


@pytest.mark.parametrize("status", [404, 500, 503])
def test_a_non_2xx_answer_fails(simulator: tuple[str, ScoreboardGame], status: int) -> None:
    base, _ = simulator
    with pytest.raises(FetchError, match=f"HTTP {status}"):
        _get(f"{base}/status/{status}")


@pytest.mark.parametrize("path", ["/big", "/big-unsized"])
def test_a_body_over_the_cap_fails(simulator: tuple[str, ScoreboardGame], path: str) -> None:
    base, _ = simulator
    with pytest.raises(FetchError, match="cap"):
        _get(f"{base}{path}", max_bytes=64 * 1024)


def test_a_slow_answer_times_out(simulator: tuple[str, ScoreboardGame]) -> None:
    base, _ = simulator
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        _get(f"{base}/slow", timeout=0.5)
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("part", ["status", "headers", "chunked", "body"])
def test_a_peer_dribbling_a_byte_at_a_time_ends_at_the_one_deadline(part: str) -> None:
    # Each byte comes well within any per-read timeout; only the whole fetch's deadline can end it.
    with scoreboard_server(ScoreboardGame(dribble_seconds=0.05, dribble_bytes=200)) as (base, game):
        started = time.monotonic()
        with pytest.raises(FetchError, match="timed out"):
            _get(f"{base}/dribble/{part}", timeout=0.5)
        took = time.monotonic() - started
    assert took < 5, f"a 0.5 s fetch took {took:.1f} s"  # without the deadline: 200 bytes, 10 s
    assert game.dribbled < 100


def test_the_dribbling_peer_answers_in_full_to_a_patient_reader() -> None:
    # The same answers with no deadline in reach: each one is well-formed, so the timeouts above are the deadline's.
    with scoreboard_server(ScoreboardGame(dribble_seconds=0)) as (base, _game):
        for part in ("status", "headers", "chunked", "body"):
            assert b'"Team"' in _get(f"{base}/dribble/{part}", timeout=30)


def test_nothing_listening_fails() -> None:
    with pytest.raises(FetchError):
        _get("http://127.0.0.1:9/prod/scores", timeout=2)
