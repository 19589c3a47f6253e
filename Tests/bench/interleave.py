"""Runs one benchmark against two `loft` binaries interleaved — OLD, NEW, OLD, NEW … for
`--rounds` rounds — picks its figures out of the output, and prints each round's figures, the
per-round NEW/OLD ratios and their median. The machine's speed drifts by tens of percent from
one minute to the next, so only figures taken side by side are compared.

    python3 Tests/bench/interleave.py KIND --old OLD/.build/release/loft --new NEW/.build/release/loft \
        [--rounds 3] [--bench PATH/loft-bench] [-- extra arguments for the benchmark]

KIND is one of
  bench  `loft-bench --loft BIN` (the back-end benchmark; needs --bench: one loft-bench, from
         the bench-scale branch or later, measures both binaries with the same client)
  scale  `loft-bench scale --loft BIN` (the store at scale; needs --bench; long: one round)
  pop3   `LOFT_BIN=BIN python3 Tests/bench/pop3_bench.py` (RETR 1,000 x 4 KiB, 100 x 1 MiB, logins)
  smtp   `LOFT_BIN=BIN python3 Tests/bench/smtp_bench.py --connections 1,32`

(smtp_source_bench.py interleaves by itself.) Every run's full output is appended to
`--log` (default /tmp/interleave-KIND.log).
"""
import argparse
import os
import pathlib
import re
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent

# (figure, regex with one group per figure, in order)
PATTERNS = {
    "bench": [
        (["ping blocking median µs"], r"blocking socket client \(the back-end alone\): median ([\d.]+) µs"),
        (["submit 1 stream msg/s", "submit 1 stream CPU µs/msg"],
         r"\(delivery\.submit\), 1 stream\(s\): (\d+) messages/s.*?back-end CPU (\d+) µs"),
        (["submit 32 streams msg/s", "submit 32 streams CPU µs/msg"],
         r"\(delivery\.submit\), 32 stream\(s\): (\d+) messages/s.*?back-end CPU (\d+) µs"),
        (["b/a/c 32 streams msg/s", "b/a/c 32 streams CPU µs/msg"],
         r"\(begin/append/commit\), 32 stream\(s\): (\d+) messages/s.*?back-end CPU (\d+) µs"),
        (["RSS after fill MB"], r"back-end RSS after \d+ stored messages: ([\d.]+) MB"),
    ],
    "scale": [
        (["empty-store msg/s", "empty-store CPU µs/msg"], r"\(empty store\): (\d+) messages/s, back-end CPU (\d+)"),
        (["full-store msg/s", "full-store CPU µs/msg"], r"\(full store\): (\d+) messages/s, back-end CPU (\d+)"),
        (["full/empty rate"], r"full/empty delivery rate ([\d.]+)"),
        (["status median µs (socket)"], r"mailbox\.status, blocking socket, \d+ calls: median ([\d.]+) µs"),
        (["status median µs (RPCClient)"], r"mailbox\.status, async RPCClient, \d+ calls: median ([\d.]+) µs"),
        (["RSS after fill MB", "RSS peak MB"], r"RSS after the fill: ([\d.]+) MB, peak ([\d.]+) MB"),
        (["SIGTERM s"], r"stopped \(SIGTERM\) in ([\d.]+) s"),
        (["data dir MiB"], r"data directory: (\d+) MiB allocated"),
        (["restart to ping s"], r"ping answered ([\d.]+) s after launch"),
        (["first status after restart µs"], r"then the first mailbox\.status ([\d.]+) µs"),
    ],
    "pop3": [
        (["RETR 1000x4KiB s", "4KiB backend CPU µs/msg", "4KiB client CPU µs/msg", "4KiB gateway CPU µs/msg"],
         r"RETR 1000 x 4 KiB, one session: median ([\d.]+) s.*?\n\s*CPU per message: backend (\d+) µs, client (\d+) µs, pop3 (\d+) µs"),
        (["RETR 100x1MiB s"], r"RETR 100 x 1 MiB, one session\s*: median ([\d.]+) s"),
        (["logins/s"], r"hash cost \d+: (\d+) per second"),
    ],
    "smtp": [
        (["1 conn msg/s", "1 conn gateway CPU µs/msg", "1 conn backend CPU µs/msg"],
         r"(?m)^\s+1\s+\d+\s+[\d.]+\s+(\d+)\s+[\d.]+\s+[\d.]+\s+(\d+)\s+(\d+)\s+\d+\s*$"),
        (["32 conn msg/s", "32 conn gateway CPU µs/msg", "32 conn backend CPU µs/msg"],
         r"(?m)^\s+32\s+\d+\s+[\d.]+\s+(\d+)\s+[\d.]+\s+[\d.]+\s+(\d+)\s+(\d+)\s+\d+\s*$"),
    ],
}


