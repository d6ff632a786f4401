"""Lambda's SQS event source mapping, as far as a sender sees it, for tests and benches on moto:
receive up to 10 messages, hand them over as Lambda's SQS event, delete what the handler did not
report in `batchItemFailures`. Several pollers side by side stand for concurrent containers; SQS
itself (moto's FIFO) keeps a group's messages away from a second poller while a batch is in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

Handler = Callable[[Mapping[str, Any], float], Mapping[str, Any]]
# SQS hands a group to one receiver at a time; moto decides that per call without a lock, so two
# receives at the same instant could both get a group. One receive at a time here, as in SQS.
_RECEIVE = threading.Lock()


def lambda_event(messages: list[dict[str, Any]], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:q") -> dict:
    """SQS messages as the Records of the event Lambda invokes the function with."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def poll_once(sqs: Any, url: str, handler: Handler, until: float, batch_size: int = 10) -> int:
    """One receive and one invocation; how many messages it handed over."""
    with _RECEIVE:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=batch_size, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
    if not got:
        return 0
    result = handler(lambda_event(got), until)
    failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", ())}
    done = [m for m in got if m["MessageId"] not in failed]
    for i in range(0, len(done), 10):
        entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done[i : i + 10])]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    return len(got)


class Pollers:
    """A poller thread per handler (a container of the sender function each), until the block ends."""

    def __init__(self, sqs: Any, url: str, handlers: list[Handler], until: Callable[[], float]) -> None:
        self._stop = threading.Event()
        self.invocations = 0
        self._lock = threading.Lock()

        def run(handler: Handler) -> None:
            while not self._stop.is_set():
                handed = poll_once(sqs, url, handler, until())
                if handed:
                    with self._lock:
                        self.invocations += 1
                else:
                    self._stop.wait(0.05)  # Lambda long-polls; an empty queue costs it nothing either

        self._threads = [
            threading.Thread(target=run, args=(handler,), name=f"poller {n}", daemon=True)
            for n, handler in enumerate(handlers)
        ]

    def __enter__(self) -> Pollers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
