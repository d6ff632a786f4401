"""One Lambda log message, in either of Lambda's two formats, as a typed record.

Classic text: `START` / `END` / `REPORT RequestId: …` platform lines and tab-separated
application lines (`<time>\t<request id>\t<LEVEL>\t<message>` from Node and most runtimes,
`[LEVEL]\t<time>\t<request id>\t<message>` from Python). JSON (`LoggingConfig.LogFormat=JSON`):
`platform.*` records and application objects with `level`, `message` and `requestId`.

Messages are parsed one at a time and never raise: what matches nothing is `AppLog` text without
a request id, which grouping attributes by log stream or keeps as an orphan. A message is anything
a function prints (up to 256 KB), so parsing is linear in it: every pattern is anchored, or has no
two quantifiers that can share characters, and REPORT fields are split, not searched.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

ERROR_LEVELS = frozenset({"ERROR", "FATAL", "CRITICAL"})
_LEVELS = "TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL"
# Lambda's request ids are 36 characters; bounded, a pattern that fails on an id-like run of 256 KB
# gives up after 64 characters instead of backtracking through all of them.
_ID = r"[0-9A-Za-z][0-9A-Za-z-]{7,63}(?![0-9A-Za-z-])"
_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z"

_START = re.compile(rf"^START RequestId: (?P<id>{_ID})(?: Version: (?P<version>\S+))?")
_END = re.compile(rf"^END RequestId: (?P<id>{_ID})")
_REPORT = re.compile(rf"^REPORT RequestId: (?P<id>{_ID})")
_TIMEOUT = re.compile(rf"^(?:{_TIME}\s+)?(?:(?P<id>{_ID})\s+)?(?P<phrase>Task timed out after [\d.]+ seconds)")
_NODE_STYLE = re.compile(rf"^{_TIME}\t(?P<id>{_ID})\t(?P<level>{_LEVELS})\t(?P<text>.*)$", re.S)
_PYTHON_STYLE = re.compile(rf"^\[(?P<level>{_LEVELS})\]\t{_TIME}\t(?P<id>{_ID})\t(?P<text>.*)$", re.S)
# Python's runtime logs an unhandled exception without time or id: `[ERROR] Type: message…`.
_PYTHON_BARE = re.compile(rf"^\[(?P<level>{_LEVELS})\]\s(?P<text>.*)$", re.S)
_REQUEST_ERROR = re.compile(rf"^RequestId: (?P<id>{_ID}) Error: (?P<text>.*)$", re.S)
_FIELD_KEY = re.compile(r"[A-Za-z][A-Za-z ]*")
_MAX_REPORT_FIELDS = 32
# A literal `\n` is unfolded only where a stack trace is evident, so a message that merely
# contains a backslash and an n (a Windows path) is left alone.
_TRACE_HINT = re.compile(r"Traceback \(most recent call last\)|\\n\s+at |\\n\s+File \"")
_NUMBER = re.compile(r"\s*(-?\d+(?:\.\d+)?)")

# json recurses once per level of nesting, so how deep a line may nest before RecursionError
# depends on the caller's stack; and pretty-printed JSON grows with depth squared. Nothing a
# function logs on purpose nests deeper than this: such a line is shown as the text it is.
MAX_JSON_DEPTH = 32
# Past this a JSON line's structured parts are shown as the line itself: encoding them again costs
# more than parsing did (pretty-printing is pure Python), and no one reads 16 KB of indented JSON.
MAX_PRETTY_CHARS = 16_384
_JSON_ESCAPE = re.compile(r"\\.", re.S)
_JSON_STRING = re.compile(r'"[^"]*"')  # linear: no escaped quote is left inside one
_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


@dataclass(frozen=True)
class Start:
    request_id: str
    version: str | None = None


@dataclass(frozen=True)
class End:
    request_id: str


@dataclass(frozen=True)
class Report:
    request_id: str
    duration_ms: float | None = None
    billed_ms: float | None = None
    memory_size_mb: int | None = None
    memory_used_mb: int | None = None
    init_ms: float | None = None
    status: str | None = None  # as Lambda says it: "success", "error", "timeout"; None in old REPORTs
    error_type: str | None = None


@dataclass(frozen=True)
class AppLog:
    """Anything else: an application line, a runtime message, or text nothing recognises."""

    lines: tuple[str, ...]
    request_id: str | None = None
    level: str | None = None
    # Lambda's own word that the invocation failed (timeout, unhandled exception, runtime exit),
    # as opposed to an application logging at ERROR and carrying on.
    failure: str | None = None  # "timeout" or "error"

    @property
    def is_error(self) -> bool:
        return self.failure is not None or (self.level or "").upper() in ERROR_LEVELS


Record = Start | End | Report | AppLog


def parse_message(message: str) -> Record:
    """The record one CloudWatch Logs message holds; never raises."""
    try:
        return _parse(message)
    except Exception as exc:
        # A line nothing here can read must not stop its reader (a poller's cursor, a batch):
        # shown as text, it still reaches the channel.
        log.warning("a log message could not be parsed (%s); shown as text", type(exc).__name__)
        return AppLog(tuple(message.splitlines()) or ("",))


def _parse(message: str) -> Record:
    text = message.rstrip("\r\n")
    if text.startswith("{"):
        record = _parse_json(text)
        if record is not None:
            return record
    return _parse_text(text)


def unfold(text: str) -> tuple[str, ...]:
    """A message as display lines: real newlines, `\\r`-joined tracebacks, escaped `\\n` in traces."""
    if _TRACE_HINT.search(text):
        text = text.replace("\\n", "\n").replace('\\"', '"').replace("\\t", "\t")
    lines = [line.rstrip() for line in re.split(r"\r\n|\r|\n", text)]
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    return tuple(lines)


def _parse_text(text: str) -> Record:
    if match := _START.match(text):
        return Start(match["id"], match["version"])
    if match := _END.match(text):
        return End(match["id"])
    if match := _REPORT.match(text):
        return _report_from_text(match["id"], text)
    if match := _TIMEOUT.match(text):
        return AppLog((match["phrase"],), match["id"], None, "timeout")
    if match := _NODE_STYLE.match(text) or _PYTHON_STYLE.match(text):
        level = match["level"]
        body = match["text"]
        failure = "error" if body.startswith("Invoke Error") else None
        return AppLog(_unfold_body(body), match["id"], level, failure)
    if match := _REQUEST_ERROR.match(text):
        return AppLog(unfold("Error: " + match["text"]), match["id"], "ERROR", "error")
    if match := _PYTHON_BARE.match(text):
        body = match["text"]
        failure = "error" if "Traceback (most recent call last)" in body else None
        return AppLog(unfold(body), None, match["level"], failure)
    failure = "error" if text.startswith(("Runtime exited with error", "Error: Runtime exited")) else None
    return AppLog(unfold(text), None, "ERROR" if failure else None, failure)


def _report_from_text(request_id: str, text: str) -> Report:
    fields: dict[str, str] = {}
    # `REPORT RequestId: …\tDuration: 1.2 ms\tBilled Duration: 2 ms\t…`: one `key: value` per tab.
    # A REPORT has about ten fields; the rest of a longer line stays in the last part, unread.
    for part in text.split("\t", _MAX_REPORT_FIELDS)[1:]:
        key, colon, value = part.partition(":")
        key = key.strip()
        if colon and _FIELD_KEY.fullmatch(key):
            fields.setdefault(key, value.strip())
    status = fields.get("Status")
    return Report(
        request_id=request_id,
        duration_ms=_number(fields.get("Duration")),
        billed_ms=_number(fields.get("Billed Duration")),
        memory_size_mb=_int(fields.get("Memory Size")),
        memory_used_mb=_int(fields.get("Max Memory Used")),
        init_ms=_number(fields.get("Init Duration")),
        status=status.lower() if status else None,
        error_type=fields.get("Error Type") or None,
    )


def _unfold_body(body: str) -> tuple[str, ...]:
    """Node's `Invoke Error \t{json}` carries the error as JSON: show type, message and stack."""
    head, sep, tail = body.partition("\t")
    if sep and tail.lstrip().startswith("{"):
        obj = _json(tail)
        if isinstance(obj, dict) and ("errorType" in obj or "errorMessage" in obj):
            return (head.strip(), *_error_lines(obj))
    return unfold(body)


