#!/usr/bin/env python3
"""Turn the per-run files bench/run.sh leaves in OUT_DIR into
OUT_DIR/summary.json and a human table on stdout.

Inputs, per target NAME (direct, nginx-proxy, keyway):
  NAME-saturating.json  wrk report (report.lua) of the closed-loop run
  NAME-paced-R.json     wrk report of the paced (fixed-rate) run of round R
  NAME-proc.json        proxy pids, CPU ticks during the saturating run, RSS
and BENCH_* environment variables set by run.sh (settings and versions).
"""
import json
import os
import platform
import sys
from datetime import datetime, timezone
from statistics import median

PROXIES = ("nginx-proxy", "keyway")


def env(name, cast=str, default=None):
    value = os.environ.get("BENCH_" + name)
    if value is None or value == "null":
        return default
    return cast(value)


def load(out_dir, name):
    with open(os.path.join(out_dir, name)) as f:
        return json.load(f)


def errors_total(run):
    return sum(run["errors"].values())


def target_result(out_dir, name, clk_tck, rounds):
    sat = load(out_dir, f"{name}-saturating.json")
    paced = [load(out_dir, f"{name}-paced-{r}.json") for r in range(1, rounds + 1)]
    result = {
        "saturating": sat,
        "paced_rounds": paced,
        "rps": sat["rps"],
        "paced_rps": sum(p["requests"] for p in paced) / (sum(p["duration_us"] for p in paced) / 1e6),
        # Median over the rounds of each round's percentile.
        "p50_us": median(p["latency_us"]["p50"] for p in paced),
        "p99_us": median(p["latency_us"]["p99"] for p in paced),
        "errors": errors_total(sat) + sum(errors_total(p) for p in paced),
    }
    proc = load(out_dir, f"{name}-proc.json")
    # CPU use of other processes on the machine, just before this target's runs.
    result["background_cpu_busy_pct"] = proc["idle_busy_pct"]
    if name in PROXIES:
        ticks = proc["cpu_ticks"]
        result.update(
            pids=proc["pids"],
            cpu_ticks=ticks,
            cpu_seconds=ticks / clk_tck,
            cpu_us_per_request=ticks / clk_tck / sat["requests"] * 1e6,
            cpu_cores_used=ticks / clk_tck / (sat["duration_us"] / 1e6),
            rss_kb=proc["rss_kb"],
            rss_mb=proc["rss_kb"] / 1024,
            peak_rss_mb=proc["hwm_kb"] / 1024,
        )
    return result


def ratio(a, b):
    """a / b, or None when b is not a positive number."""
    if a is None or b is None or b <= 0:
        return None
    return a / b


def fmt(value, spec, missing="-"):
    return missing if value is None else format(value, spec)


def main():
    out_dir = sys.argv[1]
    targets = env("TARGETS").split()
    clk_tck = env("CLK_TCK", int)
    rounds = env("ROUNDS", int)

    results = {name: target_result(out_dir, name, clk_tck, rounds) for name in targets}

    # Added latency: proxy latency minus direct latency at the same paced rate.
    direct = results["direct"]
    for name in PROXIES:
        if name in results:
            r = results[name]
            r["added_p50_us"] = r["p50_us"] - direct["p50_us"]
            r["added_p99_us"] = r["p99_us"] - direct["p99_us"]

    ratios = None
    if "keyway" in results:
        kw, ng = results["keyway"], results["nginx-proxy"]
        ratios = {
            "cpu_per_request": ratio(kw["cpu_us_per_request"], ng["cpu_us_per_request"]),
            "added_p50": ratio(kw["added_p50_us"], ng["added_p50_us"]),
            "added_p99": ratio(kw["added_p99_us"], ng["added_p99_us"]),
            "rps": ratio(kw["rps"], ng["rps"]),
        }

    summary = {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "clk_tck": clk_tck,
        },
        "versions": {
            "nginx": env("NGINX_VERSION"),
            "wrk": env("WRK_VERSION"),
            "keyway_git": env("KEYWAY_REV"),
        },
        "settings": {
            "duration_s": env("DURATION", int),
            "threads": env("THREADS", int),
            "connections": env("CONNECTIONS", int),
            "rate_connections": env("RATE_CONNS", int),
            "rate_delay_ms": env("RATE_DELAY_MS", int),
            "rate_duration_s": env("RATE_DURATION", int),
            "rounds": rounds,
            "keys": env("KEYS", int) if "keyway" in results else None,
            "nginx_workers": env("NGINX_WORKERS", int),
            "keyway_worker_threads": env("KEYWAY_WORKERS") if "keyway" in results else None,
            "keyway_threading": env("KEYWAY_THREADING") if "keyway" in results else None,
            "keyway_call_log": env("CALL_LOG") if "keyway" in results else None,
            "keyway_seed_seconds": env("SEED_SECS", int),
        },
        "background_cpu_busy_pct_before_latency_rounds": load(out_dir, "latency-proc.json")["idle_busy_pct"],
        "units": {
            "latency": "microseconds, paced runs, median over rounds of each round's percentile",
            "rps": "requests per second",
            "cpu_us_per_request": "proxy CPU microseconds (utime+stime) per request, saturating run",
            "rss_mb": "MiB, VmRSS after the saturating run",
        },
        "targets": results,
        "keyway_vs_nginx_proxy": ratios,
        "keyway_rss_mb": results["keyway"]["rss_mb"] if "keyway" in results else None,
    }
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")

    print_table(summary)


