#!/usr/bin/env python3
"""Measures identity writes through a running Keyway's admin API.

Called by bench/identity.sh once per store size, against a node it has
seeded and started. Prints one JSON object on stdout:

- create / revoke: latency (ms) of sequential key creates and revokes;
- bulk: seconds to create BULK keys with CLIENTS concurrent clients;
- batch: seconds to create BATCH keys through `keys:batch`, BATCH_SIZE
  a request, with CLIENTS concurrent clients;
- revocation: of REVOKE_CHECKS keys, how many the very next gateway
  request after the revoke's answer still let through (must be 0).

Only the standard library; every request is on 127.0.0.1, keep-alive.
"""

import http.client
import json
import multiprocessing
import os
import sys
import time

ADMIN = int(os.environ["ADMIN_PORT"])
GATEWAY = int(os.environ["GATEWAY_PORT"])
TOKEN = os.environ["ADMIN_TOKEN"]
BASE_PATH = os.environ.get("BASE_PATH", "/bench")
SEQUENTIAL = int(os.environ.get("SEQUENTIAL", "300"))
BULK = int(os.environ.get("BULK", "100000"))
CLIENTS = int(os.environ.get("CLIENTS", "8"))
REVOKE_CHECKS = int(os.environ.get("REVOKE_CHECKS", "50"))
BATCH = int(os.environ.get("BATCH", "100000"))
BATCH_SIZE = int(os.environ.get("BATCH_SIZE", "1000"))


class Admin:
    """One keep-alive connection to the admin API."""

    def __init__(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", ADMIN, timeout=30)
        self.headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body)
        self.conn.request(method, path, body=data, headers=self.headers)
        resp = self.conn.getresponse()
        text = resp.read()
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path}: {resp.status} {text[:300]!r}")
        return json.loads(text) if text else None

    def create_key(self, app_id):
        return self.call("POST", f"/admin/v1/apps/{app_id}/keys", {"name": "bench"})

    def create_keys(self, app_id, count):
        made = self.call("POST", f"/admin/v1/apps/{app_id}/keys:batch", {"keys": [{"name": "bench"}] * count})
        return len(made["data"])

    def revoke_key(self, key_id):
        return self.call("POST", f"/admin/v1/keys/{key_id}/revoke", {"reason": "bench"})


def bench_app(admin):
    """The app seed-bench made (its tenant's slug starts with bench-)."""
    for tenant in admin.call("GET", "/admin/v1/tenants")["data"]:
        if tenant["slug"].startswith("bench-"):
            apps = admin.call("GET", f"/admin/v1/tenants/{tenant['id']}/apps")["data"]
            if apps:
                return apps[0]["id"]
    raise RuntimeError("no seed-bench app found")


def percentiles(samples_ms):
    s = sorted(samples_ms)

    def at(p):
        return round(s[min(len(s) - 1, int((len(s) - 1) * p))], 3)

    return {"n": len(s), "p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": round(s[-1], 3)}


def sequential(admin, app_id):
    created, create_ms, revoke_ms = [], [], []
    for _ in range(SEQUENTIAL):
        t = time.perf_counter()
        created.append(admin.create_key(app_id)["id"])
        create_ms.append((time.perf_counter() - t) * 1e3)
    for key_id in created:
        t = time.perf_counter()
        admin.revoke_key(key_id)
        revoke_ms.append((time.perf_counter() - t) * 1e3)
    return percentiles(create_ms), percentiles(revoke_ms)


def bulk_worker(args):
    app_id, count = args
    admin = Admin()
    for _ in range(count):
        admin.create_key(app_id)
    return count


def bulk(app_id):
    shares = [BULK // CLIENTS + (1 if i < BULK % CLIENTS else 0) for i in range(CLIENTS)]
    t = time.perf_counter()
    with multiprocessing.Pool(CLIENTS) as pool:
        done = sum(pool.map(bulk_worker, [(app_id, n) for n in shares]))
    seconds = time.perf_counter() - t
    return {"keys": done, "clients": CLIENTS, "seconds": round(seconds, 2), "keys_per_s": round(done / seconds)}


def batch_worker(args):
    app_id, sizes = args
    admin = Admin()
    return sum(admin.create_keys(app_id, n) for n in sizes)


def batch(app_id):
    sizes = [BATCH_SIZE] * (BATCH // BATCH_SIZE) + ([BATCH % BATCH_SIZE] if BATCH % BATCH_SIZE else [])
    work = [(app_id, sizes[i::CLIENTS]) for i in range(CLIENTS)]
    t = time.perf_counter()
    with multiprocessing.Pool(CLIENTS) as pool:
        done = sum(pool.map(batch_worker, work))
    seconds = time.perf_counter() - t
    return {"keys": done, "clients": CLIENTS, "batch_size": BATCH_SIZE, "seconds": round(seconds, 2), "keys_per_s": round(done / seconds)}


def gateway_status(conn, key):
    conn.request("GET", f"{BASE_PATH}/anything", headers={"Authorization": f"Bearer {key}"})
    resp = conn.getresponse()
    body = resp.read()
    code = None
    if resp.status >= 400:
        try:
            code = json.loads(body).get("code")
        except ValueError:
            pass
    return resp.status, code


def revocation(admin, app_id):
    gw = http.client.HTTPConnection("127.0.0.1", GATEWAY, timeout=30)
    accepted_before = leaked = 0
    codes = {}
    for _ in range(REVOKE_CHECKS):
        made = admin.create_key(app_id)
        status, _ = gateway_status(gw, made["key"])
        accepted_before += status < 400
        admin.revoke_key(made["id"])
        status, code = gateway_status(gw, made["key"])
        leaked += status < 400
        codes[code] = codes.get(code, 0) + 1
    return {"checked": REVOKE_CHECKS, "accepted_before_revoke": accepted_before, "let_through_after_revoke": leaked, "codes_after": codes}


def main():
    admin = Admin()
    app_id = bench_app(admin)
    create, revoke = sequential(admin, app_id)
    revoked = revocation(admin, app_id)
    bulk_result = bulk(app_id) if BULK > 0 else None
    batch_result = batch(app_id) if BATCH > 0 else None
    json.dump({"create": create, "revoke": revoke, "revocation": revoked, "bulk": bulk_result, "batch": batch_result}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