def _error_lines(obj: dict[str, Any]) -> tuple[str, ...]:
    lines = [f"{obj.get('errorType', 'Error')}: {obj.get('errorMessage', '')}".rstrip()]
    stack = obj.get("stackTrace", obj.get("stack"))
    if isinstance(stack, str):
        stack = [stack]
    if isinstance(stack, list):
        # Unfolded as one text, not frame by frame: a stack can hold 60,000 frames in 256 KB.
        frames = unfold("\n".join(map(str, stack)))
        lines += [line for line in frames if line and line != lines[0]]
    return tuple(lines)


def _json(text: str) -> Any:
    """The JSON value `text` holds, or None when it is not JSON or nests too deep to be read safely."""
    if not _nests_within(text, MAX_JSON_DEPTH):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _nests_within(text: str, limit: int) -> bool:
    """Brackets outside strings nest at most `limit` deep; linear, at C speed for 256 KB."""
    if text.count("[") + text.count("{") <= limit:
        return True
    bare = _JSON_STRING.sub("", _JSON_ESCAPE.sub("", text)).encode()
    brackets = bare.translate(_SQUARE, delete=_NOT_BRACKETS)
    # Each round takes away the innermost pairs, so a balanced text is gone after `depth` rounds;
    # what no round can pair (unclosed or stray brackets) may nest as deep as it is long.
    too_deep = b"[" * (limit + 1)
    for rounds in range(limit + 1):
        if too_deep in brackets:  # the usual attack, found in one search rather than `limit` rounds
            return False
        paired = brackets.replace(b"[]", b"")
        if len(paired) == len(brackets):
            return rounds + len(brackets) <= limit
        brackets = paired
    return False