def command(kind, binary, bench, extra):
    env = dict(os.environ)
    if kind in ("bench", "scale"):
        if not bench:
            sys.exit("--bench PATH/loft-bench is needed for this kind")
        return ([bench, *(["scale"] if kind == "scale" else []), "--loft", binary, *extra], env)
    env["LOFT_BIN"] = binary
    script = {"pop3": "pop3_bench.py", "smtp": "smtp_bench.py"}[kind]
    args = ["--connections", "1,32"] if kind == "smtp" and "--connections" not in extra else []
    return ([sys.executable, str(HERE / script), *args, *extra], env)


def figures(kind, output):
    found = {}
    for names, pattern in PATTERNS[kind]:
        m = re.search(pattern, output, re.S)
        for i, name in enumerate(names):
            found[name] = float(m.group(i + 1)) if m else None
    return found


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=sorted(PATTERNS))
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--bench", help="the loft-bench binary (kinds bench and scale)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--log")
    args = ap.parse_args(argv)
    log = open(args.log or f"/tmp/interleave-{args.kind}.log", "a")
    binaries = {"OLD": os.path.abspath(args.old), "NEW": os.path.abspath(args.new)}
    bench = os.path.abspath(args.bench) if args.bench else None
    print(f"# {args.kind}: OLD {binaries['OLD']}, NEW {binaries['NEW']}, extra {extra}", flush=True)
    results = {"OLD": [], "NEW": []}
    names = [n for names, _ in PATTERNS[args.kind] for n in names]
    for r in range(1, args.rounds + 1):
        for side in ("OLD", "NEW"):
            cmd, env = command(args.kind, binaries[side], bench, extra)
            load = open("/proc/loadavg").read().split()[0]
            start = time.time()
            p = subprocess.run(cmd, env=env, capture_output=True, text=True)
            log.write(f"\n===== round {r} {side} {time.strftime('%H:%M:%S')} load {load}: {' '.join(cmd)}\n{p.stdout}{p.stderr}")
            log.flush()
            if p.returncode != 0:
                sys.exit(f"round {r} {side} failed ({p.returncode}):\n{p.stdout[-3000:]}{p.stderr[-3000:]}")
            f = figures(args.kind, p.stdout)
            results[side].append(f)
            print(f"round {r} {side} ({time.time() - start:.0f} s, load {load}): "
                  + ", ".join(f"{n} {'?' if f[n] is None else f'{f[n]:g}'}" for n in names), flush=True)
    print(f"\n{'figure':>32} {'OLD':>10} {'NEW':>10} {'NEW/OLD':>8} {'median ratio':>12}  per round")
    for n in names:
        pairs = [(o[n], w[n]) for o, w in zip(results["OLD"], results["NEW"]) if o[n] is not None and w[n] is not None]
        if not pairs:
            continue
        old = statistics.median(p[0] for p in pairs)
        new = statistics.median(p[1] for p in pairs)
        ratios = [w / o for o, w in pairs if o]
        print(f"{n:>32} {old:>10g} {new:>10g} {new / old if old else float('nan'):>8.2f} "
              f"{statistics.median(ratios) if ratios else float('nan'):>12.2f}  " + " ".join(f"{x:.2f}" for x in ratios))


if __name__ == "__main__":
    main()
