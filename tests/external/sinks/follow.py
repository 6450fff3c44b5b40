"""A test sink that follows a file (as a log shipper does) and POSTs each new line, batched, as NDJSON.

argv: FILE. Environment: SINK_URL, BATCH (default 20). Prints "following" once it watches the file.
Stops on SIGTERM.
"""

import os
import sys
import time
import urllib.request

url, path, batch_size = os.environ["SINK_URL"], sys.argv[1], int(os.environ.get("BATCH", "20"))
while not os.path.exists(path):
    time.sleep(0.01)
with open(path, "rb") as f:
    print("following", flush=True)
    partial, batch, idle = b"", [], 0
    while True:
        chunk = f.readline()
        if chunk:
            partial += chunk
            if partial.endswith(b"\n"):
                batch.append(partial)
                partial = b""
        else:
            idle += 1
            time.sleep(0.01)
        if batch and (len(batch) >= batch_size or (not chunk and idle >= 5)):
            request = urllib.request.Request(url, data=b"".join(batch),
                                             headers={"Content-Type": "application/x-ndjson"})
            with urllib.request.urlopen(request, timeout=5):
                pass
            batch, idle = [], 0