def _pretty(value: Any) -> list[str]:
    return json.dumps(value, indent=2, sort_keys=True).splitlines()


def _parse_json(text: str) -> Record | None:
    obj = _json(text)
    if not isinstance(obj, dict):
        return None
    kind = obj.get("type")
    record = obj.get("record")
    if isinstance(kind, str) and kind.startswith("platform.") and isinstance(record, dict):
        return _platform(kind, record, text)
    if "level" in obj or "requestId" in obj or "message" in obj:
        return _json_app_log(obj, text)
    return None


def _platform(kind: str, record: dict[str, Any], text: str) -> Record:
    request_id = record.get("requestId")
    if not isinstance(request_id, str) or not request_id:
        # platform.initStart, initReport, extension, telemetrySubscription: no invocation.
        return AppLog((_pretty_platform(kind, record, text),))
    if kind == "platform.start":
        version = record.get("version")
        return Start(request_id, str(version) if version is not None else None)
    if kind == "platform.report":
        metrics = record.get("metrics")
        if not isinstance(metrics, dict):
            metrics = {}
        status = record.get("status")
        error_type = record.get("errorType")
        return Report(
            request_id=request_id,
            duration_ms=_number(metrics.get("durationMs")),
            billed_ms=_number(metrics.get("billedDurationMs")),
            memory_size_mb=_int(metrics.get("memorySizeMB")),
            memory_used_mb=_int(metrics.get("maxMemoryUsedMB")),
            init_ms=_number(metrics.get("initDurationMs")),
            status=str(status).lower() if status else None,
            error_type=str(error_type) if error_type else None,
        )
    if kind == "platform.runtimeDone":
        # Its status repeats in platform.report, which also has the billing; nothing to show.
        return End(request_id)
    return AppLog((_pretty_platform(kind, record, text),), request_id)


def _pretty_platform(kind: str, record: dict[str, Any], text: str) -> str:
    if len(text) > MAX_PRETTY_CHARS:
        return text
    return f"{kind} " + json.dumps(record, sort_keys=True, separators=(", ", ": "))


_APP_KEYS = ("timestamp", "level", "message", "requestId", "logger", "errorType", "errorMessage", "stackTrace")


def _json_app_log(obj: dict[str, Any], text: str) -> AppLog:
    level = obj.get("level")
    level = str(level).upper() if level else None
    request_id = obj.get("requestId")
    message = obj.get("message")
    lines: list[str] = []
    failure = None
    if isinstance(message, dict) and ("errorType" in message or "errorMessage" in message):
        # An unhandled exception, as the Python and Node runtimes log it in JSON format.
        lines += _error_lines(message)
        failure = "error"
    elif isinstance(message, str):
        lines += unfold(message)
    long = len(text) > MAX_PRETTY_CHARS
    structured = message is not None and not isinstance(message, str) and not failure
    if structured and not long:
        lines += _pretty(message)
    if "errorType" in obj or "stackTrace" in obj:
        lines += _error_lines(obj)
    extra = {k: v for k, v in obj.items() if k not in _APP_KEYS}
    if extra and not long:
        lines += _pretty(extra)
    if long and (structured or extra):
        lines.append(text)
    return AppLog(tuple(lines) or ("",), str(request_id) if request_id else None, level, failure)


def _number(value: object) -> float | None:
    if value is None:
        return None
    match = _NUMBER.match(str(value))
    number = float(match[1]) if match else math.nan
    return number if math.isfinite(number) else None  # 400 digits make inf, which round() refuses


def _int(value: object) -> int | None:
    number = _number(value)
    return None if number is None else round(number)
