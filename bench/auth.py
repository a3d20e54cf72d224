"""Sign-in figures: login, /me and an authenticated no-op route (/api/v1/admin/whoami)
in requests per second through gunicorn, beside a trivial route on the same server in the
same run, and the gateway→identity RPC round trip.

Targets (issue 7 §9): the authenticated no-op route >= 0.8 of the trivial one, /me >= 0.5.

    .venv/bin/python -m bench.auth [--seconds 10] [--threads 8] [--rounds 3]

Starts its own system (own ports, broker virtual host and data folder) and prints medians.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import threading
import time

import jwt
import requests
from nameko.standalone.rpc import ClusterRpcProxy

from infra import demo
from tests.realparts import whole_system


def rate(url: str, seconds: float, threads: int, method="GET", json=None, headers=None) -> float:
    """Requests per second that `threads` keep-alive clients get in `seconds` (2xx only)."""
    done = [0] * threads
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        with requests.Session() as http:
            while time.monotonic() < stop:
                answer = http.request(method, url, json=json, headers=headers, timeout=30)
                if answer.status_code < 300:
                    done[i] += 1

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done) / (time.monotonic() - started)


def rpc_round_trips(amqp_uri: str, family: str, n: int = 2000) -> tuple[float, float]:
    with ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json"}, timeout=10) as rpc:
        for _ in range(50):  # warm up
            rpc.identity.session_active(family)
        samples = []
        for _ in range(n):
            t = time.perf_counter()
            rpc.identity.session_active(family)
            samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # The shipped rate limits would turn most of this load into 429s: lift them here.
    roomy = {
        f"RATE_LIMIT_{name}": "1000000 per hour"
        for name in ("LOGIN_IP", "LOGIN_FAILURES_IP", "LOGIN_ACCOUNT", "REFRESH_IP")
    }
    with whole_system("bench", roomy) as system:
        base = system.base_url
        login_body = {"username": "worker01", "password": demo.DEMO_PASSWORD}
        tokens = requests.post(base + "/api/v1/auth/login", json=login_body, timeout=30).json()
        bearer = {"Authorization": "Bearer " + tokens["access_token"]}
        family = jwt.decode(tokens["access_token"], options={"verify_signature": False})["fam"]
        results: dict[str, list[float]] = {"trivial": [], "noop": [], "me": [], "login": []}
        for _ in range(args.rounds):  # interleaved, so machine noise hits all alike
            results["trivial"].append(rate(base + "/healthz", args.seconds, args.threads))
            results["noop"].append(
                rate(base + "/api/v1/admin/whoami", args.seconds, args.threads, headers=bearer)
            )
            results["me"].append(
                rate(base + "/api/v1/auth/me", args.seconds, args.threads, headers=bearer)
            )
            results["login"].append(
                rate(base + "/api/v1/auth/login", args.seconds, args.threads, "POST", login_body)
            )
        p50, p99 = rpc_round_trips(system.plan.amqp_uri, family)
        plan = system.plan
    med = {k: statistics.median(v) for k, v in results.items()}
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; gunicorn {plan.gunicorn_workers} workers x 8 "
        f"threads; {args.threads} client threads; {args.rounds} rounds of {args.seconds:.0f} s"
    )
    print(f"{'trivial route (/healthz)':<26} {med['trivial']:8.1f} req/s (median)")
    for key, label in (
        ("noop", "GET /api/v1/admin/whoami"),
        ("me", "GET /api/v1/auth/me"),
        ("login", "POST /api/v1/auth/login"),
    ):
        ratio = med[key] / med["trivial"]
        print(f"{label:<26} {med[key]:8.1f} req/s (median)  ratio to trivial {ratio:.3f}")
    print(f"{'RPC gateway->identity':<26} p50 {p50:.2f} ms  p99 {p99:.2f} ms (2000 calls)")


if __name__ == "__main__":
    main()
