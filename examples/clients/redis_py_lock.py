#!/usr/bin/env python3
"""A lockstorm protocol client around redis-py's Lock (docs/protocol.md).

Run it against the redis target:

    lockstorm run --target redis --client examples/clients/redis_py_lock.py

The harness writes one JSON request per line on stdin and reads one reply
per line on stdout; anything on stderr goes into the run log.
"""
import json
import sys

import redis
from redis.exceptions import LockError, LockNotOwnedError


class Definite(Exception):
    """The call certainly had no effect: recorded as fail, not info."""


class Locks:
    def __init__(self, init):
        node = next(n for n in init["nodes"] if n["name"] == init["node"]) if init["node"] else init["nodes"][0]
        self.node = node["name"]
        # No retries: a SET NX sent again would find our own key and say busy.
        self.r = redis.Redis(host=node["ip"], port=node["ports"]["redis"], socket_timeout=1, socket_connect_timeout=1)
        self.ttl = init["lease_ms"] / 1000.0
        self.wait = init["wait_ms"] / 1000.0
        self.held = {}

    def acquire(self, key):
        lock = self.r.lock(key, timeout=self.ttl, blocking_timeout=self.wait)
        if not lock.acquire():  # False: busy for the whole wait
            raise Definite("%s busy for %.1fs" % (key, self.wait))
        self.held[key] = lock
        return None  # redis-py's Lock has no fencing token

    def release(self, key):
        lock = self.held.pop(key, None)
        if lock is None:
            raise Definite("%s was not acquired by this client" % key)
        try:
            lock.release()
        except LockNotOwnedError as e:  # the value is gone: expired, or someone else's
            raise Definite(str(e))


def main():
    locks = None
    for line in sys.stdin:
        req = json.loads(line)
        reply = {"id": req["id"], "type": "ok"}
        try:
            if req["type"] == "init":
                locks = Locks(req)
                reply["type"] = "init_ok"
            elif req["type"] == "acquire":
                token = locks.acquire(req["key"])
                if token is not None:
                    reply["token"] = token
            elif req["type"] == "release":
                locks.release(req["key"])
            else:
                raise Definite("%s is not supported" % req["type"])
            if locks:
                reply["node"] = locks.node
        except Definite as e:
            reply.update(type="error", error=str(e), definite=True)
        except (LockError, redis.RedisError, OSError) as e:  # the outcome is unknown
            reply.update(type="error", error="%s: %s" % (type(e).__name__, e))
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
