#!/usr/bin/env python3
"""A protocol client that answers init, then prints a debugging line on
standard output instead of a reply: lockstorm must stop with exit 4 and
quote the line."""
import json
import sys

for line in sys.stdin:
    req = json.loads(line)
    if req["type"] == "init":
        print(json.dumps({"id": req["id"], "type": "init_ok"}), flush=True)
    else:
        print("acquired %s :)" % req.get("key"), flush=True)
