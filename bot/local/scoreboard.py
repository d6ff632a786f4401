"""A GameDay scoreboard simulator served over real HTTP on loopback: the demo's endpoint, the tests' peer.

Teams' profits move step by step from a fixed seed, so every run sees the same game: the leader is
overtaken before step 12, and a load spike (steps 20 to 24) knocks every profit down, some below zero.
Each GET of `/prod/scores` answers the next step (or `step` pins one). Other paths answer the ways real
endpoints misbehave: `/wrapped` (an object around a list, numbers as strings, keys in other cases),
`/not-json`, `/status/<code>`, `/big` and `/big-unsized` (bodies over any cap), `/slow` (answers after `slow_seconds`),
`/loop` (redirects to itself), `/redirect?to=<url>` (a 302 there) and `/dribble/<part>` (a byte every
`dribble_seconds` in the `status` line, the `headers`, the `chunked` sizes or the `body`, until the reader
hangs up or the server stops). `/ctfd/api/v1/scoreboard` and
`/ctfd/api/v1/scoreboard/top/<count>` answer in CTFd's two shapes: a game that ran `ctfd_history` steps,
`ctfd_every` seconds apart from `ctfd_started`, before the first poll (whose rows are the steps after).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TEAMS = ("Unicorn Ops", "Lambda Llamas", "Null Pointers", "Cloud Nine", "Root Cause", "Spot Instances")
LEAD_CHANGE_STEP = 12
SPIKE = range(20, 25)


@dataclass
class ScoreboardGame:
    seed: int = 7
    teams: tuple[str, ...] = TEAMS
    step: int = 0
    slow_seconds: float = 5.0
    dribble_seconds: float = 1.0
    dribble_bytes: int = 10_000  # far more than any deadline lets through
    dribbled: int = 0  # bytes sent a byte at a time, over all dribbling answers
    stopped: threading.Event = field(default_factory=threading.Event)
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ctfd_started: float = 0.0
    ctfd_every: float = 300.0
    ctfd_history: int = 12

    def profits(self, step: int) -> dict[str, float]:
        rng = random.Random(self.seed)
        rates = {team: rng.uniform(5, 40) for team in self.teams}
        leader, chaser = self.teams[0], self.teams[1]
        rates[leader], rates[chaser] = 60.0, 35.0
        out = {}
        for team in self.teams:
            value = 0.0
            noise = random.Random(f"{self.seed}:{team}")
            for s in range(1, step + 1):
                rate = rates[team]
                if team == chaser and s >= LEAD_CHANGE_STEP - 6:
                    rate = 110.0  # the chaser finds a better strategy and takes the lead
                value += rate + noise.uniform(-8, 8)
                if s in SPIKE:
                    value -= 90 + noise.uniform(0, 40)  # the load spike: every team pays for errors
            out[team] = round(value, 2)
        return out

    def next_rows(self, pinned: int | None) -> list[dict[str, Any]]:
        with self.lock:
            if pinned is None:
                self.step += 1
            step = self.step if pinned is None else pinned
        return [{"Team": team, "Profit": value} for team, value in self.profits(step).items()]

    def ctfd_scoreboard(self) -> dict[str, Any]:
        """CTFd's /api/v1/scoreboard: the step after the history, then one more at each GET."""
        with self.lock:
            self.step += 1
            step = self.ctfd_history + self.step - 1
        scores = {team: round(value) for team, value in self.profits(step).items()}
        ranked = sorted(scores, key=lambda team: -scores[team])
        rows = [
            {"pos": i + 1, "account_id": self.teams.index(t) + 1, "account_url": f"/teams/{self.teams.index(t) + 1}"}
            | {"account_type": "team", "oauth_id": None, "name": t, "score": scores[t], "bracket_id": None}
            | {"bracket_name": None, "members": []}
            for i, t in enumerate(ranked)
        ]
        return {"success": True, "data": rows}

    def ctfd_top(self, count: int) -> dict[str, Any]:
        """CTFd's /api/v1/scoreboard/top/<count>: each account's solves over the history, dated, in order."""
        steps = [{t: round(v) for t, v in self.profits(k).items()} for k in range(self.ctfd_history + 1)]
        final = steps[-1]
        data = {}
        for i, team in enumerate(sorted(final, key=lambda t: -final[t])[:count]):
            account = self.teams.index(team) + 1
            solves = [
                {"challenge_id": k, "account_id": account, "team_id": account, "user_id": account * 10}
                | {"value": steps[k][team] - steps[k - 1][team], "date": _iso(self.ctfd_started + k * self.ctfd_every)}
                for k in range(1, self.ctfd_history + 1)
            ]
            data[str(i + 1)] = {"id": account, "account_url": f"/teams/{account}", "name": team}
            data[str(i + 1)] |= {"score": final[team], "bracket_id": None, "bracket_name": None, "solves": solves}
        return {"success": True, "data": data}


