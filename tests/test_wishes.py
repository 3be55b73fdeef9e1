"""微心愿: the pipeline 提出 → 认领 → 办结, median durations, open and overdue wishes, categories and
双评价 on a small county built in code with answers checked by hand; then the page in AppTest.
The period is 2025-01-01..2025-03-31; overdue limits: 7 days to claim, 30 days from claim to complete."""

import io
import json

import openpyxl
import pandas as pd
import pytest

from conftest import D, run_app, write_store
from redservice import charts, wishes
from redservice.config import settings as load_settings
from redservice.filters import Filters
from redservice.store import Store

Q1 = Filters.make(D(2025, 1, 1), D(2025, 3, 31))


def _w(wid, community, posted, category=None, unit=None, claimer=None, claimed=None, completed=None,
       satisfaction=None, content="修水管"):
    return {"wish_id": wid, "community": community, "content": content, "category": category,
            "posted_on": posted, "claim_unit": unit, "claimer": claimer, "claimed_on": claimed,
            "completed_on": completed, "satisfaction": satisfaction}


WISHES = [
    _w("w1", "A社区", D(2025, 1, 2), "生活帮扶", "U1", "张三明", D(2025, 1, 5), D(2025, 2, 1), 5.0),
    _w("w2", "B社区", D(2024, 12, 18), "生活帮扶", "U1", "李四", D(2024, 12, 20), D(2025, 1, 10), 4.0),
    _w("w3", "A社区", D(2025, 2, 27), "生活帮扶", "U2", "王五", D(2025, 3, 1)),  # claimed 30 days: on time
    _w("w4", "B社区", D(2025, 3, 20), "医疗健康"),  # unclaimed 11 days: overdue by 4
    _w("w5", "A社区", D(2025, 3, 28), "医疗健康"),  # unclaimed 3 days: on time
    _w("w6", "A社区", D(2025, 1, 15), "生活帮扶", "U2", "欧阳娜娜", D(2025, 1, 25)),  # 65 days: overdue by 35
    _w("w7", "B社区", D(2025, 3, 10), "教育助学", "U1", "赵六", D(2025, 4, 2), D(2025, 4, 20)),  # claimed after
    _w("w8", "A社区", D(2025, 2, 1), "医疗健康", "U1", None, None, D(2025, 3, 15), 2.0),  # no claim date
    _w("w9", "B社区", D(2025, 3, 5), None, "U2", "钱七", D(2025, 3, 6), D(2025, 3, 30), None,
       content="<b>请帮忙</b> **修灯**"),
]
COUNTY = {
    "communities": [{"community": "A社区", "households": 100}, {"community": "B社区", "households": 80}],
    "units": [{"unit": "U1"}, {"unit": "U2"}],
    "members": [{"member_id": "m1", "name": "张三明", "unit": "U1", "branch": "U1支部", "community": "A社区",
                 "reported_on": D(2025, 1, 1)}],
    # one service record dates the data (periods are relative to the data's last date)
    "services": [{"record_id": "s1", "date": D(2025, 3, 31), "member_id": "m1", "name": "张三明", "unit": "U1",
                  "branch": "U1支部", "community": "A社区", "category": "送政策", "form": "日常服务",
                  "hours": 1.0, "persons": 1}],
    "wishes": WISHES,
}


@pytest.fixture
def store(tmp_path):
    s = Store(write_store(tmp_path / "county", **COUNTY))
    yield s
    s.close()


@pytest.fixture(scope="module")
def settings():
    return load_settings()


def open_wishes(store, settings, filters=Q1, show_names=True):
    return wishes.open_wishes(store.query("wish_open", filters), settings, show_names)


