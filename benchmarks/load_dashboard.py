"""Load test of the dashboard: N clients x S seconds on 127.0.0.1 against a real `scorelab serve` process.

Two phases, each S seconds: the server idle (no run going), then while a composed run goes (started
through the compose form, as a browser would: session cookie, CSRF token, same origin). Each client
loops over a fixed mix of pages (runs list, run page, JSON, a citizen, the cached report, a CSV
download, the compose form), one request at a time. Reported per phase: requests per second, p50 and
p99 latency, errors (non-2xx/3xx answers, timeouts, refused connections), and the server's memory
(RSS, sampled every 0.25 s from /proc). Everything is bounded: a request times out after 30 s, a phase
ends after S seconds, the composed run is cancelled after the second phase, and the server process
(started here) is stopped by its pid.

    .venv/bin/python benchmarks/load_dashboard.py                       # 50 clients x 60 s
    .venv/bin/python benchmarks/load_dashboard.py --clients 10 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
SCORELAB = Path(sys.executable).with_name("scorelab")
TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) / 1024 if m else None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (the composed run's process, when one goes)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


class RssSampler:
    """The server's RSS, and its children's (a composed run), every 0.25 s in a thread, while a phase runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.samples, self.child_samples, self._stop = pid, [], [], threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            v = rss_mb(self.pid)
            if v is not None:
                self.samples.append(v)
            self.child_samples.append(sum(rss_mb(c) or 0.0 for c in children(self.pid)))
            self._stop.wait(0.25)

    def __enter__(self) -> RssSampler:
        self.cpu0, self.load0 = cpu_seconds(self.pid), os.getloadavg()[0]
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.cpu, self.load1 = cpu_seconds(self.pid) - self.cpu0, os.getloadavg()[0]


def percentile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))
    return xs[k]


async def client_loop(i: int, base: str, urls: list[str], deadline: float, out: list, errors: list,
                      citizens: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as c:
        k = i
        while time.monotonic() < deadline:
            url = urls[k % len(urls)].format(c=(k * 7919) % citizens)  # a different citizen each time
            k += 1
            t0 = time.perf_counter()
            try:
                r = await c.get(url)
                ok = r.status_code < 400
                await r.aclose()
            except httpx.HTTPError as exc:
                ok = False
                r = exc
            dt = time.perf_counter() - t0
            out.append((url, dt))
            if not ok:
                errors.append((url, getattr(r, "status_code", type(r).__name__)))


async def phase(base: str, urls: list[str], clients: int, seconds: float, citizens: int) -> tuple[list, list, float]:
    out: list = []
    errors: list = []
    t0 = time.monotonic()
    deadline = t0 + seconds
    await asyncio.gather(*(client_loop(i, base, urls, deadline, out, errors, citizens) for i in range(clients)))
    return out, errors, time.monotonic() - t0


def summarize(name: str, out: list, errors: list, wall: float, rss: RssSampler, note: str = "") -> dict:
    lat = [dt for _, dt in out]
    return {"phase": name, "requests": len(out), "rps": len(out) / wall if wall else 0.0,
            "p50_ms": percentile(lat, 50) * 1000, "p99_ms": percentile(lat, 99) * 1000, "errors": len(errors),
            "rss_median_mb": percentile(rss.samples, 50), "rss_max_mb": max(rss.samples, default=float("nan")),
            "run_rss_max_mb": max(rss.child_samples, default=0.0), "note": note, "by_route": _by_route(out),
            "server_cpu_s": rss.cpu, "load": (rss.load0, rss.load1),
            "error_kinds": sorted({str(e[1]) for e in errors})}


def _by_route(out: list) -> dict[str, float]:
    routes: dict[str, list[float]] = {}
    for url, dt in out:
        key = re.sub(r"/runs/[^/?]+", "/runs/ID", url.split("?")[0])
        routes.setdefault(key, []).append(dt)
    return {k: percentile(v, 50) * 1000 for k, v in sorted(routes.items())}


def start_composed_run(base: str, citizens: int, days: int) -> str:
    """Through the form, as a page of the dashboard: its cookie, its CSRF token, its origin."""
    with httpx.Client(base_url=base, timeout=TIMEOUT) as c:
        page = c.get("/new")
        token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text).group(1)
        r = c.post("/new", data={"csrf_token": token, "preset": "unified", "citizens": str(citizens),
                                 "days": str(days), "seed": "0", "baseline": "none"},
                   headers={"Origin": base}, follow_redirects=False)
        if r.status_code != 303:
            raise SystemExit(f"the composed run was refused ({r.status_code})")
        return r.headers["location"].rsplit("/", 1)[1]


