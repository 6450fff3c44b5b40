"""Regenerates orders.jsonl, the recorded stream the shipped scenarios replay.

A shop's two topics in one file — `orders` (JSON, 2 partitions) and
`payments` (JSON) — 600 messages over 6 seconds of recorded time, with user
headers of several kinds. Deterministic: running it again gives the same bytes.

    python scenarios/streams/generate.py
"""

from __future__ import annotations

import random
from pathlib import Path

from sinkbench.model import HeaderKind, HeaderValue, Message, Schema
from sinkbench.sources.base import SourceTopic
from sinkbench.sources.recorded import StreamWriter

START_US = 1_790_000_000_000_000
OUT = Path(__file__).with_name("orders.jsonl")


def main() -> None:
    rng = random.Random(2026)
    orders = SourceTopic("shop", "orders", Schema.JSON)
    payments = SourceTopic("shop", "payments", Schema.JSON)
    offsets: dict[tuple[str, int], int] = {}
    with StreamWriter(OUT, stream="shop", topic="orders", schema="json", source="iggy+tcp://127.0.0.1:8090",
                      recorded_at="2026-11-26T12:00:00Z") as writer:
        for n in range(600):
            t = START_US + n * 10_000 + rng.randrange(0, 5_000)
            is_payment = n % 3 == 2
            topic = payments if is_payment else orders
            partition = 0 if is_payment else n % 2
            offset = offsets.get((topic.topic, partition), 0)
            offsets[(topic.topic, partition)] = offset + 1
            order_id = 10_000 + n // 3
            if is_payment:
                payload = {"order": order_id, "amount": round(rng.uniform(5, 500), 2), "currency": "EUR",
                           "method": rng.choice(["card", "sepa", "paypal"])}
            else:
                payload = {"order": order_id, "customer": f"c-{rng.randrange(1, 400):04d}",
                           "items": [{"sku": f"sku-{rng.randrange(1, 90)}", "qty": rng.randrange(1, 4)}
                                     for _ in range(rng.randrange(1, 4))],
                           "note": "x" * rng.randrange(0, 200)}
            headers = {"x-correlation-id": HeaderValue.string(f"corr-{order_id}"),
                       "retry": HeaderValue(HeaderKind.BOOL, False),
                       "priority": HeaderValue(HeaderKind.INT32, rng.randrange(0, 3))}
            writer.write(topic, Message(id=(order_id << 32) | n, offset=offset, timestamp=t,
                                        origin_timestamp=t - rng.randrange(100, 2000), checksum=rng.getrandbits(63),
                                        headers=headers, payload=payload, partition=partition))


if __name__ == "__main__":
    main()
