"""Every query on a small store built in code, against answers checked by hand."""

import math

import pytest

from conftest import D, Q1_2025
from redservice import approval, assess, metrics, quality
from redservice.config import settings
from redservice.scorecard import points_rules
from redservice.filters import Filters, Scope
from redservice.store import QUERY_DIR, QueryError, Store, compose, query_names, query_text

UNITS_POINTS = points_rules(settings())


def f(**dims):
    return Filters.make(*Q1_2025, **dims)


def kpis(store, **dims):
    return metrics.kpis(store, f(**dims))


def test_kpis_whole_selection(small_store):
    cur = kpis(small_store)["current"]
    assert cur["members"] == 4  # m4 reports after the period ends
    assert cur["branches"] == 3
    assert cur["communities"] == 2
    assert cur["hours"] == pytest.approx(8.5)  # s5 before, s6 after the period: inclusive ends only
    assert cur["persons_served"] == 14
    assert cur["households"] == 4  # h1..h4 distinct; the per-record sum would be 6
    assert cur["activities"] == 2 and cur["activity_persons"] == 11
    assert cur["wishes_claimed"] == 2  # w1, w3 (w2 was claimed in December)
    assert cur["wishes_completed"] == 2  # w1, w2 (completed in the period); w3 claimed ≠ completed
    assert cur["participation_rate"] == pytest.approx(3 / 4)


def test_date_range_is_inclusive_at_both_ends(small_store):
    one_day = Filters.make(D(2025, 3, 31), D(2025, 3, 31))
    cur = metrics.kpis(small_store, one_day)["current"]
    assert cur["hours"] == pytest.approx(3.0)
    first_day = Filters.make(D(2025, 1, 1), D(2025, 1, 1))
    assert metrics.kpis(small_store, first_day)["current"]["hours"] == pytest.approx(2.0)


def test_previous_period_is_the_quarter_before(small_store):
    prev = kpis(small_store)["previous"]
    assert f().previous().start == D(2024, 10, 1) and f().previous().end == D(2024, 12, 31)
    assert prev["members"] == 2  # m2, m5
    assert prev["hours"] == pytest.approx(4.0)
    assert prev["households"] == 2
    assert prev["wishes_claimed"] == 1 and prev["wishes_completed"] == 0
    assert prev["participation_rate"] == pytest.approx(1 / 2)


def test_unit_filter(small_store):
    cur = kpis(small_store, units=["U1"])["current"]
    assert (cur["members"], cur["branches"], cur["communities"]) == (3, 2, 2)
    assert cur["hours"] == pytest.approx(6.5)
    assert cur["households"] == 4
    assert cur["wishes_claimed"] == 1 and cur["wishes_completed"] == 2
    assert cur["participation_rate"] == pytest.approx(2 / 3)


def test_distinct_households_are_not_additive_across_units(small_store):
    per_unit = sum(kpis(small_store, units=[u])["current"]["households"] for u in ("U1", "U2"))
    together = kpis(small_store, units=["U1", "U2"])["current"]["households"]
    assert per_unit == 5 and together == 4


def test_unit_without_records_gives_zeros_and_dashes(small_store):
    result = kpis(small_store, units=["U3"])
    cur = result["current"]
    assert cur["members"] == 0 and cur["hours"] == 0 and cur["households"] == 0
    assert cur["participation_rate"] is None
    cards = {c.key: c for c in metrics.cards(result, "zh")}
    assert cards["participation_rate"].value == "—"
    assert cards["hours"].value == "0小时"
    assert cards["hours"].delta is None  # no change can be computed from 0 to 0


def test_category_and_form_filters(small_store):
    cur = kpis(small_store, categories=["义诊"])["current"]
    assert cur["hours"] == pytest.approx(5.0) and cur["households"] == 3
    cur = kpis(small_store, forms=["六送三请"])["current"]
    assert cur["hours"] == pytest.approx(1.5) and cur["activities"] == 1


def test_community_summary_coverage(small_store):
    df = small_store.query("community_summary", f()).set_index("community")
    assert df.loc["A社区", "households_reached"] == 3
    assert df.loc["A社区", "coverage"] == pytest.approx(0.03)
    assert df.loc["B社区", "coverage"] == pytest.approx(0.02)
    assert math.isnan(df.loc["C社区", "coverage"])  # no 总户数: undefined, never 0
    assert df.loc["C社区", "hours"] == 0