def test_funnel_counts_and_conversion(store):
    pipe = wishes.pipeline(store.query("wish_pipeline", Q1).iloc[0])
    # posted in Q1: w1 w3 w4 w5 w6 w7 w8 w9 (w2 was posted in December)
    # claimed by 31 March: w1 w3 w6 w9, and w8 (completed without a claim date); w7's claim is in April
    # completed by 31 March: w1 w8 w9
    assert (pipe["posted"], pipe["claimed"], pipe["completed"]) == (8, 5, 3)
    assert pipe["claim_rate"] == pytest.approx(5 / 8)
    assert pipe["completion_rate"] == pytest.approx(3 / 5)
    assert pipe["overall_rate"] == pytest.approx(3 / 8)
    fig = charts.funnel(["提出", "认领", "办结"], [8, 5, 3], "zh", "漏斗")
    assert fig.data[0].type == "funnel" and list(fig.data[0].x) == [8, 5, 3]
    assert "占提出62.5%" in fig.data[0].text[1]


def test_funnel_of_an_empty_period(store):
    pipe = wishes.pipeline(store.query("wish_pipeline", Filters.make(D(2023, 1, 1), D(2023, 3, 31))).iloc[0])
    assert pipe["posted"] == 0 and pipe["claim_rate"] is None and pipe["overall_rate"] is None


def test_median_durations(store):
    dur = wishes.durations(store.query("wish_durations", Q1).iloc[0])
    # claimed in Q1: w1 3, w3 2, w6 10, w9 1 days → median 2.5 (w2 claimed in December, w7 in April)
    assert dur["claimed"] == 4 and dur["median_days_to_claim"] == pytest.approx(2.5)
    # completed in Q1 with a claim date: w1 27, w2 21, w9 24 → 24 (w8 has no claim date)
    assert dur["completed"] == 3 and dur["median_days_to_complete"] == pytest.approx(24)
    none = wishes.durations(store.query("wish_durations", Filters.make(D(2023, 1, 1), D(2023, 3, 31))).iloc[0])
    assert none["median_days_to_claim"] is None and none["claimed"] == 0


def test_open_wishes_age_and_overdue_flags(store, settings):
    df = open_wishes(store, settings).set_index("wish_id")
    assert list(df.index) == ["w6", "w7", "w4", "w3", "w5"]  # overdue first, then the oldest
    assert df.loc["w6", "age_days"] == 75 and df.loc["w6", "claimed_days"] == 65
    assert df.loc["w6", "stage"] == "claimed" and df.loc["w6", "overdue"] and df.loc["w6", "overdue_days"] == 35
    assert df.loc["w3", "claimed_days"] == 30 and not df.loc["w3", "overdue"]  # exactly the limit: on time
    assert df.loc["w4", "stage"] == "unclaimed" and df.loc["w4", "overdue_days"] == 4
    assert not df.loc["w5", "overdue"] and df.loc["w5", "age_days"] == 3
    # w7 was claimed on 2 April: at the period's end it is an unclaimed wish, 21 days old
    assert df.loc["w7", "stage"] == "unclaimed" and df.loc["w7", "overdue_days"] == 14
    assert pd.isna(df.loc["w7", "claim_unit"]) and pd.isna(df.loc["w7", "claimer"])
    by_community = wishes.open_by_community(df.reset_index()).set_index("community")
    assert by_community.loc["A社区"].tolist() == [3, 1, 1, 32.0, 75]
    assert by_community.loc["B社区"].tolist() == [2, 2, 2, 16.0, 21]


def test_overdue_limits_are_configuration(store, settings):
    strict = {**settings, "wishes": {**settings["wishes"], "claim_overdue_days": 2, "complete_overdue_days": 29}}
    df = open_wishes(store, strict).set_index("wish_id")
    assert df["overdue"].all()
    assert df.loc["w5", "overdue_days"] == 1 and df.loc["w3", "overdue_days"] == 1


def test_open_wishes_as_of_an_earlier_end(store, settings):
    df = open_wishes(store, settings, Filters.make(D(2025, 1, 1), D(2025, 1, 31))).set_index("wish_id")
    assert list(df.index) == ["w1", "w6"]  # w1 (older) completes on 1 Feb; w6 claimed on 25 Jan
    assert df.loc["w1", "claimed_days"] == 26 and df.loc["w6", "claimed_days"] == 6
    assert not df["overdue"].any()


