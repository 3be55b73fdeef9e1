"""``python -m redservice bench``: how fast every page is at county, city and province scale.

For each size it
1. builds (or reuses) a scaled store: the committed demo county replicated k times, every name and
   id prefixed with its county (``县007·北城社区``), each copy's communities and units listed in a
   county of their own (所属县 ``县007``: a city or province of k counties, so the county level, its
   filter and 区县对比 are measured), services cut to exactly N records and written sorted by date,
   then the serving copy (redservice.serving) refreshed as an import would;
2. discovers each page's query set by running the page in Streamlit's AppTest against that store
   with a recorder around ``Store.query`` (so pages added later are measured without changing this
   file);
3. times the set directly on a fresh ``Store``: cold = opening the store and the first run of the
   set; warm = the set re-run with the filters changed (another unit, another period), median over
   repeated runs. A call the app would answer from its cache (the same query, filters, scope and
   parameters as an earlier call of the page: the filter bar's lists, 单位与支部's county-wide
   scorecard under another unit) is timed as the cache answers it, by unpickling its result
   (``_run_set``), not run again;
4. times the same figures with plain pandas — the records loaded once with ``read_parquet``, then
   filtered and grouped on each interaction, exact ``nunique`` included — as the baseline;
5. times each page's own Python (``python_ms``): the page re-run in AppTest with its query results
   cached (st.cache_data), so what is left is shaping, formatting, building the charts, maps and
   tables and Streamlit's serialising them — median of ``min(PYTHON_RUNS, runs)`` re-runs, at the
   view the page opens with (a store of several counties: the whole city or province).

Every measured phase runs in a fresh process of its own, started from the small parent that only
orchestrates: building the store's records, building the serving copy (``python -m redservice
build``, timed every run), recording the pages, and each engine's queries. Peak memory is that
process's ``VmHWM`` (``serving.peak_rss_mb``), not ``ru_maxrss``, which survives exec and would report
the parent's peak.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import math
import os
import pickle
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from redservice import serving
from redservice.config import DEMO_DIR, ENV_DATA, PROJECT_DIR
from redservice.filters import EVERYTHING, Filters, Scope
from redservice.schema import BOUNDARIES_FILE, MANIFEST_FILE, parquet_name

BUILD_DIR = PROJECT_DIR / "bench"
DEFAULT_SIZES = (100_000, 1_000_000, 10_000_000)
ENGINES = ("duckdb", "pandas")
GENERATOR_VERSION = 2  # 2: every copy of the demo is a county of its own (所属县)
STAMP = "bench.json"
PYTHON_RUNS = 3  # at most this many re-runs of each page with its queries cached (its own Python; median)

# Columns that carry a name or an id and are prefixed with the county; all others are copied.
PREFIXED = {
    "communities": ("community",),
    "compounds": ("compound", "community"),
    "units": ("unit", "paired_community"),
    "branches": ("branch", "unit"),
    "members": ("member_id", "unit", "branch", "community", "compound"),
    "services": ("record_id", "member_id", "unit", "branch", "community", "compound", "activity_id"),
    "service_households": ("record_id", "household"),
    "wishes": ("wish_id", "community", "compound", "claim_unit", "claim_member_id", "claim_branch"),
}
# Where each county's copy sits on the map: a grid of cells of this size (degrees lon, lat).
GRID_COLUMNS = 24
GRID_CELL = (0.06, 0.04)
_COUNTY = "'县' || lpad(CAST(c.i AS VARCHAR), {width}, '0')"
_PREFIX = _COUNTY + " || '·'"
# The tables whose 所属县 is the copy's county (``县007``): the county level of the store.
COUNTY_TABLES = ("communities", "units")


def _q(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _source_fingerprint(source: Path) -> list:
    """Names and sizes of the source's record tables."""
    return sorted([p.name, p.stat().st_size] for p in source.glob("*.parquet"))


def store_dir(rows: int, build_dir: Path = BUILD_DIR) -> Path:
    return Path(build_dir) / "stores" / f"rows-{rows}"


