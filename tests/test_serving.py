"""The serving copy never changes an answer: every query every page makes, with the filters the
viewer can change (another unit, another period), gives the same figures from the serving file,
from the copy built in memory and from views over the raw Parquet records."""

import shutil

import pytest

from conftest import SMALL, write_store
from redservice import bench, serving
from redservice.config import DEMO_DIR
from redservice.store import Store


def _compare_every_page(directory, unit, monkeypatch):
    monkeypatch.setenv("REDSERVICE_DATA", str(directory))
    serving.refresh(directory)
    stores = {k: Store(directory, source) for k, source in (("file", "auto"), ("memory", "memory"), ("raw", "raw"))}
    assert [s.mode for s in stores.values()] == ["file", "memory", "raw"]
    recorded = bench.record(directory, unit)
    units = bench.sample_units(directory, 3)
    compared = 0
    for page, found in recorded.items():
        assert found["error"] is None, (page, found["error"])
        calls = [bench.Call.from_json(c) for c in found["calls"]]
        follows = [c["follows"] for c in found["calls"]]
        sets = [calls] + bench.variants(calls, units, 2, "unit", follows) + bench.variants(calls, units, 2, "period", follows)
        for calls in sets:
            for c in calls:
                results = {k: s.query(c.name, c.filters, c.scope, **dict(c.extra)) for k, s in stores.items()}
                for k in ("memory", "raw"):
                    assert bench.compare_frames(results["file"], results[k], c.name) is None, (page, k, c)
                compared += 1
    return compared


def test_every_page_query_is_the_same_on_the_demo(tmp_path, monkeypatch):
    directory = shutil.copytree(DEMO_DIR, tmp_path / "demo")
    assert _compare_every_page(directory, "县住建局", monkeypatch) > 200


def test_every_page_query_is_the_same_on_the_small_fixture(tmp_path, monkeypatch):
    # SMALL has services of members not on the roster, records without households or activity
    directory = write_store(tmp_path / "small", **SMALL)
    assert _compare_every_page(directory, "U1", monkeypatch) > 100


def test_ids_are_dense_and_shared(tmp_path):
    directory = write_store(tmp_path / "small", **SMALL)
    serving.refresh(directory)
    store = Store(directory)
    cur = store.con.cursor()
    mids = cur.execute("SELECT member_id, mid FROM member_ids ORDER BY mid").fetchall()
    assert [m for _, m in mids] == list(range(1, len(mids) + 1))
    # a member's id is the same in every table
    assert cur.execute("SELECT COUNT(*) FROM services s JOIN members m ON m.member_id = s.member_id "
                       "WHERE s.mid <> m.mid").fetchone()[0] == 0
    hids = cur.execute("SELECT DISTINCT household FROM household_facts ORDER BY 1").fetchall()
    assert [h for (h,) in hids] == list(range(1, len(hids) + 1))
    assert store.stats == {"household_max": len(hids), "member_max": len(mids)}
    dates = cur.execute("SELECT date FROM services").fetchall()
    assert dates == sorted(dates)


@pytest.mark.parametrize("damage", ["missing", "other records"])
def test_freshness_is_by_content(tmp_path, damage):
    a = write_store(tmp_path / "a", **SMALL)
    serving.refresh(a)
    assert serving.is_fresh(a)
    if damage == "missing":
        (a / "members.parquet").unlink()
    else:
        write_store(a, **{**SMALL, "services": SMALL["services"][:1]})
    assert not serving.is_fresh(a)