def test_claimer_names_are_masked_unless_the_viewer_may_see_them(store, settings):
    shown = open_wishes(store, settings, show_names=True).set_index("wish_id")
    masked = open_wishes(store, settings, show_names=False).set_index("wish_id")
    assert shown.loc["w6", "claimer"] == "欧阳娜娜" and masked.loc["w6", "claimer"] == "欧阳*娜"
    assert masked.loc["w3", "claimer"] == "王*"
    assert pd.isna(masked.loc["w4", "claimer"])


def test_unit_filter_applies_to_the_claiming_unit(store, settings):
    u2 = Filters.make(Q1.start, Q1.end, units=["U2"])
    assert wishes.pipeline(store.query("wish_pipeline", u2).iloc[0])["posted"] == 3  # w3 w6 w9
    assert list(open_wishes(store, settings, u2)["wish_id"]) == ["w6", "w3"]
    community = Filters.make(Q1.start, Q1.end, communities=["B社区"])
    assert list(open_wishes(store, settings, community)["wish_id"]) == ["w7", "w4"]


def test_categories(store):
    cats = wishes.by_category(store.query("wish_categories", Q1), "未分类").set_index("category")
    assert cats.loc["生活帮扶"].tolist() == [3, 1, 2, 0]
    assert cats.loc["医疗健康"].tolist() == [3, 1, 0, 2]
    assert cats.loc["教育助学"].tolist() == [1, 0, 0, 1]
    assert cats.loc["未分类"].tolist() == [1, 1, 0, 0]
    assert cats["posted"].sum() == 8


def test_satisfaction_distribution_and_units(store):
    dist, unrated = wishes.satisfaction_distribution(store.query("wish_satisfaction", Q1))
    # completed in Q1: w1 (5), w2 (4), w8 (2), w9 (not rated)
    assert dist["wishes"].tolist() == [0, 1, 0, 1, 1] and unrated == 1
    assert dist["share"].tolist()[1] == pytest.approx(1 / 3)
    summary = wishes.satisfaction_summary(dist, 4)
    assert summary["rated"] == 3 and summary["mean_score"] == pytest.approx(11 / 3)
    assert summary["satisfied_rate"] == pytest.approx(2 / 3)
    units = store.query("wish_satisfaction_units", Q1, satisfied_min=4).set_index("unit")
    assert units.loc["U1", ["completed", "rated", "satisfied"]].tolist() == [3, 3, 2]
    assert units.loc["U1", "satisfied_rate"] == pytest.approx(2 / 3)
    assert units.loc["U2", "rated"] == 0 and pd.isna(units.loc["U2", "satisfied_rate"])
    empty, none = wishes.satisfaction_distribution(store.query("wish_satisfaction", Filters.make(D(2023, 1, 1),
                                                                                                 D(2023, 1, 2))))
    assert empty["wishes"].sum() == 0 and none == 0
    assert wishes.satisfaction_summary(empty, 4)["mean_score"] is None


def test_follow_up_table(store, settings):
    table = wishes.follow_up_table(open_wishes(store, settings), "zh").set_index("wish_id")
    assert table.loc["w6", "overdue_note"] == "办结超期35天" and table.loc["w4", "overdue_note"] == "认领超期4天"
    assert table.loc["w3", "overdue_note"] == "" and table.loc["w3", "stage"] == "已认领未办结"
    assert table.loc["w4", "claim_unit"] == "" and table.loc["w4", "claimed_on"] == ""  # blank, never "None"
    assert table.loc["w6", "posted_on"] == "2025-01-15"


# -- the page -------------------------------------------------------------------------------------
def _titles(at) -> list[str]:
    return [((json.loads(c.proto.spec).get("layout", {}).get("title") or {}).get("text")) or ""
            for c in at.get("plotly_chart")]


def test_page_on_the_demo():
    at = run_app(page="app_pages/wishes.py")
    assert not at.exception
    titles = _titles(at)
    for expected in ("需求清单→认领→办结", "各社区未办结微心愿已等待天数", "期间提出的微心愿（按类别）", "双评价：群众满意度"):
        assert expected in titles, titles
    assert at.get("plotly_chart") and any("口径" in c.value for c in at.caption)


