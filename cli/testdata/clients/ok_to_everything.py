#!/usr/bin/env python3
"""A deliberately broken protocol client, kept as a test fixture.

It answers ok to every acquire and every release without asking any lock
service: a "lock" that lets every client in at once. lockstorm must judge
a run of it invalid, with overlapping holds.
"""
import json
import sys

for line in sys.stdin:
    req = json.loads(line)
    reply = {"id": req["id"], "type": "init_ok" if req["type"] == "init" else "ok"}
    print(json.dumps(reply), flush=True)
