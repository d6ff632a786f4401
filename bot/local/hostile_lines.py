"""Log lines written to hurt a parser, each about `n` characters: the tests and bench/parse_lines.py
draw from the same shapes, so the benchmark measures what the tests hold linear."""

from __future__ import annotations

from collections.abc import Callable

RID = "1f0a2b3c-0001-4d5e-8f90-a1b2c3d4e5f6"
REPORT = f"REPORT RequestId: {RID}\t"
NODE = f"2026-12-01T10:00:00.000Z\t{RID}\tERROR\t"

# Each makes a line of about `n` characters. The first froze the bot (quadratic `_FIELD`); the rest
# aim at every other pattern and at the JSON path.
SHAPES: dict[str, Callable[[int], str]] = {
    "REPORT then letters": lambda n: REPORT + "a" * n,
    "REPORT then spaces": lambda n: REPORT + "a" + " " * n,
    "REPORT then colons": lambda n: REPORT + "a:" * (n // 2),
    "REPORT then tabs": lambda n: REPORT + "\t" * n,
    "Duration: repeated": lambda n: REPORT + "Duration: " * (n // 10),
    "REPORT then digits": lambda n: REPORT + "Duration: " + "9" * n,
    "tabs": lambda n: "\t" * n,
    "spaces": lambda n: " " * n,
    "digits": lambda n: "1" * n,
    "an id without end": lambda n: "a" * n,
    "a time then an id": lambda n: "2026-12-01T10:00:00.000Z " + "a" * n + " " * 16,
    "trace hint then spaces": lambda n: "\\n" + " " * n,
    "trace hints": lambda n: "\\n " * (n // 3),
    "unclosed brackets": lambda n: '{"message": ' + "[" * (n // 2),
    "deep brackets": lambda n: '{"message": ' + "[" * (n // 4) + "]" * (n // 4) + "}",
    "quotes": lambda n: '"' * n,
    "backslashes in a string": lambda n: '{"message": "' + "\\" * n,
    "escaped quotes": lambda n: '{"message": "' + '\\"' * (n // 2),
    "many keys": lambda n: '{"level": "INFO", ' + ", ".join(f'"k{i}": 1' for i in range(n // 9)) + "}",
    "many frames": lambda n: '{"errorType": "E", "stackTrace": [' + "[[1]], " * (n // 7) + '"a"]}',
    "Invoke Error frames": lambda n: NODE + 'Invoke Error \t{"errorType": "E", "stack": [' + '"a", ' * (n // 5) + "1]}",
    "Python error hints": lambda n: '[ERROR] \\n  File "' * (n // 10),
}