def test_page_figures_and_filter(tmp_path, monkeypatch):
    data = write_store(tmp_path / "county", **COUNTY)
    at = run_app(page="app_pages/wishes.py", data_dir=data, monkeypatch=monkeypatch)
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["本期提出微心愿"] == "8件" and shown["其中已认领"] == "5件" and shown["其中已办结"] == "3件"
    assert shown["认领用时（中位数）"] == "2.5天" and shown["办结用时（中位数）"] == "24天"
    assert shown["期末未办结"] == "5件"
    assert any(c.value == "其中超期 3件" for c in at.caption)
    # wish texts only inside dataframes: the markup in w9's text is never rendered as markdown
    assert not any("修灯" in m.value for m in at.markdown)

    one = run_app({"community": "B社区"}, page="app_pages/wishes.py", data_dir=data, monkeypatch=monkeypatch)
    shown = {m.label: m.value for m in one.metric}
    assert shown["本期提出微心愿"] == "3件" and shown["期末未办结"] == "2件"  # w4 w7 w9; open w4 w7
    assert any(c.value == "其中超期 2件" for c in one.caption)


def test_excel_of_open_wishes(store, settings):
    from redservice import export

    table = wishes.follow_up_table(open_wishes(store, settings, show_names=False), "zh")
    data = export.to_excel(table, "未办结和超期微心愿清单", Q1, "zh",
                           {"wish_id": "心愿编号", "claimer": "认领人", "overdue_note": "超期情况"})
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    header = next(i for i, r in enumerate(rows) if r[0] == "心愿编号")
    body = {r[0]: r for r in rows[header + 1:]}
    assert body["w6"][1:] == ["欧阳*娜", "办结超期35天"]
    assert set(body) == {"w3", "w4", "w5", "w6", "w7"}


