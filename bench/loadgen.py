"""A small HTTP load generator: P processes × T threads, each thread one keep-alive http.client connection.

Closed loop (rate=None): every client sends its next request as soon as the previous answer is read, so the
server is saturated and throughput is what it can do. Open loop (rate=R): requests are due on a fixed schedule
(R per second over all clients) and latency is measured from the time a request was DUE, not sent, so a slow
server cannot hide its queueing (no coordinated omission).

Requests are prepared before the clock starts (signatures included), so the generator spends its CPU on HTTP
only; it still shares the machine's cores with the server, which the figures state.
"""
from __future__ import annotations

import http.client
import multiprocessing
import threading
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Request:
    method: str
    path: str
    body: bytes
    headers: dict
    tag: object = None  # what the caller wants back with the result (e.g. the event's dedupe key)


@dataclass
class Result:
    tag: object
    status: int           # 0: connection error
    latency: float        # seconds
    done_at: float        # monotonic seconds since the run started


def _client(base: str, queue: deque, lock: threading.Lock, out: list, t0: float, deadline: float,
            interval: float | None, offset: float) -> None:
    host = urlsplit(base)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    k = 0
    while True:
        due = None
        if interval is not None:
            due = t0 + offset + k * interval
            k += 1
            if due > deadline:
                break
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        elif time.perf_counter() > deadline:
            break
        with lock:
            if not queue:
                break
            req = queue.popleft()
        start = time.perf_counter()
        status = 0
        for _ in range(2):  # one reconnect if the server closed an idle keep-alive connection
            try:
                conn.request(req.method, req.path, body=req.body, headers=req.headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        end = time.perf_counter()
        out.append(Result(req.tag, status, end - (due if due is not None else start), end - t0))
    conn.close()


def _process(base, requests, clients, t0, duration, rate, conn):
    queue, lock, out = deque(requests), threading.Lock(), []
    deadline = t0 + duration
    interval = clients / rate if rate else None
    threads = [threading.Thread(target=_client, args=(base, queue, lock, out, t0, deadline, interval,
                                                       (interval or 0) * i / clients), daemon=True)
               for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    conn.send([(r.tag, r.status, r.latency, r.done_at) for r in out])
    conn.close()


def run(base: str, requests: list[Request], *, clients: int = 50, processes: int = 2, duration: float = 8.0,
        rate: float | None = None) -> dict:
    """Send requests (in order, spread over processes) for at most `duration` seconds; returns results and rates."""
    ctx = multiprocessing.get_context("fork")
    per_proc = [requests[i::processes] for i in range(processes)]
    counts = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    pipes, procs = [], []
    t0 = time.perf_counter() + 0.3  # every process starts at the same instant
    for part, n in zip(per_proc, counts):
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_process, args=(base, part, n, t0, duration, rate / processes if rate else None, child))
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    results = []
    for pipe in pipes:
        results += [Result(*row) for row in pipe.recv()]
    for proc in procs:
        proc.join()
    elapsed = max((r.done_at for r in results), default=0.0)
    ok = [r for r in results if 200 <= r.status < 300]
    return {
        "results": results,
        "sent": len(results),
        "ok": len(ok),
        "errors": len(results) - len(ok),
        "statuses": sorted({r.status for r in results}),
        "elapsed": elapsed,
        "throughput": len(ok) / elapsed if elapsed else 0.0,
        "latencies": [r.latency for r in ok],
    }