def test_unit_summary(small_store):
    df = small_store.query("unit_summary", f()).set_index("unit")
    assert df.loc["U1", "hours"] == pytest.approx(6.5)
    assert df.loc["U1", "active_members"] == 2
    assert df.loc["U2", "members"] == 1  # m4 reports in April
    assert "U3" not in df.index


def test_monthly_trend(small_store):
    df = small_store.query("monthly_trend", Filters.make(D(2024, 12, 1), D(2025, 3, 31)))
    assert [str(m)[:7] for m in df["month"]] == ["2024-12", "2025-01", "2025-02", "2025-03"]
    assert list(df["hours"]) == [4.0, 2.0, 3.5, 3.0]


def test_scope_limits_every_query(small_store):
    scope = Scope(units=("U2",))
    cur = metrics.kpis(small_store, f(units=["U1"]), scope)["current"]
    assert cur["members"] == 0 and cur["hours"] == 0  # a filter cannot widen the scope
    cur = metrics.kpis(small_store, f(), scope)["current"]
    assert cur["members"] == 1 and cur["hours"] == pytest.approx(2.0)


def test_filter_values_are_bound_not_formatted(small_store):
    evil = "U1' OR '1'='1"
    cur = kpis(small_store, units=[evil])["current"]
    assert cur["members"] == 0 and cur["hours"] == 0


def test_every_query_has_a_header_and_reads_only_filtered_personal_tables():
    # the records and everything the serving copy derives from them (redservice.serving)
    personal = ("members", "services", "service_households", "wishes", "household_facts", "member_ids",
                "household_ids", "dim_scoped", "dim_values")
    # community_ids (names and ids of communities) is a dimension table like communities
    for name in query_names():
        path_text = (QUERY_DIR / f"{name}.sql").read_text(encoding="utf-8")
        assert path_text.startswith("--"), f"{name}.sql needs a header comment"
        body = query_text(name).lower()
        for table in personal:
            assert f"from {table}" not in body and f"join {table}" not in body, (name, table)
        compose(name)  # composes with the base CTEs


def test_every_query_runs_on_an_empty_store(tmp_path):
    store = Store(tmp_path)
    extra = {"trend_start": D(2025, 1, 1), "community": None, "red_form": "红色服务日", "satisfied_min": 4}
    extra.update(drill_unit=None, drill_branch="", **UNITS_POINTS.query("unit"))  # the units page
    extra.update(quality.params({}), q_group="unit")  # the 数据质量 rules
    extra.update(assess.params({}, 2025, D(2025, 3, 31)), group="unit", member_id="x")  # 年度考核
    extra.update(approval.params({}, D(2025, 3, 31)))  # 待审核
    for name in query_names():
        store.query(name, f(), **extra)


def test_unknown_query_and_missing_parameter(small_store):
    with pytest.raises(QueryError):
        small_store.query("no_such_query", f())
    with pytest.raises(QueryError):
        small_store.query("../dashboard", f())
    with pytest.raises(QueryError):
        small_store.query("kpis")  # no dates given


def test_monthly_trend_chart_draws_every_month_with_short_labels_and_round_ticks():
    import pandas as pd

    from redservice import charts

    df = pd.DataFrame({"month": [D(2024, 4, 1), D(2024, 6, 1), D(2025, 1, 1)], "hours": [1430.5, 2140.0, 10.0],
                       "persons": [17800, 100, 3], "records": [3, 4, 5]})
    filled = charts.fill_months(df, D(2024, 3, 15), D(2025, 3, 31))
    assert len(filled) == 13 and filled.iloc[0]["hours"] == 0 and filled.iloc[2]["persons"] == 0
    fig = charts.monthly_trend(filled, "zh", D(2025, 1, 1), D(2025, 3, 31))
    assert len(fig.data[0].x) == 13  # a month without records is a bar at 0, not a gap
    # a date axis Plotly thins when narrow, one label a month (4月), the year under the first month
    # and each January
    assert fig.layout.xaxis.type == "date" and fig.layout.xaxis.tickformat == "%-m月"
    assert [a.text for a in fig.layout.annotations] == ["2024年", "2025年"]
    for axis in (fig.layout.yaxis, fig.layout.yaxis2):
        steps = [b - a for a, b in zip(axis.tickvals, axis.tickvals[1:])]
        assert len(set(steps)) == 1 and str(steps[0]).rstrip("0").rstrip(".")[0] in "125"
    assert len(fig.layout.yaxis.tickvals) == len(fig.layout.yaxis2.tickvals)  # shared grid lines
    assert fig.layout.yaxis2.ticktext[-1].endswith("万")