def test_page_on_an_empty_store(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    at = run_app(page="app_pages/wishes.py", data_dir=tmp_path / "empty", monkeypatch=monkeypatch)
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["本期提出微心愿"] == "0件" and shown["认领用时（中位数）"] == "—"


def test_page_in_english(tmp_path, monkeypatch):
    at = run_app({"lang": "en"}, page="app_pages/wishes.py", data_dir=write_store(tmp_path / "c", **COUNTY),
                 monkeypatch=monkeypatch)
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["Wishes posted in period"] == "8" and shown["Days to claim (median)"] == "2.5"
    assert "Needs list → claimed → completed" in _titles(at)


def test_overdue_rows_are_red_unless_the_table_is_too_big_to_style():
    import pandas as pd

    from redservice import wishes as w

    from redservice import fmt

    small = pd.DataFrame({"wish_id": ["a", "b", "c"], "overdue": pd.array([True, False, None], "boolean"),
                          "age_days": [40, 3, 5]})
    ctx = w.highlight_overdue(small)._compute().ctx  # (row, column) -> CSS of the styled cells
    assert {cell for cell, css in ctx.items() if css} == {(0, 0), (0, 1), (0, 2)}
    assert ("color", "#B22222") in ctx[(0, 0)]
    # a city's open wishes: over the cap, shown plain (the overdue column still says it)
    rows = fmt.STYLED_CELLS_MAX // 10 + 1
    big = pd.DataFrame({"wish_id": [str(i) for i in range(rows)], "overdue": [True] * rows}
                       | {f"c{i}": range(rows) for i in range(8)})
    assert big.size > fmt.STYLED_CELLS_MAX
    assert w.highlight_overdue(big) is big
    assert isinstance(w.highlight_overdue(big.head(fmt.STYLED_CELLS_MAX // 10)), pd.io.formats.style.Styler)


def test_the_ages_chart_shows_the_communities_with_most_open_wishes():
    # a city: 100 communities, community k with k open wishes (one overdue each)
    rows = [{"wish_id": f"W{k}-{i}", "community": f"C{k:03d}", "age_days": i, "overdue": i == 0,
             "stage": "unclaimed"} for k in range(1, 101) for i in range(k)]
    open_df = pd.DataFrame(rows)
    by_community = wishes.open_by_community(open_df)
    dots, order = wishes.ages_chart_rows(open_df, by_community)
    assert order == [f"C{k:03d}" for k in range(100, 100 - wishes.AGES_ROWS, -1)]
    assert set(dots["community"]) == set(order) and len(dots) == sum(range(71, 101))
    fig = charts.open_wish_ages(dots, order, "zh", "t")
    # one separator between each two rows, set in one go
    assert [s.y0 for s in fig.layout.shapes] == [i + 0.5 for i in range(len(order) - 1)]
    assert sum(len(trace.x) for trace in fig.data) == len(dots)
    few, order = wishes.ages_chart_rows(open_df[open_df["community"] <= "C003"], by_community.tail(3))
    assert order == ["C003", "C002", "C001"] and len(few) == 6


# -- the whole-column shaping equals the row-by-row one it replaced --------------------------------
def _reference_open_wishes(df, settings, show_names):
    """open_wishes as it was written first, row by row (the reference for the column version)."""
    from redservice import fmt
    from redservice.privacy import mask_name

    claim_days, complete_days = wishes.thresholds(settings)
    cols = ["wish_id", "community", "compound", "category", "content", "posted_on", "claim_unit",
            "claimer", "claimed_on", "age_days", "claimed_days", "stage", "overdue", "overdue_days"]
    data = df.copy()
    claimed = data["claimed_on"].notna()
    data["stage"] = ["claimed" if c else "unclaimed" for c in claimed]
    waited = data["claimed_days"].where(claimed, data["age_days"]).astype("float")
    limit = pd.Series([complete_days if c else claim_days for c in claimed], index=data.index, dtype="float")
    data["overdue"] = (waited > limit).astype(bool)
    data["overdue_days"] = (waited - limit).clip(lower=0).astype(int)
    if not show_names:
        data["claimer"] = [None if fmt.missing(n) else mask_name(n) for n in data["claimer"]]
    for col in ("posted_on", "claimed_on"):
        stamps = pd.to_datetime(data[col])
        data[col] = pd.Series(stamps.dt.date, index=data.index, dtype=object).where(stamps.notna(), None)
    data = data.sort_values(["overdue", "age_days", "wish_id"], ascending=[False, False, True])
    return data[cols].reset_index(drop=True)


def _reference_follow_up_table(open_df, lang):
    from redservice.i18n import t

    cols = ["wish_id", "community", "compound", "category", "content", "posted_on", "age_days", "stage",
            "claim_unit", "claimer", "claimed_on", "overdue", "overdue_note"]
    data = open_df.copy()
    data["overdue_note"] = [t(f"wishes.overdue_{s}", lang, n=int(d)) if o else ""
                            for s, d, o in zip(data["stage"], data["overdue_days"], data["overdue"])]
    data["stage"] = data["stage"].map({s: t(f"wishes.stage_{s}", lang) for s in ("claimed", "unclaimed")})
    unnamed = data["claimed_on"].notna() & data["claim_unit"].isna()
    data["claim_unit"] = data["claim_unit"].astype(object).where(~unnamed, t("wishes.unnamed_unit", lang))
    for col in ("compound", "category", "claim_unit", "claimer"):
        data[col] = data[col].astype(object).where(data[col].notna(), "").astype(str)
    for col in ("posted_on", "claimed_on"):
        data[col] = pd.to_datetime(data[col]).dt.strftime("%Y-%m-%d").fillna("")
    return data[cols]


def _reference_units_excel(units):
    from redservice import fmt

    out = units[["unit", "completed", "rated", "mean_score", "satisfied_rate"]].copy()
    out["mean_score"] = [fmt.DASH if fmt.missing(v) else round(float(v), 2) for v in out["mean_score"]]
    out["satisfied_rate"] = [fmt.DASH if fmt.missing(v) else round(float(v) * 100, 1) for v in out["satisfied_rate"]]
    return out


@pytest.fixture(scope="module")
def crowded(tmp_path_factory):
    """1,500 random wishes (claimed or not, late or not, with and without compound, category, unit
    and claimer; several claimed by no named unit) and their ratings, read through the queries."""
    import random

    rng = random.Random(7)
    rows = []
    for i in range(1500):
        posted = D(2024, 6, 1) + pd.Timedelta(days=rng.randrange(300)).to_pytimedelta()
        claimed = posted + pd.Timedelta(days=rng.randrange(40)).to_pytimedelta() if rng.random() < 0.6 else None
        done = claimed + pd.Timedelta(days=rng.randrange(60)).to_pytimedelta() if claimed and rng.random() < 0.5 else None
        rows.append(_w(f"x{i:04d}", rng.choice(["A社区", "B社区"]), posted, rng.choice([None, "生活帮扶", "医疗健康"]),
                       rng.choice([None, "U1", "U2"]) if claimed else None,
                       rng.choice([None, "张三明", "欧阳娜娜", "李四"]) if claimed else None, claimed, done,
                       rng.choice([None, 1.0, 2.0, 3.0, 4.0, 5.0]) if done else None))
    s = Store(write_store(tmp_path_factory.mktemp("crowded") / "county", **{**COUNTY, "wishes": rows}))
    yield s
    s.close()


@pytest.mark.parametrize("show_names", [True, False])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_open_wishes_and_follow_up_table_equal_the_row_by_row_reference(crowded, settings, show_names, lang):
    raw = crowded.query("wish_open", Q1)
    assert len(raw) > 500 and raw["claimed_on"].notna().any() and raw["claimed_on"].isna().any()
    # shuffled too: the order is the function's (overdue, oldest, id), not the query's
    for rows in (raw, raw.sample(frac=1, random_state=5).reset_index(drop=True)):
        pd.testing.assert_frame_equal(wishes.open_wishes(rows, settings, show_names),
                                      _reference_open_wishes(rows, settings, show_names))
    ours = wishes.open_wishes(raw, settings, show_names)
    reference = _reference_open_wishes(raw, settings, show_names)
    assert ours["overdue"].any() and not ours["overdue"].all()
    table = wishes.follow_up_table(ours, lang)
    pd.testing.assert_frame_equal(table, _reference_follow_up_table(reference, lang))
    assert (table["claim_unit"] == "").any() and (table["claimed_on"] == "").any()


def test_units_excel_equals_the_row_by_row_reference(crowded):
    units = crowded.query("wish_satisfaction_units", Filters.make(D(2024, 1, 1), D(2025, 12, 31)), satisfied_min=4)
    assert units["satisfied_rate"].notna().any() and len(units) >= 2
    many = pd.concat([units] * 50, ignore_index=True)
    many.loc[::7, "mean_score"] = None  # rows with nothing rated
    pd.testing.assert_frame_equal(wishes.units_excel(many), _reference_units_excel(many))


def test_the_follow_up_list_shows_the_most_urgent_and_exports_them_all(tmp_path, monkeypatch):
    """A province's 128,000 open wishes are not sent to the browser on every run: the screen shows
    the first SCREEN_ROWS (overdue, then longest-waiting first) and says so; the Excel has them all."""
    from redservice import ui

    monkeypatch.setattr(wishes, "SCREEN_ROWS", 2)
    captured = {}
    ui.capture(captured)
    try:
        at = run_app(page="app_pages/wishes.py", data_dir=write_store(tmp_path / "county", **COUNTY),
                     monkeypatch=monkeypatch)
    finally:
        ui.capture(None)
    assert not at.exception
    listed = next(d.value for d in at.dataframe if "wish_id" in d.value.columns)
    assert len(listed) == 2 and listed["overdue"].all()  # 3 of the 5 are overdue: two of them first
    assert any("未办结的微心愿5件" in c.value and "表中显示最前面的2条" in c.value for c in at.caption)
    _title, _filters, make = captured["wishes_excel"]
    sheet = openpyxl.load_workbook(io.BytesIO(make())).active
    ids = [r[0].value for r in sheet.iter_rows()]
    assert {"w3", "w4", "w5", "w6", "w7"} <= set(ids)
