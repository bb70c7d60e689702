#!/usr/bin/env python3
"""Turn the per-run files bench/run.sh leaves in OUT_DIR into
OUT_DIR/summary.json and a human table on stdout.

Inputs, per target NAME (direct, nginx-proxy, keyway):
  direct-saturating.json  wrk report (report.lua) of direct's closed-loop run
  NAME-saturating-P.json  (proxies) wrk report of the closed-loop run of pair P
  NAME-run-P.json         (proxies) CPU ticks and /proc/stat deltas of that run
  NAME-paced-R.json       wrk report of the paced (fixed-rate) run of round R
  NAME-proc.json          pids, RSS (proxies: after the last pair), idle CPU busy %
and BENCH_* environment variables set by run.sh (settings and versions).

The proxies' CPU per request and req/s are medians over the pairs; the
Keyway / nginx-proxy CPU ratio is the median of the per-pair ratios.
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


def pct(part, total):
    return part * 100 / total if total > 0 else 0.0


def lower_median_index(values):
    """Index of the (lower) median of values: a run that was really measured."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    return order[(len(order) - 1) // 2]


def pair_run(out_dir, name, pair, clk_tck):
    """One saturating run of a proxy in pair PAIR: wrk report, CPU and steal."""
    sat = load(out_dir, f"{name}-saturating-{pair}.json")
    run = load(out_dir, f"{name}-run-{pair}.json")
    ticks = run["cpu_ticks"]
    return {
        "pair": pair,
        "saturating": sat,
        "rps": sat["rps"],
        "requests": sat["requests"],
        "cpu_ticks": ticks,
        "cpu_us_per_request": ticks / clk_tck / sat["requests"] * 1e6 if sat["requests"] else None,
        "cpu_cores_used": ticks / clk_tck / (sat["duration_us"] / 1e6),
        # Shares of all CPUs' time (from /proc/stat) during the run.
        "steal_pct": pct(run["stat_steal"], run["stat_total"]),
        "busy_pct": pct(run["stat_total"] - run["stat_idle"], run["stat_total"]),
        "errors": errors_total(sat),
    }


def target_result(out_dir, name, clk_tck, rounds, pairs):
    paced = [load(out_dir, f"{name}-paced-{r}.json") for r in range(1, rounds + 1)]
    proc = load(out_dir, f"{name}-proc.json")
    result = {"paced_rounds": paced}
    if name in PROXIES:
        runs = [pair_run(out_dir, name, p, clk_tck) for p in range(1, pairs + 1)]
        cpu = [r["cpu_us_per_request"] for r in runs]
        ticks = sum(r["cpu_ticks"] for r in runs)
        mid = runs[lower_median_index(cpu)]
        result.update(
            # The run whose CPU per request is the (lower) median, for readers
            # of the single-run layout; every run is in saturating_runs.
            saturating=mid["saturating"],
            saturating_runs=runs,
            rps=median(r["rps"] for r in runs),
            rps_runs=[r["rps"] for r in runs],
            errors=sum(r["errors"] for r in runs),
            pids=proc["pids"],
            cpu_ticks=ticks,
            cpu_seconds=ticks / clk_tck,
            cpu_us_per_request=median(cpu),
            cpu_us_per_request_runs=cpu,
            cpu_cores_used=median(r["cpu_cores_used"] for r in runs),
            steal_pct=[r["steal_pct"] for r in runs],
            rss_kb=proc["rss_kb"],
            rss_mb=proc["rss_kb"] / 1024,
            peak_rss_mb=proc["hwm_kb"] / 1024,
        )
    else:
        sat = load(out_dir, f"{name}-saturating.json")
        result.update(
            saturating=sat,
            rps=sat["rps"],
            errors=errors_total(sat),
            steal_pct=[pct(proc["stat_steal"], proc["stat_total"])],
        )
    result.update(
        paced_rps=sum(p["requests"] for p in paced) / (sum(p["duration_us"] for p in paced) / 1e6),
        # Median over the rounds of each round's percentile.
        p50_us=median(p["latency_us"]["p50"] for p in paced),
        p99_us=median(p["latency_us"]["p99"] for p in paced),
    )
    result["errors"] += sum(errors_total(p) for p in paced)
    # CPU use of other processes on the machine, just before this target's runs.
    result["background_cpu_busy_pct"] = proc["idle_busy_pct"]
    return result


