"""A tiny HTTP sink to bench: lines on stdin, NDJSON batches POSTed to $SINK_URL, a naive retry.

Standard library only. Settings from the environment:
  SINK_URL        where to POST (the scenario sets it to the bench's endpoint)
  BATCH           lines per request (default 50)
  FLUSH_MS        send a partial batch after this long without a new line (default 200)
  RETRIES         retries of a failed request before the batch is dropped (default 3)
  RETRY_DELAY_MS  wait between attempts (default 200)
  TIMEOUT_S       request timeout (default 5)
It prints "ready" once it reads stdin, and a line for every batch it drops.
At the end of its input it sends what it holds and exits.
"""

import os
import queue
import sys
import threading
import time
import urllib.error
import urllib.request

URL = os.environ["SINK_URL"]
BATCH = int(os.environ.get("BATCH", "50"))
FLUSH = int(os.environ.get("FLUSH_MS", "200")) / 1000
RETRIES = int(os.environ.get("RETRIES", "3"))
DELAY = int(os.environ.get("RETRY_DELAY_MS", "200")) / 1000
TIMEOUT = float(os.environ.get("TIMEOUT_S", "5"))


def post(lines):
    body = b"".join(lines)
    for attempt in range(RETRIES + 1):
        request = urllib.request.Request(URL, data=body, headers={"Content-Type": "application/x-ndjson"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT):
                return
        except urllib.error.HTTPError as exc:
            if exc.code < 500 and exc.code != 429:
                break          # the server refused it: retrying will not help
        except OSError:
            pass               # connection refused or reset, timed out: try again
        if attempt < RETRIES:
            time.sleep(DELAY)
    print(f"dropped a batch of {len(lines)} after {attempt + 1} attempts", flush=True)


def read(lines):
    for line in sys.stdin.buffer:
        lines.put(line)
    lines.put(None)


lines = queue.Queue()
threading.Thread(target=read, args=(lines,), daemon=True).start()
print("ready", flush=True)
batch = []
while True:
    try:
        line = lines.get(timeout=FLUSH)
    except queue.Empty:
        line = b""
    if line:
        batch.append(line)
    if batch and (line is None or not line or len(batch) >= BATCH):
        post(batch)
        batch = []
    if line is None:
        break