def cancel(base: str, job: str) -> dict:
    with httpx.Client(base_url=base, timeout=TIMEOUT) as c:
        page = c.get(f"/jobs/{job}")
        m = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
        state = c.get(f"/api/jobs/{job}").json()
        if m and state["active"]:
            c.post(f"/jobs/{job}/cancel", data={"csrf_token": m.group(1)}, headers={"Origin": base})
        return state


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--run-citizens", type=int, default=20_000, help="size of the run whose pages are read")
    ap.add_argument("--run-days", type=int, default=90)
    ap.add_argument("--composed-citizens", type=int, default=1_000_000,
                    help="size of the composed run of the second phase (large enough to last the phase)")
    ap.add_argument("--composed-days", type=int, default=365)
    args = ap.parse_args()

    from scorelab import api

    with tempfile.TemporaryDirectory(prefix="scorelab-load-") as tmp:
        runs = Path(tmp) / "runs"
        folder = api.run("unified", citizens=args.run_citizens, days=args.run_days, seed=1, out=runs)
        rid = folder.name
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = Path(tmp) / "server.log"  # a file, not a pipe: a server that logs a lot never blocks on it
        proc = subprocess.Popen([str(SCORELAB), "serve", "--runs", str(runs), "--port", str(port)],
                                stdout=subprocess.DEVNULL, stderr=log.open("wb"), start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/api/runs", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the server did not start: " + log.read_text(errors="replace")[-2000:])
                time.sleep(0.2)
            urls = ["/", "/api/runs", f"/runs/{rid}", f"/runs/{rid}/citizen?id={{c}}", f"/runs/{rid}/report",
                    f"/runs/{rid}/tables/daily.csv", "/new"]
            for u in urls:  # warm: the report is built once, before the clock starts
                assert httpx.get(base + u.format(c=7), timeout=300).status_code == 200, u
            single = {}  # one client, one request at a time: what each page costs without queueing
            with httpx.Client(base_url=base, timeout=TIMEOUT) as c:
                for u in urls:
                    times = []
                    for k in range(8):
                        t0 = time.perf_counter()
                        c.get(u.format(c=(k * 7919) % args.run_citizens))
                        times.append(time.perf_counter() - t0)
                    single[re.sub(r"/runs/[^/?]+", "/runs/ID", u.split("?")[0])] = percentile(times, 50) * 1000
            rows = []
            with RssSampler(proc.pid) as rss:
                out, errors, wall = asyncio.run(phase(base, urls, args.clients, args.seconds, args.run_citizens))
            rows.append(summarize("idle", out, errors, wall, rss))
            job = start_composed_run(base, args.composed_citizens, args.composed_days)
            with RssSampler(proc.pid) as rss:
                out, errors, wall = asyncio.run(phase(base, urls, args.clients, args.seconds, args.run_citizens))
            state = cancel(base, job)
            note = (f"composed run {args.composed_citizens:,} x {args.composed_days} (+ baseline): at the end of "
                    f"the phase '{state['message']}'")
            rows.append(summarize("during a composed run", out, errors, wall, rss, note))
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
            server_log = log.read_text(errors="replace").splitlines()

    date = datetime.now(UTC).strftime("%Y-%m-%d")
    print(f"\n{args.clients} clients x {args.seconds:g} s, 127.0.0.1, {date}; pages of a "
          f"{args.run_citizens:,} x {args.run_days} run\n")
    print("| phase | requests | req/s | p50 ms | p99 ms | errors | server RSS MB (median / max) | run process RSS MB "
          "(max) | server CPU s | machine load (start / end) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['phase']} | {r['requests']:,} | {r['rps']:.1f} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | "
              f"{r['errors']}{' (' + ', '.join(r['error_kinds']) + ')' if r['errors'] else ''} | "
              f"{r['rss_median_mb']:.0f} / {r['rss_max_mb']:.0f} | {r['run_rss_max_mb']:.0f} | "
              f"{r['server_cpu_s']:.1f} | {r['load'][0]:.1f} / {r['load'][1]:.1f} |")
    for r in rows:
        if r["note"]:
            print(f"\n{r['phase']}: {r['note']}")
    print(f"\nserver log: {len(server_log)} line(s)" + (": " + " / ".join(server_log[-3:]) if server_log else ""))
    print("\np50 by route (ms); 'alone': one client, one request at a time, before the phases:\n")
    print("| route | alone | " + " | ".join(r["phase"] for r in rows) + " |")
    print("|---|---|" + "---|" * len(rows))
    for route in rows[0]["by_route"]:
        print(f"| `{route}` | {single.get(route, float('nan')):.0f} | "
              + " | ".join(f"{r['by_route'].get(route, float('nan')):.0f}" for r in rows) + " |")


if __name__ == "__main__":
    main()