def pair_ratios(kw, ng, steal_warn_pct):
    """Per pair: Keyway / nginx-proxy CPU per request and req/s, steal of both runs."""
    out = []
    for k, n in zip(kw["saturating_runs"], ng["saturating_runs"]):
        steal = max(k["steal_pct"], n["steal_pct"])
        out.append({
            "pair": k["pair"],
            "first": "nginx-proxy" if k["pair"] % 2 else "keyway",
            "cpu_ratio": ratio(k["cpu_us_per_request"], n["cpu_us_per_request"]),
            "rps_ratio": ratio(k["rps"], n["rps"]),
            "keyway_cpu_us_per_request": k["cpu_us_per_request"],
            "nginx_cpu_us_per_request": n["cpu_us_per_request"],
            "keyway_steal_pct": k["steal_pct"],
            "nginx_steal_pct": n["steal_pct"],
            "steal_pct": steal,
            "high_steal": steal > steal_warn_pct,
        })
    return out


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
    pairs = env("PAIRS", int)
    steal_warn_pct = env("STEAL_WARN_PCT", float, 5.0)

    results = {name: target_result(out_dir, name, clk_tck, rounds, pairs) for name in targets}

    # Added latency: proxy latency minus direct latency at the same paced rate.
    direct = results["direct"]
    for name in PROXIES:
        if name in results:
            r = results[name]
            r["added_p50_us"] = r["p50_us"] - direct["p50_us"]
            r["added_p99_us"] = r["p99_us"] - direct["p99_us"]

    ratios = None
    per_pair = None
    if "keyway" in results:
        kw, ng = results["keyway"], results["nginx-proxy"]
        per_pair = pair_ratios(kw, ng, steal_warn_pct)
        cpu_pairs = [p["cpu_ratio"] for p in per_pair if p["cpu_ratio"] is not None]
        low = [p["cpu_ratio"] for p in per_pair if p["cpu_ratio"] is not None and not p["high_steal"]]
        high = [p["pair"] for p in per_pair if p["high_steal"]]
        ratios = {
            # Median over the pairs of each pair's ratio (not a ratio of medians).
            "cpu_per_request": median(cpu_pairs) if cpu_pairs else None,
            "cpu_ratio_pairs": [p["cpu_ratio"] for p in per_pair],
            "cpu_ratio_min": min(cpu_pairs) if cpu_pairs else None,
            "cpu_ratio_max": max(cpu_pairs) if cpu_pairs else None,
            "cpu_ratio_of_medians": ratio(kw["cpu_us_per_request"], ng["cpu_us_per_request"]),
            "steal_pct": [p["steal_pct"] for p in per_pair],
            "high_steal_pairs": high,
            # Only when some pair was above the steal threshold: the median
            # over the others (None when no pair was below it).
            "cpu_ratio_low_steal": (median(low) if low else None) if high else None,
            "rps_ratio_pairs": [p["rps_ratio"] for p in per_pair],
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
            "pairs": pairs,
            "pair_duration_s": env("PAIR_DURATION", int),
            "pair_warmup_s": env("PAIR_WARMUP", int),
            "steal_warn_pct": steal_warn_pct,
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
            "rps": "requests per second (proxies: median over the pairs' saturating runs)",
            "cpu_us_per_request": "proxy CPU microseconds (utime+stime) per request, saturating run"
                                  " (proxies: median over the pairs' runs)",
            "steal_pct": "VM steal, % of all CPUs' time during each measured saturating run (/proc/stat)",
            "rss_mb": "MiB, VmRSS after the saturating run (proxies: after the last pair)",
        },
        "targets": results,
        "keyway_vs_nginx_proxy": ratios,
        "pairs": per_pair,
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
    print(f"  throughput: wrk -t{st['threads']} -c{st['connections']} (closed loop); direct -d{st['duration_s']}s;"
          f" proxies {st['pairs']} pairs of -d{st['pair_duration_s']}s, median")
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
    print("  proxies' req/s and CPU us/req: median over the pairs' saturating runs")

    ratios = s["keyway_vs_nginx_proxy"]
    if ratios:
        print()
        print("Keyway / nginx-proxy")
        def rx(v):
            return "n/a (nginx-proxy value <= 0)" if v is None else f"{v:.2f}x"
        print(f"  CPU per request     {rx(ratios['cpu_per_request'])}  (median of {len(s['pairs'])} pairs;"
              f" min {rx(ratios['cpu_ratio_min'])}, max {rx(ratios['cpu_ratio_max'])})")
        print(f"  added p50 latency   {rx(ratios['added_p50'])}")
        print(f"  added p99 latency   {rx(ratios['added_p99'])}")
        print(f"  throughput          {rx(ratios['rps'])}")
        print(f"  Keyway RSS          {s['keyway_rss_mb']:.1f} MB after the last pair "
              f"(peak {s['targets']['keyway']['peak_rss_mb']:.1f} MB)")

    if s["pairs"] is not None:
        print()
        print("Pairs (saturating runs back to back): CPU us/req of each, ratio keyway/nginx, VM steal % of each run")
        print(f"  {'pair':>4} {'first':<12} {'nginx us':>8} {'keyway us':>9} {'ratio':>6} "
              f"{'nginx st%':>9} {'keyway st%':>10}")
        for p in s["pairs"]:
            print(f"  {p['pair']:>4} {p['first']:<12} {fmt(p['nginx_cpu_us_per_request'], '.1f'):>8} "
                  f"{fmt(p['keyway_cpu_us_per_request'], '.1f'):>9} {fmt(p['cpu_ratio'], '.2f'):>6} "
                  f"{p['nginx_steal_pct']:>9.1f} {p['keyway_steal_pct']:>10.1f}"
                  f"{'  high steal' if p['high_steal'] else ''}")
    elif "nginx-proxy" in s["targets"]:
        ng = s["targets"]["nginx-proxy"]
        print()
        print("nginx-proxy runs: CPU us/req " + ", ".join(f"{v:.1f}" for v in ng["cpu_us_per_request_runs"])
              + "; steal % " + ", ".join(f"{v:.1f}" for v in ng["steal_pct"]))

    limit = s["settings"]["steal_warn_pct"]
    if ratios and ratios["high_steal_pairs"]:
        high = ratios["high_steal_pairs"]
        low = ratios["cpu_ratio_low_steal"]
        print()
        print(f"WARNING: VM steal above {limit:g}% in pair(s) {', '.join(map(str, high))}; "
              + (f"CPU per request over the {len(s['pairs']) - len(high)} other pair(s): {low:.2f}x (median)"
                 if low is not None else "no pair below it, the ratio above is all there is"))
    steal_runs = {name: max(r["steal_pct"]) for name, r in s["targets"].items()
                  if r["steal_pct"] and max(r["steal_pct"]) > limit and (name == "direct" or not ratios)}
    if steal_runs:
        print()
        print(f"WARNING: VM steal above {limit:g}% during saturating runs of: "
              + ", ".join(f"{n} (up to {v:.1f}%)" for n, v in steal_runs.items()))

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