def generate(rows: int, out: Path, source: Path = DEMO_DIR, threads: int | None = None, serve: bool = True) -> dict:
    """Write a store of exactly ``rows`` service records built from the demo county; reuse the one
    already at ``out`` when it has the same shape. Returns its stamp (rows, counties, …). ``serve``:
    refresh its serving copy too when it is missing or stale (the bench builds it in a process of
    its own instead)."""
    out = Path(out)
    source = Path(source)
    con = duckdb.connect(":memory:")
    try:
        n = con.execute(f"SELECT COUNT(*) FROM read_parquet({_q(source / 'services.parquet')})").fetchone()[0]
    finally:
        con.close()
    k = max(1, math.ceil(rows / n))
    stamp = {"generator": GENERATOR_VERSION, "rows": rows, "counties": k, "source_rows": n,
             "source": _source_fingerprint(source)}
    stamp_path = out / STAMP
    try:
        same = json.loads(stamp_path.read_text(encoding="utf-8")) == stamp
    except (OSError, json.JSONDecodeError):
        same = False
    if not same:
        out.mkdir(parents=True, exist_ok=True)
        stamp_path.unlink(missing_ok=True)
        _replicate(source, out, rows, n, k, threads)
        _boundaries(source, out, k)
        manifest = {
            "county": f"基准测试（{k}个县）",
            "county_en": f"Benchmark ({k} counties)",
            "name": f"基准测试：{rows}条服务记录（合成）",
            "description": f"由 python -m redservice bench 把演示县复制{k}次生成的合成数据。",
            "synthetic": True,
        }
        (out / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        stamp_path.write_text(json.dumps(stamp, ensure_ascii=False), encoding="utf-8")
    if serve and not serving.is_fresh(out):  # as an import would: the serving copy follows the records
        serving.refresh(out)
    return stamp


def _replicate(source: Path, out: Path, rows: int, n: int, k: int, threads: int | None) -> None:
    """Every table of the demo k times in DuckDB SQL; services cut to exactly ``rows``: k-1 whole
    counties and an evenly spread sample of the last one (so every county spans the whole period)."""
    m = rows - (k - 1) * n  # records of the last county, 1..n
    prefix = _PREFIX.format(width=max(3, len(str(k - 1))))
    county = _COUNTY.format(width=max(3, len(str(k - 1))))
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET enable_progress_bar = false")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        con.execute("SET preserve_insertion_order = false")
        # (county, demo record) pairs kept: row r of the demo is kept in the last county when
        # floor((r+1)·m/n) > floor(r·m/n), which holds for exactly m of the n rows.
        con.execute(f"""
            CREATE TEMP TABLE kept AS
            SELECT c.i, d.record_id
            FROM (SELECT record_id, ROW_NUMBER() OVER (ORDER BY record_id) - 1 AS r
                  FROM read_parquet({_q(source / 'services.parquet')})) d
            CROSS JOIN range({k}) c(i)
            WHERE c.i < {k - 1} OR (d.r + 1) * {m} // {n} > d.r * {m} // {n}
        """)
        for table, prefixed in PREFIXED.items():
            src = _q(source / parquet_name(table))
            cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({src})").fetchall()]
            select = []
            for col in cols:
                if col in prefixed:
                    select.append(f"{prefix} || t.{col} AS {col}")
                elif col == "county" and table in COUNTY_TABLES:
                    select.append(f"{county} AS county")
                elif col in ("lon", "lat"):
                    step = GRID_CELL[0] if col == "lon" else GRID_CELL[1]
                    cell = f"c.i % {GRID_COLUMNS}" if col == "lon" else f"c.i // {GRID_COLUMNS}"
                    select.append(f"t.{col} + ({cell}) * {step} AS {col}")
                else:
                    select.append(f"t.{col}")
            body = f"SELECT {', '.join(select)} FROM read_parquet({src}) t"
            if table in ("services", "service_households"):
                body += " JOIN kept c ON c.record_id = t.record_id"
            else:
                body += f" CROSS JOIN range({k}) c(i)"
            if table == "services":
                body += " ORDER BY t.date, c.i, t.record_id"
            target = out / parquet_name(table)
            tmp = target.with_name(f".{target.name}.tmp")
            con.execute(f"COPY ({body}) TO {_q(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)")
            tmp.replace(target)
        got = con.execute(f"SELECT COUNT(*) FROM read_parquet({_q(out / 'services.parquet')})").fetchone()[0]
        if got != rows:
            raise RuntimeError(f"generated {got} service records, wanted {rows}")
    finally:
        con.close()


def _boundaries(source: Path, out: Path, k: int) -> None:
    path = source / BOUNDARIES_FILE
    if not path.is_file():
        return
    demo = json.loads(path.read_text(encoding="utf-8"))
    width = max(3, len(str(k - 1)))
    features = []
    for i in range(k):
        dx, dy = (i % GRID_COLUMNS) * GRID_CELL[0], (i // GRID_COLUMNS) * GRID_CELL[1]
        for feature in demo.get("features", []):
            props = dict(feature.get("properties") or {})
            if "community" in props:
                props["community"] = f"县{i:0{width}d}·{props['community']}"
            features.append({**feature, "properties": props,
                             "geometry": _shift(feature.get("geometry"), dx, dy)})
    doc = {k_: v for k_, v in demo.items() if k_ != "features"}
    doc["features"] = features
    (out / BOUNDARIES_FILE).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _shift(geometry, dx: float, dy: float):
    if geometry is None:
        return None

    def move(coords):
        if coords and isinstance(coords[0], (int, float)):
            return [round(coords[0] + dx, 6), round(coords[1] + dy, 6), *coords[2:]]
        return [move(c) for c in coords]

    return {**geometry, "coordinates": move(geometry.get("coordinates", []))}


# -- the pages and their query sets ------------------------------------------------------------

def pages() -> list[tuple[str, str]]:
    """(file, key) of every page in dashboard.PAGES, read without running the dashboard."""
    tree = ast.parse((PROJECT_DIR / "dashboard.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PAGES" for t in node.targets):
            return [(entry[0], entry[1]) for entry in ast.literal_eval(node.value)]
    raise RuntimeError("dashboard.py defines no PAGES list")


@dataclass(frozen=True)
class Call:
    """One Store.query call as a page made it."""

    name: str
    filters: Filters | None
    scope: Scope
    extra: tuple[tuple[str, object], ...] = ()

    def to_json(self) -> dict:
        return {"name": self.name, "filters": _encode(asdict(self.filters)) if self.filters else None,
                "scope": _encode(asdict(self.scope)), "extra": _encode(dict(self.extra))}

    @classmethod
    def from_json(cls, data: dict) -> "Call":
        filters = data["filters"] and Filters(**_tuples(_decode(data["filters"])))
        return cls(data["name"], filters, Scope(**_tuples(_decode(data["scope"]))),
                   tuple(sorted(_decode(data["extra"]).items())))


def _encode(value):
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(value):
    if isinstance(value, dict) and set(value) == {"date"}:
        return dt.date.fromisoformat(value["date"])
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _tuples(fields: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}


def record(store: Path, unit: str | None = None, only: list[str] | None = None,
           python_runs: int = PYTHON_RUNS) -> dict:
    """Run every page (``only``: the pages of these keys) in AppTest against ``store`` and record its
    Store.query calls. Each page is
    run twice, the second time with ``unit`` selected in the URL: calls whose filters change with it
    follow the viewer's selection; the others (the filter bar's own queries) do not. After the first
    run the page is re-run ``python_runs`` times with its queries cached: ``python_ms``, the median,
    is the page's own Python.
    Returns {page file: {"key", "calls": [Call json + "follows"], "error": str | None, "python_ms"}}."""
    os.environ[ENV_DATA] = str(store)
    from streamlit.testing.v1 import AppTest

    from redservice import store as store_module
    from redservice import ui

    calls: list[Call] = []
    original = store_module.Store.query

    def recording(self, name, filters=None, scope=EVERYTHING, **extra):
        calls.append(Call(name, filters, scope, tuple(sorted(extra.items()))))
        return original(self, name, filters, scope, **extra)

    def run(path: str, first: bool, params: dict, timed: bool = False
            ) -> tuple[list[Call] | None, str | None, float | None]:
        ui.clear_query_caches()  # the filter bar's options are a shared resource: cleared too
        calls.clear()
        at = AppTest.from_file(str(PROJECT_DIR / "dashboard.py"), default_timeout=1800)
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
        if not first:  # the first page is the default one; others are reached by navigation
            ui.clear_query_caches()
            calls.clear()
            try:
                at.switch_page(path).run()
            except ValueError as exc:  # a page this store does not offer (区县对比 of one county)
                if "navigation page" not in str(exc):
                    raise
                return None, None, None
        made = list(calls)
        python_ms = None
        if timed:  # the same page again, its queries answered from the cache: its own Python
            times = []
            for _ in range(max(1, python_runs)):
                t0 = time.perf_counter()
                at.run()
                times.append((time.perf_counter() - t0) * 1000)
            python_ms = statistics.median(times)
        return made, "; ".join(str(e.value)[:200] for e in at.exception) or None, python_ms

    store_module.Store.query = recording
    found = {}
    try:
        for i, (path, key) in enumerate(pages()):
            if only and key not in only:
                continue
            plain, error, python_ms = run(path, i == 0, {}, timed=True)
            if plain is None:
                continue
            chosen, _, _ = run(path, i == 0, {"unit": unit}) if unit else ([], None, None)
            # calls are matched in order while both runs make the same ones; after the first
            # difference (the page shows more with a unit chosen) every call with filters follows
            same = 0
            while same < min(len(plain), len(chosen)) and plain[same].name == chosen[same].name:
                same += 1
            found[path] = {"key": key, "error": error, "python_ms": python_ms, "calls": [
                {**c.to_json(), "follows": c.filters is not None and (
                    i >= same or not chosen or c.filters != chosen[i].filters)}
                for i, c in enumerate(plain)]}
    finally:
        store_module.Store.query = original
    return found


def variants(calls: list[Call], units: list[str], runs: int, kind: str,
             follows: list[bool] | None = None) -> list[list[Call]]:
    """The page's query set with the filters changed, ``runs`` times: another unit (kind "unit":
    each run selects a different unit, same period) or another period (kind "period": each run
    shifts every period back by another whole number of weeks; a call whose period was the
    previous period of an earlier call's gets the previous period of that call's new one, as the
    page would ask). Only calls that follow the viewer's selection change (``follows``; by
    default every call with filters); the others (the filter bar's) are repeated as they are. A
    call that keeps its filters when a unit is chosen (单位与支部's county-wide median) still has
    the view's period: another period moves it too."""
    follows = follows or [c.filters is not None for c in calls]
    if kind == "period":
        periods = {(c.filters.start, c.filters.end) for c, f in zip(calls, follows) if f and c.filters is not None}
        follows = [f or (c.filters is not None and (c.filters.start, c.filters.end) in periods)
                   for c, f in zip(calls, follows)]
    out = []
    for i in range(runs):
        changed: list[Call] = []
        for j, (call, moves) in enumerate(zip(calls, follows)):
            f = call.filters
            if moves and f is not None:
                if kind == "unit":
                    f = replace(f, units=(units[i % len(units)],)) if units else f
                else:
                    before = [k for k in range(j) if follows[k] and calls[k].filters is not None
                              and calls[k].filters.previous() == f]
                    if before:
                        f = changed[before[0]].filters.previous()
                    else:
                        shift = dt.timedelta(weeks=i + 1)
                        f = f.with_period(f.start - shift, f.end - shift)
            changed.append(replace(call, filters=f))
        out.append(changed)
    return out


def _cache_key(call: Call) -> str:
    return json.dumps(call.to_json(), ensure_ascii=False, sort_keys=True)


def _run_set(engine, calls: list[Call], each: list | None = None,
             cache: dict[str, bytes] | None = None) -> tuple[float, list]:
    """Run the calls in order; total ms and results (and each call's ms appended to ``each``).
    ``cache``: the page's calls so far, as the app's st.cache_data keeps them (pickled). A call
    made before with the same query, filters, scope and parameters is answered as the app answers
    it, by unpickling the kept result, and timed as that; the others run and are kept (the
    pickling is not timed)."""
    total = 0.0
    results = []
    for c in calls:
        key = _cache_key(c) if cache is not None else None
        t = time.perf_counter()
        if key is not None and key in cache:
            result = pickle.loads(cache[key])
            ms = (time.perf_counter() - t) * 1000
        else:
            result = engine(c)
            ms = (time.perf_counter() - t) * 1000
            if key is not None:
                cache[key] = pickle.dumps(result)
        results.append(result)
        total += ms
        if each is not None:
            each.append(ms)
    return total, results


def _peak_rss_mb() -> float:
    return serving.peak_rss_mb()


def measure(engine_name: str, store: Path, recorded: dict, units: list[str], runs: int,
            results_file: Path | None = None) -> dict:
    """Time every page's query set with one engine (run in a process of its own, for a clean peak
    RSS). Returns {"pages": {page: timings}, "peak_rss_mb", "load_ms"}; writes the results of the
    cold run and of the first warm run of each kind to ``results_file`` (pickle), for the
    comparison between engines."""
    from redservice import pandas_baseline
    from redservice.store import Store

    page_calls = {p: [Call.from_json(c) for c in v["calls"]] for p, v in recorded.items()}
    page_follows = {p: [c.get("follows", c["filters"] is not None) for c in v["calls"]] for p, v in recorded.items()}
    out: dict = {"pages": {}, "load_ms": None}
    kept: dict = {}
    if engine_name == "duckdb":
        warm_up = Store(DEMO_DIR)  # the process, not the data: imports and first-query set-up
        warm_up.query("data_range")
        warm_up.close()
    else:
        t0 = time.perf_counter()
        data = pandas_baseline.load(store)
        out["load_ms"] = (time.perf_counter() - t0) * 1000
    for page, calls in page_calls.items():
        if not calls:
            out["pages"][page] = {"queries": 0, "cold_ms": None, "warm": {}}
            continue
        if engine_name == "duckdb":
            t0 = time.perf_counter()
            db = Store(store)
            open_ms = (time.perf_counter() - t0) * 1000

            def engine(c, db=db):
                return db.query(c.name, c.filters, c.scope, **dict(c.extra))
        else:
            missing = sorted({c.name for c in calls if not pandas_baseline.supports(c.name, c.filters, dict(c.extra))})
            if missing:
                out["pages"][page] = {"queries": len(calls), "cold_ms": None, "warm": {}, "missing": missing}
                continue
            open_ms = out["load_ms"]

            def engine(c):
                return pandas_baseline.query(data, c.name, c.filters, c.scope, **dict(c.extra))
        cache: dict[str, bytes] = {}  # the app's cache of this page's results (st.cache_data)
        first_ms, results = _run_set(engine, calls, cache=cache)
        before = len(cache)  # every call run adds its result: the warm runs' own queries are the rest
        kept[page] = [([c.to_json() for c in calls], results)]
        warm = {}
        per_call: list[list[float]] = [[] for _ in calls]
        for kind in ("unit", "period"):
            warm[kind] = []
            for i, changed in enumerate(variants(calls, units, runs, kind, page_follows[page])):
                each: list[float] = []
                ms, results = _run_set(engine, changed, each, cache)
                for j, x in enumerate(each):
                    per_call[j].append(x)
                warm[kind].append(ms)
                if i == 0:  # compared between the engines too
                    kept[page].append(([c.to_json() for c in changed], results))
        out["pages"][page] = {"queries": len(calls), "cold_ms": open_ms + first_ms, "first_ms": first_ms,
                              "warm": warm, "warm_queries_run": len(cache) - before, "per_query_p50_ms": [
                                  [c.name, _round(_p50(x))] for c, x in zip(calls, per_call)]}
        if engine_name == "duckdb":
            db.close()
    out["peak_rss_mb"] = _peak_rss_mb()
    if results_file is not None:
        with open(results_file, "wb") as fh:
            pickle.dump(kept, fh)
    return out


def sample_units(store: Path, count: int) -> list[str]:
    """``count`` different units spread over the store (every county's units sort together)."""
    from redservice.store import Store

    db = Store(store)
    try:
        options = db.query("filter_options")
    finally:
        db.close()
    units = sorted(v for v in options.loc[options["dimension"] == "unit", "value"] if isinstance(v, str))
    if not units:
        return []
    step = max(1, len(units) // max(1, count))
    return [units[(i * step + step // 2) % len(units)] for i in range(count)]


# -- comparing the engines -----------------------------------------------------------------------

def compare_frames(a: pd.DataFrame, b: pd.DataFrame, name: str = "") -> str | None:
    """None when two results hold the same figures (numbers to 1e-9, NULL = NaN = None), else why not.
    filter_options rows are compared as a set (its SQL orders by dimension and value only)."""
    if list(a.columns) != list(b.columns):
        return f"{name}: columns {list(a.columns)} ≠ {list(b.columns)}"
    if len(a) != len(b):
        return f"{name}: {len(a)} rows ≠ {len(b)}"
    if name == "filter_options":
        a, b = (x.astype(object).where(x.notna(), None).map(lambda v: "" if v is None else str(v))
                .sort_values(list(x.columns), ignore_index=True) for x in (a, b))
    for col in a.columns:
        x, y = a[col].reset_index(drop=True), b[col].reset_index(drop=True)
        if _is_dates(x) or _is_dates(y):
            x, y = pd.to_datetime(x).astype("datetime64[ns]"), pd.to_datetime(y).astype("datetime64[ns]")
            same = (x == y) | (x.isna() & y.isna())
        elif pd.api.types.is_numeric_dtype(x) or pd.api.types.is_numeric_dtype(y):
            xf = pd.to_numeric(x, errors="coerce").astype("float64").to_numpy()
            yf = pd.to_numeric(y, errors="coerce").astype("float64").to_numpy()
            same = pd.Series(np.isclose(xf, yf, rtol=1e-9, atol=1e-9, equal_nan=True))
        else:
            xs, ys = x.astype(object).where(x.notna(), None), y.astype(object).where(y.notna(), None)
            same = pd.Series([p == q for p, q in zip(xs, ys)])
        if not bool(same.all()):
            i = int((~same).to_numpy().nonzero()[0][0])
            return f"{name}: row {i} column {col}: {x.iloc[i]!r} ≠ {y.iloc[i]!r}"
    return None


def _is_dates(series: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    sample = series.dropna()
    return len(sample) > 0 and isinstance(sample.iloc[0], dt.date)


# -- running it ------------------------------------------------------------------------------

def _p50(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _child(mode: str, spec: dict, workdir: Path) -> dict:
    """Run ``mode`` (generate / record / measure) in a fresh Python process; its output goes to stderr."""
    tag = f"{mode}-{spec.get('engine', 'app')}"
    spec_path, out_path = workdir / f"{tag}.spec.json", workdir / f"{tag}.out.json"
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    out_path.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "redservice.bench", mode, str(spec_path), str(out_path)],
                   cwd=PROJECT_DIR, check=True, stdout=sys.stderr)
    return json.loads(out_path.read_text(encoding="utf-8"))


def bench_size(rows: int, build_dir: Path = BUILD_DIR, runs: int = 7, log=None,
               only: list[str] | None = None, keep_copy: bool = False, baseline: bool = True) -> list[dict]:
    """Every page × engine at one size (``only``: the pages of these keys): a list of result rows.
    ``keep_copy``: use the store's serving copy as it is when it was built from these records
    (not rebuilt nor timed: at 10 M a build takes minutes); ``baseline``: False skips the pandas
    baseline (at 10 M it needs about 12 GB and most of the run's time)."""
    log = log or (lambda text: None)
    store = store_dir(rows, build_dir)
    work = store.parent.parent / "runs" / f"rows-{rows}"
    work.mkdir(parents=True, exist_ok=True)
    made = _child("generate", {"rows": rows, "store": str(store)}, work)
    stamp = made["stamp"]
    log(f"{rows:,} records: store ready ({stamp['counties']} counties, {made['seconds']:.0f} s, "
        f"peak RSS {made['peak_rss_mb']:.0f} MB)")
    if keep_copy and serving.is_fresh(store):
        built = {"seconds": None, "peak_rss_mb": None, "budget_mb": None}
        log(f"{rows:,} records: serving copy kept as built ({serving.path(store).stat().st_size / 2**20:.0f} MB)")
    else:
        built = build(store, work)
        log(f"{rows:,} records: serving copy built in {built['seconds']:.1f} s, peak RSS {built['peak_rss_mb']:.0f} MB "
            f"(DuckDB budget {built['budget_mb']} MB), {built['file_mb']:.0f} MB")
    units = sample_units(store, runs + 1)
    recorded = _child("record", {"store": str(store), "unit": units[-1] if units else None, "only": only,
                                 "python_runs": min(PYTHON_RUNS, runs)}, work)
    units = units[:runs]
    log(f"{rows:,} records: recorded {sum(len(v['calls']) for v in recorded.values())} queries on "
        f"{len(recorded)} pages")
    measured = {}
    for engine in ENGINES:
        if engine == "pandas" and (not baseline or not _pandas_fits(rows)):
            need, have = rows * PANDAS_BYTES_PER_RECORD / 2**30, _available_gb()
            why = f"needs ~{need:.0f} GB, {have:.0f} GB available" if baseline else "not asked for (--no-baseline)"
            log(f"{rows:,} records: pandas not run: {why}")
            measured[engine] = {"pages": {p: {"queries": len(v["calls"]), "cold_ms": None, "warm": {},
                                              "skipped": why} for p, v in recorded.items()},
                                "peak_rss_mb": 0.0, "load_ms": None, "results": {}}
            continue
        results = work / f"results-{engine}.pickle"
        measured[engine] = _child("measure", {"engine": engine, "store": str(store), "recorded": recorded,
                                              "units": units, "runs": runs, "results": str(results)}, work)
        with open(results, "rb") as fh:
            measured[engine]["results"] = pickle.load(fh)
        log(f"{rows:,} records: {engine} measured (peak RSS {measured[engine]['peak_rss_mb']:.0f} MB)")
    out = []
    for page, info in recorded.items():
        duck = measured["duckdb"]["pages"][page]
        for engine in ENGINES:
            m = measured[engine]["pages"][page]
            warm = m.get("warm", {})
            row = {"rows": rows, "counties": stamp["counties"], "page": info["key"], "file": page,
                   "engine": engine, "queries": m["queries"], "cold_ms": _round(m["cold_ms"]),
                   "warm_p50_ms": _round(_p50(warm.get("unit", []) + warm.get("period", []))),
                   "warm_unit_p50_ms": _round(_p50(warm.get("unit", []))),
                   "warm_period_p50_ms": _round(_p50(warm.get("period", []))),
                   "warm_unit_runs_ms": [_round(x) for x in warm.get("unit", [])],
                   "warm_period_runs_ms": [_round(x) for x in warm.get("period", [])],
                   "peak_rss_mb": round(measured[engine]["peak_rss_mb"], 1),
                   "per_query_p50_ms": m.get("per_query_p50_ms"), "warm_queries_run": m.get("warm_queries_run"),
                   "runs": runs, "error": info["error"],
                   "python_ms": _round(info.get("python_ms")) if engine == "duckdb" else None,
                   "build_s": built["seconds"], "build_peak_rss_mb": built["peak_rss_mb"],
                   "build_budget_mb": built["budget_mb"], "store_peak_rss_mb": round(made["peak_rss_mb"], 1)}
            if engine == "pandas":
                row["load_ms"] = _round(measured[engine]["load_ms"])
                row["baseline"] = m["cold_ms"] is not None
                if not row["baseline"]:
                    row["missing"] = m.get("missing", [])
                    if "skipped" in m:
                        row["skipped"] = m["skipped"]
                        row["peak_rss_mb"] = None
                    row["matches_duckdb"] = None
                else:
                    problems = []
                    for (run_calls, ours), (_same, theirs) in zip(measured["duckdb"]["results"][page],
                                                                  measured["pandas"]["results"][page]):
                        for c, a, b in zip(run_calls, ours, theirs):
                            problem = compare_frames(a, b, c["name"])
                            if problem:
                                problems.append(f"{problem} (filters {c['filters']})")
                    row["matches_duckdb"] = not problems
                    if problems:
                        row["differences"] = problems[:5]
                    duck_row = out[-1]
                    for key in ("cold_ms", "warm_p50_ms"):
                        if duck_row[key] and row[key]:
                            duck_row[f"speedup_{key.removesuffix('_ms')}"] = round(row[key] / duck_row[key], 1)
            elif duck["cold_ms"] is None:
                row["note"] = "the page made no query"
            out.append(row)
    return out


def build(store: Path, workdir: Path, memory_limit: str | None = None) -> dict:
    """Rebuild the store's serving copy in a fresh process (``python -m redservice build --json``):
    its seconds, peak RSS (MB, VmHWM of that process), DuckDB budget and file size."""
    cmd = [sys.executable, "-m", "redservice", "build", "--data", str(store), "--json"]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    out = subprocess.run(cmd, cwd=PROJECT_DIR, check=True, stdout=subprocess.PIPE, text=True).stdout
    (Path(workdir) / "build.out.json").write_text(out, encoding="utf-8")
    return json.loads(out)


def build_engines(store: Path, engines: list[str], runs: int = 1, spark_master: str | None = None,
                  spark_conf: list[str] | None = None, log=None) -> list[dict]:
    """The serving copy of ``store`` built by each engine (``build --engine E --json``, a fresh process
    per run, so that no run inherits another's caches or JVM): per engine the median seconds, every
    run's seconds and the peak memory (the process's; for Spark in local mode its JVM's too, which
    does the work). Spark's seconds include starting its session (reported apart)."""
    from redservice import serving, storage

    tables = storage.table_dir(store)
    rows = serving.record_rows(tables)
    records = sum(serving.record_rows_of(f) for f in storage.table_files(tables, "services"))
    out = []
    for engine in engines:
        cmd = [sys.executable, "-m", "redservice", "build", "--data", str(store), "--engine", engine, "--json"]
        if engine == "spark":
            cmd += ["--spark-master", spark_master] if spark_master else []
            for item in spark_conf or []:
                cmd += ["--spark-conf", item]
        results = []
        for i in range(runs):
            if log:
                log(f"build {engine} {i + 1}/{runs}: {store}")
            done = subprocess.run(cmd, cwd=PROJECT_DIR, check=True, stdout=subprocess.PIPE, text=True).stdout
            results.append(json.loads(done.strip().splitlines()[-1]))
        seconds = [r["seconds"] for r in results]
        out.append({"engine": engine, "store": str(store), "rows": rows, "records": records, "runs": seconds,
                    "median_s": _p50(seconds), "session_s": _p50([r.get("session_seconds") or 0 for r in results]),
                    "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
                    "jvm_peak_rss_mb": max((r.get("jvm_peak_rss_mb") or 0 for r in results), default=0) or None,
                    "master": results[-1].get("master")})
        written = _local_path(results[-1].get("out"))
        if engine == "spark" and written is not None:
            # the tables kept per county: counties, files, rows per county, size, and the seconds of
            # the step that wrote them (median of the runs)
            parts = serving.partition_stats(written)
            for table, stats in parts.items():
                stats["seconds"] = _p50([r["table_seconds"][table] for r in results
                                         if table in (r.get("table_seconds") or {})])
            out[-1]["partitions"] = parts
    if {"duckdb", "spark"} <= set(engines):  # the two copies just built, table by table
        compared = serving.compare_parquet_build(storage.table_dir(store))
        for row in out:
            row["identical"] = serving.identical(compared)
            row["tables_compared"] = len(compared)
            row["differing_tables"] = [c["table"] for c in compared if not serving.identical([c])]
    return out


# One build of the serving copy, timed in the process that does it, by whichever version of the code
# the process imports: it runs in that version's checkout (``python -c`` puts the working directory
# first on the path), so any revision with ``serving.refresh(directory)`` runs it, those from before
# ``build`` existed included. Seconds, CPU seconds and the process's peak memory (VmHWM).
_BUILD_DRIVER = """
import json, resource, sys, time
from redservice import serving
start = time.perf_counter()
serving.refresh(sys.argv[1])
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
with open("/proc/self/status", encoding="ascii") as fh:
    peak = next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_mb": peak}))
"""


def build_against(store: Path, revision: str, runs: int = 1, log=None) -> dict:
    """The serving copy of ``store`` built from nothing by this checkout and by ``revision`` (a git
    worktree of it, made for the run and removed after), alternately, a fresh process per build: the
    revision, then this checkout, ``runs`` times, so that each pair meets the machine in the same
    state. Per version every run's seconds, CPU seconds and peak memory, with their medians; each
    pair's ratio (this ÷ revision) and their median. The store is left with this checkout's copy, also when
    a build fails. ValueError: ``revision`` is not a commit of this repository."""
    import contextlib
    import shutil
    import tempfile

    from redservice import storage

    tables = storage.table_dir(store)
    copy = serving.path(tables)
    work = Path(tempfile.mkdtemp(prefix="redservice-against-"))
    tree = work / "tree"
    git = ["git", "-C", str(PROJECT_DIR)]
    try:
        # the revision as a commit first (never read as an option of git worktree, whatever it says)
        found = subprocess.run(git + ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if found.returncode != 0:
            raise ValueError(revision)
        full = found.stdout.strip()
        subprocess.run(git + ["worktree", "add", "--detach", "--quiet", str(tree), full], check=True)
        commit = full[:7]
        sides = {"revision": tree, "this": PROJECT_DIR}
        results: dict[str, list[dict]] = {side: [] for side in sides}
        for i in range(runs):
            for side, checkout in sides.items():
                for stale in (copy, copy.with_name(copy.name + ".wal")):
                    stale.unlink(missing_ok=True)  # each build from nothing, never refreshed in place
                if log:
                    log(f"build {side if side == 'this' else revision} {i + 1}/{runs}: {store}")
                done = subprocess.run([sys.executable, "-c", _BUILD_DRIVER, str(tables)], cwd=checkout,
                                      check=True, stdout=subprocess.PIPE, text=True).stdout
                results[side].append(json.loads(done.strip().splitlines()[-1]))
    except BaseException:
        if not copy.exists():  # a build failed (or was stopped) after the copy was removed: this checkout's again
            subprocess.run([sys.executable, "-c", _BUILD_DRIVER, str(tables)], cwd=PROJECT_DIR, check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        raise
    finally:
        with contextlib.suppress(OSError):  # no git: nothing was checked out
            subprocess.run(git + ["worktree", "remove", "--force", str(tree)], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)

    def summary(rows: list[dict]) -> dict:
        return {"runs": [round(r["seconds"], 1) for r in rows], "median_s": _p50([r["seconds"] for r in rows]),
                "cpu_runs": [round(r["cpu_seconds"], 1) for r in rows],
                "median_cpu_s": _p50([r["cpu_seconds"] for r in rows]),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in rows)}

    ratios = [t["seconds"] / r["seconds"] for r, t in zip(results["revision"], results["this"])]
    records = sum(serving.record_rows_of(f) for f in storage.table_files(tables, "services"))
    return {"store": str(store), "records": records,
            "revision": revision, "commit": commit, "against": summary(results["revision"]),
            "this": summary(results["this"]), "ratios": [round(x, 3) for x in ratios], "median_ratio": _p50(ratios)}


def _local_path(location: str | None) -> Path | None:
    """A local path or file:// URL as a path; None for other URLs (hdfs://, s3a://) and None."""
    if not location:
        return None
    if location.startswith("file:"):
        from urllib.parse import unquote, urlsplit

        return Path(unquote(urlsplit(location).path))
    return None if "://" in location else Path(location)


# Peak memory of the pandas baseline per service record (measured: 1.1 GB at 1 M records, the
# households join included), with room to spare; it is not run where it would not fit.
PANDAS_BYTES_PER_RECORD = 1300


def _available_gb() -> float:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("inf")


def _pandas_fits(rows: int) -> bool:
    """Whether the baseline's data fit in memory with a quarter to spare (others use the machine)."""
    return rows * PANDAS_BYTES_PER_RECORD / 2**30 * 1.25 < _available_gb()


def _round(value):
    return None if value is None else round(value, 1)


def run(sizes: list[int], build_dir: Path = BUILD_DIR, runs: int = 7, log=None,
        only: list[str] | None = None, keep_copy: bool = False, baseline: bool = True) -> list[dict]:
    rows = []
    for size in sizes:
        rows.extend(bench_size(size, build_dir, runs, log, only, keep_copy, baseline))
    results = Path(build_dir) / "results.json"
    results.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return rows


def table(rows: list[dict]) -> str:
    """The results as a plain-text table."""
    head = ["records", "page", "engine", "queries", "cold ms", "warm p50 ms", "(unit / period)", "peak RSS MB",
            "× faster", "same figures", "page Python ms"]
    lines = []
    for r in rows:
        if r["engine"] == "pandas" and not r.get("baseline"):
            why = ("not run (memory)" if "GB" in r["skipped"] else "not run") if r.get("skipped") else "no baseline"
            lines.append([f"{r['rows']:,}", r["page"], "pandas", "—", why, "", "", "", "", "", ""])
            continue
        split = "" if r["warm_unit_p50_ms"] is None else f"{r['warm_unit_p50_ms']:.0f} / {r['warm_period_p50_ms']:.0f}"
        speed = r.get("speedup_warm_p50")
        same = {True: "yes", False: "NO", None: ""}[r.get("matches_duckdb")]
        lines.append([f"{r['rows']:,}", r["page"], r["engine"], str(r["queries"]), _fmt(r["cold_ms"]),
                      _fmt(r["warm_p50_ms"]), split, f"{r['peak_rss_mb']:.0f}", (f"{speed:.0f}×" if speed >= 10 else f"{speed:.1f}×") if speed else "",
                      same, _fmt(r.get("python_ms")) if r.get("python_ms") is not None else ""])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    fmt_line = lambda cells: "  ".join(str(c).rjust(w) if i not in (1, 2) else str(c).ljust(w)
                                       for i, (c, w) in enumerate(zip(cells, widths)))
    builds = {r["rows"]: r for r in rows if r.get("build_s") is not None}
    notes = [f"{n:,} records: serving copy built in {r['build_s']:.1f} s, peak RSS {r['build_peak_rss_mb']:.0f} MB "
             f"(store records written with peak RSS {r['store_peak_rss_mb']:.0f} MB)" for n, r in builds.items()]
    notes += [f"{n:,} records: 数据质量 ÷ 总览 (warm p50, DuckDB): {q:,.0f} / {o:,.0f} ms = {q / o:.2f}×"
              for n, q, o in quality_ratios(rows)]
    notes += [f"{big:,} ÷ {small:,} records, {page} (warm p50, DuckDB): {_ratio(both)} "
              f"(another unit {_ratio(unit)} / another period {_ratio(period)})"
              for small, big, page, both, unit, period in scaling(rows)]
    return "\n".join([fmt_line(head), fmt_line(["-" * w for w in widths])] + [fmt_line(x) for x in lines]
                     + ([""] + notes if notes else []))


def quality_ratios(rows: list[dict]) -> list[tuple[int, float, float]]:
    """(records, 数据质量's warm p50, 总览's) per size measured with both (issue 20's target: the
    quality page's queries at 10 M within 3× the overview's)."""
    warm = {(r["rows"], r["page"]): r["warm_p50_ms"] for r in rows if r["engine"] == "duckdb"}
    return [(n, warm[(n, "quality")], warm[(n, "overview")]) for n in sorted({r["rows"] for r in rows})
            if warm.get((n, "quality")) and warm.get((n, "overview"))]


def scaling(rows: list[dict]) -> list[tuple]:
    """(smaller size, larger size, page, ratio of the warm p50s, of the another-unit runs' p50s, of the
    another-period runs') of each page measured at the smallest and the largest size (issue 22's
    target: ≤ 4× from 1 M to 10 M). The warm p50 is the median of both kinds of run together, which
    falls between a page's fast and slow kind and so swings with a few ms of either; the ratio of each
    kind apart does not. A page whose warm runs run no query (every call answered from the cache:
    数据管理 shows no period) has no ratio (None)."""
    duck = {(r["rows"], r["page"]): r for r in rows if r["engine"] == "duckdb"}
    sizes = sorted({n for n, _p in duck})
    if len(sizes) < 2:
        return []
    small, big = sizes[0], sizes[-1]
    out = []
    for page in dict.fromkeys(p for n, p in duck if n == small):
        a, b = duck[(small, page)], duck.get((big, page))
        if b is None:
            continue
        if a.get("warm_queries_run") == 0 and b.get("warm_queries_run") == 0:
            out.append((small, big, page, None, None, None))
            continue
        ratio = lambda key: round(b[key] / a[key], 2) if a.get(key) and b.get(key) is not None else None
        out.append((small, big, page, ratio("warm_p50_ms"), ratio("warm_unit_p50_ms"), ratio("warm_period_p50_ms")))
    return out


def _ratio(value) -> str:
    return "—" if value is None else f"{value:.1f}×"


def _fmt(value) -> str:
    return "—" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _worker(argv: list[str]) -> int:
    mode, spec_path, out_path = argv
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    if mode == "generate":
        t0 = time.perf_counter()
        stamp = generate(spec["rows"], Path(spec["store"]), serve=False)
        result = {"stamp": stamp, "seconds": time.perf_counter() - t0, "peak_rss_mb": _peak_rss_mb()}
    elif mode == "record":
        result = record(Path(spec["store"]), spec.get("unit"), spec.get("only"),
                        spec.get("python_runs", PYTHON_RUNS))
    elif mode == "measure":
        result = measure(spec["engine"], Path(spec["store"]), spec["recorded"], spec["units"], spec["runs"],
                         Path(spec["results"]))
    else:
        raise SystemExit(f"unknown mode {mode}")
    Path(out_path).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1:]))
