"""Concurrent sessions against a running dashboard, over Streamlit's own websocket protocol
(``/_stcore/stream``, protobuf BackMsg/ForwardMsg): each session asks for a page with its own
filters, as a browser tab would, and waits for the script to finish. Reports the errors (exceptions
shown, failed or unfinished runs), the time per page run and the server's memory.

    python -m redservice.load_test [--sessions 20] [--rounds 3] [--data DIR] [--url ws://127.0.0.1:PORT]

Without ``--url`` it starts ``streamlit run dashboard.py`` on a free loopback port and stops it at
the end. Loopback only; every wait is bounded (``--timeout``). Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from redservice import local_server

PAGES = (("", "总览"), ("units", "单位与支部"))
PERIODS = ("ytd", "last_quarter", "this_month", "last12", "all")


def _rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


@contextlib.contextmanager
def server(data: str | None, log_dir: Path):
    """The dashboard on a free loopback port (redservice.local_server): its websocket URL and pid."""
    with local_server.running(log_dir, data) as (url, proc):
        yield url.replace("http://", "ws://") + "/_stcore/stream", proc.pid


async def page_run(ws, page: str, query: dict, timeout: float) -> tuple[float, list[str]]:
    """Ask for one page with the given URL parameters; (seconds until the run finished, problems)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = BackMsg()
    msg.rerun_script.query_string = urllib.parse.urlencode(query, doseq=True)
    msg.rerun_script.page_name = page
    started = time.perf_counter()
    await ws.send(msg.SerializeToString())
    problems: list[str] = []
    elements = 0
    while True:
        raw = await asyncio.wait_for(ws.recv(), timeout)
        fwd = ForwardMsg()
        fwd.ParseFromString(raw)
        kind = fwd.WhichOneof("type")
        if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
            elements += 1
            if fwd.delta.new_element.WhichOneof("type") == "exception":
                problems.append(f"exception: {fwd.delta.new_element.exception.message[:200]}")
        elif kind == "session_event" and fwd.session_event.WhichOneof("type") == "script_compilation_exception":
            problems.append("compilation exception")
        elif kind == "page_not_found":
            problems.append(f"page not found: {page}")
        elif kind == "script_finished":
            status = fwd.script_finished
            if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                continue
            if status != ForwardMsg.FINISHED_SUCCESSFULLY:
                problems.append(f"finished with status {status}")
            if elements < 5:  # a page that drew (next to) nothing did not really run
                problems.append(f"only {elements} elements drawn")
            return time.perf_counter() - started, problems


async def session(url: str, n: int, units: list[str], rounds: int, timeout: float) -> list[dict]:
    import websockets

    out = []
    try:
        async with websockets.connect(url, subprotocols=["streamlit"], max_size=None,
                                      open_timeout=timeout) as ws:
            for r in range(rounds):
                page, label = PAGES[(n + r) % len(PAGES)]
                query = {"period": PERIODS[(n + r) % len(PERIODS)]}
                if units and (n + r) % 3:
                    query["unit"] = units[(n * 7 + r) % len(units)]
                try:
                    seconds, problems = await page_run(ws, page, query, timeout)
                except (asyncio.TimeoutError, OSError, websockets.ConnectionClosed) as exc:
                    seconds, problems = None, [f"{type(exc).__name__}: {exc}"[:200]]
                out.append({"session": n, "page": label, "query": query, "seconds": seconds, "problems": problems})
    except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake) as exc:
        out.append({"session": n, "page": None, "query": {}, "seconds": None,
                    "problems": [f"connect: {type(exc).__name__}: {exc}"[:200]]})
    return out


async def run_all(url: str, sessions: int, units: list[str], rounds: int, timeout: float) -> list[dict]:
    results = await asyncio.gather(*(session(url, n, units, rounds, timeout) for n in range(sessions)))
    return [r for rs in results for r in rs]


def units_of(data: str | None, limit: int = 40) -> list[str]:
    import pyarrow.parquet as pq

    from redservice import config, storage

    path = storage.table_path(config.data_dir(data), "units")
    return sorted(pq.read_table(path, columns=["unit"]).column("unit").to_pylist())[:limit] if path.is_file() else []


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m redservice.load_test", description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3, help="page runs per session (pages and filters alternate)")
    p.add_argument("--data", help="data directory (default: $REDSERVICE_DATA, else the demo)")
    p.add_argument("--url", help="an already running server's ws://127.0.0.1:PORT/_stcore/stream")
    p.add_argument("--pid", type=int, help="that server's process id (for its memory)")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for one page run")
    p.add_argument("--log-dir", default=".", help="where the started server writes its log (streamlit-PORT.log)")
    args = p.parse_args(argv)
    units = units_of(args.data)
    ctx = contextlib.nullcontext((args.url, args.pid)) if args.url else server(args.data, Path(args.log_dir))
    with ctx as (url, pid):
        # one warm-up run per page (the first run imports and fills the caches), then the load
        asyncio.run(run_all(url, 1, units, len(PAGES), args.timeout))
        before = _rss_mb(pid) if pid else (None, None)
        started = time.perf_counter()
        results = asyncio.run(run_all(url, args.sessions, units, args.rounds, args.timeout))
        wall = time.perf_counter() - started
        after = _rss_mb(pid) if pid else (None, None)
    times = [r["seconds"] for r in results if r["seconds"] is not None]
    errors = [r for r in results if r["problems"]]
    summary = {
        "sessions": args.sessions, "page_runs": len(results), "errors": len(errors),
        "median_s": round(statistics.median(times), 2) if times else None,
        "p90_s": round(statistics.quantiles(times, n=10, method="inclusive")[-1], 2) if len(times) >= 2 else None,
        "max_s": round(max(times), 2) if times else None, "wall_s": round(wall, 1),
        "server_rss_mb_before": before[0] and round(before[0]), "server_rss_mb_after": after[0] and round(after[0]),
        "server_peak_rss_mb": after[1] and round(after[1]),
        "by_page": {label: round(statistics.median([r["seconds"] for r in results
                                                    if r["page"] == label and r["seconds"] is not None]), 2)
                    for _, label in PAGES if any(r["page"] == label and r["seconds"] for r in results)},
        "problems": [r["problems"] for r in errors][:10],
    }
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
