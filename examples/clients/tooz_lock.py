#!/usr/bin/env python3
"""A lockstorm protocol client around OpenStack tooz's locks (docs/protocol.md).

tooz runs locks over several backends; this client takes the backend as its
argument and builds the coordinator URL from the servers in init:

    lockstorm run --target redis     --client "examples/clients/tooz_lock.py redis"
    lockstorm run --target zookeeper --client "examples/clients/tooz_lock.py zookeeper"

The coordinator's heartbeat thread (start_heart=True) keeps the Redis
driver's locks alive, as tooz's users run it. tooz gives no fencing token.
"""
import json
import logging
import sys

import tooz
from kazoo.exceptions import LockTimeout
from tooz import coordination

logging.basicConfig(stream=sys.stderr, level=logging.WARNING)


class Definite(Exception):
    """The call certainly had no effect: recorded as fail, not info."""


def url(backend, init):
    node = next(n for n in init["nodes"] if n["name"] == init["node"])
    lease = max(1, round(init["lease_ms"] / 1000.0))
    if backend == "redis":
        return "redis://%s:%d?timeout=1&lock_timeout=%d" % (node["ip"], node["ports"]["redis"], lease)
    if backend == "zookeeper":
        return "zookeeper://%s:%d?timeout=%d" % (node["ip"], node["ports"]["client"], lease)
    raise SystemExit("tooz_lock.py: unknown backend %r (redis or zookeeper)" % backend)


class Locks:
    def __init__(self, backend, init):
        self.node = init["node"]
        member = ("p%d" % init["process"]).encode()
        self.coord = coordination.get_coordinator(url(backend, init), member)
        self.coord.start(start_heart=True)
        self.wait = init["wait_ms"] / 1000.0
        self.held = {}

    def acquire(self, key):
        lock = self.coord.get_lock(key.encode())
        try:
            ok = lock.acquire(blocking=self.wait)
        except LockTimeout as e:  # the ZooKeeper driver lets kazoo's timeout through
            raise Definite(str(e))
        if not ok:
            raise Definite("%s busy for %.1fs" % (key, self.wait))
        self.held[key] = lock

    def release(self, key):
        lock = self.held.pop(key, None)
        if lock is None or not lock.release():  # False: tooz no longer held it
            raise Definite("%s was not held" % key)


def main():
    backend = sys.argv[1] if len(sys.argv) > 1 else "redis"
    locks = None
    for line in sys.stdin:
        req = json.loads(line)
        reply = {"id": req["id"], "type": "ok"}
        try:
            if req["type"] == "init":
                locks = Locks(backend, req)
                reply["type"] = "init_ok"
            elif req["type"] == "acquire":
                locks.acquire(req["key"])
            elif req["type"] == "release":
                locks.release(req["key"])
            else:
                raise Definite("%s is not supported" % req["type"])
        except Definite as e:
            reply.update(type="error", error=str(e), definite=True)
        except (tooz.ToozError, Exception) as e:  # the outcome is unknown
            reply.update(type="error", error="%s: %s" % (type(e).__name__, e))
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
