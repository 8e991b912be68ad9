#!/usr/bin/env python3
"""A lockstorm protocol client around python3-etcd3's Lock (docs/protocol.md).

Run it against the etcd target:

    lockstorm run --target etcd --client examples/clients/etcd3_lock.py

python3-etcd3 0.12.0 (Debian bookworm's) ships in the node image
(runtime/docker/image/files/Dockerfile). The lock is etcd3.client(...).lock(
key, ttl=lease), with its key, uuid, release() and refresh().

Issue 32: on bookworm, Lock.acquire(timeout>0) fails on any busy lock with
"TypeError: wait() missing 1 required positional argument:
'delay_since_first_attempt'" (it hands bookworm's tenacity 8 a wait function
of an old signature). So this client never calls Lock.acquire: it runs the
Lock's own transaction (put our uuid on the key with a lease, if the key
does not exist) every 50 ms until wait_ms has passed. The Lock does not renew
its lease: a thread calls Lock.refresh() every third of the lease. The token
is the key's create revision, read in the same transaction. With --careful
it answers check: the lock is lost once etcd says the lease is gone, or no
refresh has succeeded for a whole lease (as etcd's Go client assumes):

    lockstorm run --target etcd --client "examples/clients/etcd3_lock.py --careful"
"""
import json
import sys
import threading
import time

import etcd3


class Definite(Exception):
    """The call certainly had no effect: recorded as fail, not info."""


class Keeper(threading.Thread):
    """Refreshes a Lock's lease every third of the lease until done is set."""
    def __init__(self, lock, granted_at):
        super().__init__(daemon=True)
        self.lock, self.done, self.gone = lock, threading.Event(), False
        self.good_until = granted_at + lock.lease.ttl  # the lease lives at least until then
        self.start()

    def run(self):
        while not self.done.wait(self.lock.lease.ttl / 3.0):
            sent = time.monotonic()
            try:
                replies = self.lock.refresh()
            except Exception as e:
                print("refresh of %s: %s: %s" % (self.lock.key, type(e).__name__, e), file=sys.stderr, flush=True)
                continue
            if not replies or replies[0].TTL <= 0:  # etcd no longer knows the lease
                self.gone = True
                return
            self.good_until = sent + replies[0].TTL


class Locks:
    def __init__(self, init):
        node = next(n for n in init["nodes"] if n["name"] == init["node"]) if init.get("node") else init["nodes"][0]
        self.node = node["name"]
        # One RPC's deadline: an acquire ends within wait_ms and one RPC.
        rpc = max(0.5, min(2.0, (init["op_timeout_ms"] - init["wait_ms"]) / 3000.0))
        self.etcd = etcd3.client(host=node["ip"], port=node["ports"]["client"], timeout=rpc)
        self.ttl = max(1, -(-init["lease_ms"] // 1000))  # whole seconds, as etcd grants
        self.wait = init["wait_ms"] / 1000.0
        self.held = {}  # key -> Keeper

    def acquire(self, key):
        lock, tx, start = self.etcd.lock(key, ttl=self.ttl), self.etcd.transactions, time.monotonic()
        try:
            lock.lease = self.etcd.lease(self.ttl)
        except Exception as e:  # no lock transaction was sent: nothing changed
            raise Definite("lease grant failed: %s: %s" % (type(e).__name__, e))
        keeper, attempts = Keeper(lock, start), 0
        while attempts == 0 or time.monotonic() - start < self.wait:
            attempts += 1
            # An exception here (timeout, lost connection) leaves the outcome unknown.
            ok, responses = self.etcd.transaction(
                compare=[tx.create(lock.key) == 0],
                success=[tx.put(lock.key, lock.uuid, lease=lock.lease), tx.get(lock.key)],
                failure=[])
            if ok:
                self.held[key] = keeper
                return responses[1][0][1].create_revision
            time.sleep(0.05)
        keeper.done.set()  # the unused lease expires on its own
        raise Definite("%s busy for %.1fs (%d attempts)" % (key, self.wait, attempts))

    def release(self, key):
        keeper = self.held.pop(key, None)
        if keeper is None:
            raise Definite("%s was not acquired by this client" % key)
        keeper.done.set()
        if not keeper.lock.release():  # the key no longer holds our uuid
            raise Definite("%s was no longer ours: its lease had expired" % key)

    def check(self, key):
        keeper = self.held.get(key)
        if keeper is None or keeper.gone or time.monotonic() >= keeper.good_until:
            raise Definite("%s is not held, or its lease is gone or went a whole lease unrefreshed" % key)


def main():
    careful = "--careful" in sys.argv[1:]
    locks = None
    for line in sys.stdin:
        req = json.loads(line)
        reply = {"id": req["id"], "type": "ok"}
        try:
            if req["type"] == "init":
                locks = Locks(req)
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
        except Exception as e:  # etcd3's timeouts, connection errors, gRPC errors: unknown
            reply.update(type="error", error="%s: %s" % (type(e).__name__, e))
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
