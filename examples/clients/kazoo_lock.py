#!/usr/bin/env python3
"""A lockstorm protocol client around kazoo's Lock recipe (docs/protocol.md).

Run it against the zookeeper target:

    lockstorm run --target zookeeper --client examples/clients/kazoo_lock.py

The lock node's sequence number is the fencing token. kazoo's Lock does not
tell its holder when the session behind the lock is lost, so this client
checks that its node still exists before it reports a release.

With --careful it does what Curator's Tech Note 14 asks of a ZooKeeper
lock client: it treats a suspended connection (kazoo's SUSPENDED state,
which comes before the server can expire the session) as a lost lock, and
says so when the harness asks whether it still holds it (the protocol's
check request), so that the holder stops working:

    lockstorm run --target zookeeper --client "examples/clients/kazoo_lock.py --careful"
"""
import json
import logging
import sys

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import KazooException, LockTimeout

logging.basicConfig(stream=sys.stderr, level=logging.WARNING)


class Definite(Exception):
    """The call certainly had no effect: recorded as fail, not info."""


class Locks:
    def __init__(self, init, careful):
        node = next(n for n in init["nodes"] if n["name"] == init["node"])
        self.node = node["name"]
        self.zk = KazooClient(hosts="%s:%d" % (node["ip"], node["ports"]["client"]),
                              timeout=init["lease_ms"] / 1000.0, connection_retry={"max_tries": 0})
        self.zk.start(timeout=init["op_timeout_ms"] / 1000.0)
        self.wait = init["wait_ms"] / 1000.0
        self.ident = "p%d" % init["process"]
        self.held = {}
        self.lost = set()  # keys held when the connection was suspended
        if careful:
            self.zk.add_listener(self.on_state)

    def on_state(self, state):
        # Called from kazoo's connection thread.
        if state in (KazooState.SUSPENDED, KazooState.LOST):
            self.lost.update(self.held)

    def check(self, key):
        if key not in self.held:
            raise Definite("%s is not held by this client" % key)
        if key in self.lost:
            raise Definite("the connection to ZooKeeper was suspended while %s was held: treated as lost" % key)

    def path(self, key):
        return "/kazoo-locks/" + key

    def acquire(self, key):
        lock = self.zk.Lock(self.path(key), self.ident)
        try:
            lock.acquire(timeout=self.wait)
        except LockTimeout as e:
            # kazoo deletes its node on a timeout, but only on a best-effort
            # basis: the failure is certain only if the node is gone.
            if lock.node and self.zk.exists(self.path(key) + "/" + lock.node):
                raise KazooException("lock node %s left behind: %s" % (lock.node, e))
            raise Definite(str(e))
        self.held[key] = lock
        self.lost.discard(key)
        return int(lock.node[-10:])  # the sequence number of our node

    def release(self, key):
        lock = self.held.pop(key, None)
        self.lost.discard(key)
        if lock is None:
            raise Definite("%s was not acquired by this client" % key)
        if self.zk.exists(self.path(key) + "/" + lock.node) is None:
            raise Definite("the lock node is gone: the session that held it expired")
        lock.release()


def main():
    careful = "--careful" in sys.argv[1:]
    locks = None
    for line in sys.stdin:
        req = json.loads(line)
        reply = {"id": req["id"], "type": "ok"}
        try:
            if req["type"] == "init":
                locks = Locks(req, careful)
                reply["type"] = "init_ok"
                if careful:
                    reply["checks"] = True
            elif req["type"] == "acquire":
                reply["token"] = locks.acquire(req["key"])
            elif req["type"] == "release":
                locks.release(req["key"])
            elif req["type"] == "check" and careful:
                locks.check(req["key"])
            else:
                raise Definite("%s is not supported" % req["type"])
            if locks:
                reply["node"] = locks.node
        except Definite as e:
            reply.update(type="error", error=str(e), definite=True)
        except Exception as e:  # KazooException, timeouts: the outcome is unknown
            reply.update(type="error", error="%s: %s" % (type(e).__name__, e))
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