def print_table(s):
    st = s["settings"]
    print()
    print(f"Keyway benchmark, loopback, {s['machine']['cpus']} CPUs "
          f"({s['versions']['nginx']}, keyway {s['versions']['keyway_git']})")
    print(f"  throughput: wrk -t{st['threads']} -c{st['connections']} -d{st['duration_s']}s (closed loop)")
    print(f"  latency:    {st['rate_connections']} connections, each pausing "
          f"{st['rate_delay_ms']} ms after a response; {st['rounds']} rounds of "
          f"{st['rate_duration_s']}s per target, median of rounds")
    if st["keys"]:
        print(f"  keyway:     {st['keys']} keys in the store, auth and call logging on")
    print()
    header = (f"{'target':<12} {'req/s':>9} {'paced req/s':>11} {'p50 us':>7} {'p99 us':>7} "
              f"{'+p50 us':>8} {'+p99 us':>8} {'CPU us/req':>10} {'RSS MB':>7} {'errors':>6}")
    print(header)
    print("-" * len(header))
    for name, r in s["targets"].items():
        print(f"{name:<12} {r['rps']:>9.0f} {r['paced_rps']:>11.0f} {r['p50_us']:>7.0f} {r['p99_us']:>7.0f} "
              f"{fmt(r.get('added_p50_us'), '.0f'):>8} {fmt(r.get('added_p99_us'), '.0f'):>8} "
              f"{fmt(r.get('cpu_us_per_request'), '.1f'):>10} {fmt(r.get('rss_mb'), '.1f'):>7} "
              f"{r['errors']:>6d}")
    print()
    print("  +p50/+p99: latency added by the proxy = proxy latency - direct latency (paced runs)")
    print("  CPU us/req: proxy process utime+stime during the saturating run / requests"
          " (nginx: master + workers)")

    ratios = s["keyway_vs_nginx_proxy"]
    if ratios:
        print()
        print("Keyway / nginx-proxy")
        def rx(v):
            return "n/a (nginx-proxy value <= 0)" if v is None else f"{v:.2f}x"
        print(f"  CPU per request     {rx(ratios['cpu_per_request'])}")
        print(f"  added p50 latency   {rx(ratios['added_p50'])}")
        print(f"  added p99 latency   {rx(ratios['added_p99'])}")
        print(f"  throughput          {rx(ratios['rps'])}")
        print(f"  Keyway RSS          {s['keyway_rss_mb']:.1f} MB after the saturating run "
              f"(peak {s['targets']['keyway']['peak_rss_mb']:.1f} MB)")

    busy = {name: r["background_cpu_busy_pct"] for name, r in s["targets"].items()
            if r["background_cpu_busy_pct"] > 10}
    if s["background_cpu_busy_pct_before_latency_rounds"] > 10:
        busy["latency rounds"] = s["background_cpu_busy_pct_before_latency_rounds"]
    if busy:
        print()
        print("WARNING: the machine was busy with other work before some runs ("
              + ", ".join(f"{n}: {pct}% CPU" for n, pct in busy.items())
              + "); numbers are noisy, run again on a quiet machine")

    bad = [name for name, r in s["targets"].items() if r["errors"]]
    if bad:
        print()
        print(f"WARNING: wrk counted errors (socket errors or non-2xx) for: {', '.join(bad)};"
              " see the *.txt files next to summary.json")
    print()


if __name__ == "__main__":
    main()
