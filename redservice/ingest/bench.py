"""Timing the importer: ``python -m redservice.ingest.bench [--rows 100000]``.

Writes a synthetic 服务台账 of N rows (the demo county's members, dates after the demo's last day,
one to three household codes per row) as UTF-8 CSV and as .xlsx, imports each into a fresh copy of
the demo store, and prints wall time, rows and peak memory. The figures are in docs/import.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from redservice import ingest
from redservice.config import DEMO_DIR

HEADER = ["记录编号", "服务日期", "姓名", "所属单位", "服务社区", "服务类别", "活动形式", "服务时长（小时）", "服务户号",
          "服务人次", "服务内容"]


def ledger_rows(n: int, seed: int = 1) -> list[list[str]]:
    members = pq.read_table(DEMO_DIR / "members.parquet").to_pylist()
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        m = rng.choice(members)
        day = dt.date(2025, 4, 1) + dt.timedelta(days=rng.randrange(200))
        codes = "、".join(f"{rng.randrange(1, 30)}-{rng.randrange(1, 6)}-{rng.randrange(101, 1802)}"
                         for _ in range(rng.randrange(1, 4)))
        rows.append([f"B{i:07d}", day.strftime("%Y/%m/%d") if i % 2 else day.isoformat(), m["name"], m["unit"],
                     m["community"], rng.choice(["送政策", "送热饭", "义诊", "义剪", "政策宣讲"]), "日常服务",
                     f"{rng.choice([1, 1.5, 2, 2.5, 3])}小时", codes, str(rng.randrange(1, 6)), "入户走访"])
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="redservice-bench-"))
    try:
        rows = ledger_rows(args.rows)
        csv_path = work / "服务台账.csv"
        with open(csv_path, "w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows([HEADER, *rows])
        import xlsxwriter

        xlsx_path = work / "服务台账.xlsx"
        book = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True})
        sheet = book.add_worksheet()
        for i, row in enumerate([HEADER, *rows]):
            sheet.write_row(i, 0, row)
        book.close()
        for path in (csv_path, xlsx_path):
            store = work / f"store-{path.suffix[1:]}"
            shutil.copytree(DEMO_DIR, store)
            started = time.perf_counter()
            batch, _ = ingest.run(store, [ingest.Source.from_path(path)])
            seconds = time.perf_counter() - started
            r = batch.reports[0]
            print(f"{path.suffix[1:]}: {r.rows_read} rows read, {r.loaded} loaded in {seconds:.1f} s "
                  f"({path.stat().st_size / 1e6:.1f} MB file)")
        print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
