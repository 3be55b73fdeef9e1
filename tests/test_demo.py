"""The demo county: deterministic, committed as generated, and true to the seed article."""

import datetime as dt
import filecmp
import json

import pytest

from redservice import demo, metrics
from redservice.config import DEMO_DIR
from redservice.filters import Filters

D = dt.date


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    return demo.write(tmp_path_factory.mktemp("demo"))


def test_generation_is_byte_identical_to_the_committed_demo(regenerated):
    committed = sorted(p.name for p in DEMO_DIR.iterdir() if p.is_file())
    assert committed == sorted(p.name for p in regenerated.iterdir())
    match, mismatch, errors = filecmp.cmpfiles(DEMO_DIR, regenerated, committed, shallow=False)
    assert not mismatch and not errors, f"regenerate with `python -m redservice demo`: {mismatch}"


def test_demo_reproduces_the_seed_figures(demo_store):
    cur = metrics.kpis(demo_store, metrics.default_filters(demo_store))["current"]
    assert metrics.default_filters(demo_store).start == D(2025, 1, 1)
    assert cur["branches"] == 145
    assert 2000 <= cur["members"] <= 2099
    assert cur["communities"] == 12
    assert 10000 <= cur["hours"] <= 10999
    assert cur["households"] == 7742
    assert 14000 <= cur["persons_served"] <= 15499
    assert 200 <= cur["wishes_claimed"] <= 299
    assert 120 <= cur["wishes_completed"] <= 129
    assert 60 <= cur["activities"] <= 69
    assert 11000 <= cur["activity_persons"] <= 11999


def test_2024_is_visibly_lower(demo_store):
    q1_24 = metrics.kpis(demo_store, Filters.make(D(2024, 1, 1), D(2024, 3, 31)))["current"]
    q1_25 = metrics.kpis(demo_store, Filters.make(D(2025, 1, 1), D(2025, 3, 31)))["current"]
    for key in ("hours", "persons_served", "households", "members", "wishes_claimed"):
        assert q1_24[key] < 0.9 * q1_25[key], key


def test_demo_covers_every_category_form_and_named_place(demo_store):
    options = demo_store.query("filter_options")
    cats = set(options.loc[options.dimension == "category", "value"])
    assert set(demo.LIUSONG + demo.SANQING) <= cats and {"义诊", "义剪", "政策宣讲", "矛盾调解"} <= cats
    assert set(options.loc[options.dimension == "form", "value"]) == {"红色服务日", "微心愿", "六送三请", "日常服务"}
    communities = set(options.loc[options.dimension == "community", "value"])
    assert {"北城社区", "河阳社区", "西城社区", "新夏社区", "南城社区", "东城社区"} <= communities
    units = set(options.loc[options.dimension == "unit", "value"])
    assert {u for u, *_ in demo.NAMED_UNITS} <= units
    compounds = set(demo_store.con.cursor().execute("SELECT compound FROM compounds").df()["compound"])
    assert {"种子公司家属区", "虞国壹号小区"} <= compounds and 38 <= len(compounds) <= 42


def test_red_service_day_is_the_first_working_day_after_party_day():
    days = demo.red_service_days(D(2025, 1, 1), D(2025, 3, 31))
    # the month's last working day: 26 January is a make-up working day before the Spring Festival
    assert days == [D(2025, 1, 27), D(2025, 2, 28), D(2025, 3, 31)]


def test_household_codes_are_stored_hashed_only():
    import pyarrow.parquet as pq

    sample = pq.read_table(DEMO_DIR / "service_households.parquet").to_pandas().head(50)
    assert all(len(h) == 20 and all(c in "0123456789abcdef" for c in h) for h in sample["household"])


def _inside(x, y, ring):
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def test_boundaries_are_marked_synthetic_and_do_not_overlap():
    geo = json.loads((DEMO_DIR / "boundaries.geojson").read_text(encoding="utf-8"))
    assert "合成" in geo["note"] and len(geo["features"]) == 12
    rings = [f["geometry"]["coordinates"][0] for f in geo["features"]]
    xs = [p[0] for r in rings for p in r]
    ys = [p[1] for r in rings for p in r]
    assert 111.15 < min(xs) and max(xs) < 111.30 and 34.80 < min(ys) and max(ys) < 34.88
    steps = 120
    covered = 0
    for i in range(steps):
        for j in range(steps):
            x = min(xs) + (max(xs) - min(xs)) * (i + 0.5) / steps
            y = min(ys) + (max(ys) - min(ys)) * (j + 0.5) / steps
            hits = sum(_inside(x, y, r) for r in rings)
            assert hits <= 1, (x, y)
            covered += hits
    assert covered > 0.8 * steps * steps  # a contiguous town, not scattered shapes