def _iso(at: float) -> str:
    """A date as CTFd writes one: naive UTC in ISO 8601, with a Z."""
    return datetime.fromtimestamp(at, UTC).replace(tzinfo=None).isoformat() + "Z"


def _handler(game: ScoreboardGame) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _dribble(self, part: str, body: bytes) -> None:
            """The answer with one part sent a byte at a time: no single read waits long for its byte."""
            filler = game.dribble_bytes
            ok, length = b"HTTP/1.1 200 OK\r\n", b"Content-Length: %d\r\n\r\n" % len(body)
            answers = {  # (sent at once, sent a byte at a time, sent at once)
                "status": (b"HTTP/1.1 200 OK", b" " * filler + b"\r\n", length + body),
                "headers": (ok, b"X-Slow: " + b"x" * filler + b"\r\n", length + body),
                "chunked": (
                    ok + b"Transfer-Encoding: chunked\r\n\r\n",
                    b"0" * filler,
                    b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n",
                ),
                "body": (ok + b"Content-Length: %d\r\n\r\n" % (len(body) + filler) + body, b" " * filler, b""),
            }
            if part not in answers:
                self._send(404, b'{"message": "not found"}')
                return
            head, slow, tail = answers[part]
            self.close_connection = True
            self.wfile.write(head)
            for byte in slow:
                self.wfile.flush()
                if game.stopped.wait(game.dribble_seconds):
                    return
                self.wfile.write(bytes([byte]))
                with game.lock:
                    game.dribbled += 1
            self.wfile.write(tail)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            game.requests.append(parts.path)
            pinned = int(query["step"][0]) if query.get("step", [""])[0].isdigit() else None
            if parts.path == "/prod/scores":
                self._send(200, json.dumps(game.next_rows(pinned)).encode())
            elif parts.path == "/ctfd/api/v1/scoreboard":
                self._send(200, json.dumps(game.ctfd_scoreboard()).encode())
            elif parts.path.startswith("/ctfd/api/v1/scoreboard/top/") and parts.path[28:].isdigit():
                self._send(200, json.dumps(game.ctfd_top(int(parts.path[28:]))).encode())
            elif parts.path == "/wrapped":
                rows = [{"TEAM": r["Team"], "points": f"{r['Profit']:,}"} for r in game.next_rows(pinned)]
                self._send(200, json.dumps({"status": "ok", "Scores": rows}).encode())
            elif parts.path == "/not-json":
                self._send(200, b"<html>502 Bad Gateway</html>", {"Content-Type": "text/html"})
            elif parts.path.startswith("/status/") and parts.path[8:].isdigit():
                self._send(int(parts.path[8:]), b'{"message": "no"}')
            elif parts.path == "/big":
                self._send(200, b"[" + b'{"Team": "x", "Profit": 1},' * 200_000 + b"{}]")
            elif parts.path == "/big-unsized":  # no Content-Length: the body runs until the connection closes
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"[" + b'{"Team": "x", "Profit": 1},' * 200_000 + b"{}]")
            elif parts.path == "/slow":
                time.sleep(game.slow_seconds)
                self._send(200, json.dumps(game.next_rows(pinned)).encode())
            elif parts.path.startswith("/dribble/"):
                self._dribble(parts.path.removeprefix("/dribble/"), json.dumps(game.next_rows(pinned)).encode())
            elif parts.path == "/loop":
                self._send(302, b"", {"Location": "/loop"})
            elif parts.path == "/redirect":
                self._send(302, b"", {"Location": query.get("to", ["/prod/scores"])[0]})
            else:
                self._send(404, b'{"message": "not found"}')

    return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a poller that gave up (a timeout, a cap) closes early; that is the point, not an error


@contextmanager
def scoreboard_server(game: ScoreboardGame | None = None) -> Iterator[tuple[str, ScoreboardGame]]:
    """(base URL, game) of a simulator on 127.0.0.1 and a free port, stopped on exit."""
    game = game or ScoreboardGame()
    server = _QuietServer(("127.0.0.1", 0), _handler(game))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="scoreboard-simulator", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", game
    finally:
        game.stopped.set()
        server.shutdown()
        server.server_close()
