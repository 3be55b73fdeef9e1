"""数据质量: each [quality] rule on a hand-built store, its answer worked out by hand, with the edges
(exactly 12 hours is not flagged, an activity number exempts a bulk group, records of other units
are not a bulk group, a 30-day delay is not late, a returned record is not checked); the page in
AppTest and the CLI's JSON."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import run_app, write_store

from redservice import cli, config, quality
from redservice.filters import Filters
from redservice.store import Store

D = dt.date
MARCH = (D(2025, 3, 1), D(2025, 3, 31))


def member(mid, unit):
    return {"member_id": mid, "name": f"党员{mid}", "unit": unit, "branch": f"{unit}支部", "community": "A社区",
            "reported_on": D(2024, 1, 1)}


A = [member(f"a{i}", "U1") for i in range(1, 26)]
B = [member(f"b{i}", "U2") for i in range(1, 4)]
_n = 0


def rec(m, day, hours, community="A社区", category="义诊", content=None, activity=None, households=(),
        origin=None, entered=None, status=None, rid=None):
    global _n
    _n += 1
    return {"record_id": rid or f"r{_n:03d}", "date": day, "member_id": m["member_id"], "name": m["name"],
            "unit": m["unit"], "branch": m["branch"], "community": community, "category": category,
            "form": "日常服务", "activity_id": activity, "content": content, "hours": hours, "persons": 1,
            "households": list(households), "origin": origin, "entered_on": entered, "review_status": status}


def records():
    b1, b2, b3 = B
    out = [
        # day_hours: 8 + 4 = 12 exactly (not flagged); 8 + 4.5 = 12.5 (one member-day, two records)
        rec(b1, D(2025, 3, 2), 8, category="义诊"), rec(b1, D(2025, 3, 2), 4, category="义剪"),
        rec(b1, D(2025, 3, 3), 8, category="义诊"), rec(b1, D(2025, 3, 3), 4.5, category="义剪"),
        # duplicate: three alike (two beyond the first), one with other hours, one returned copy
        rec(b2, D(2025, 3, 4), 2, rid="d1"), rec(b2, D(2025, 3, 4), 2, rid="d2"), rec(b2, D(2025, 3, 4), 2, rid="d3"),
        rec(b2, D(2025, 3, 4), 3, rid="d5"), rec(b2, D(2025, 3, 4), 2, rid="d4", status="已退回"),
        # late_entry: 36 days late (flagged), exactly 30 days (not)
        rec(b3, D(2025, 3, 5), 1, entered=D(2025, 4, 10)), rec(b3, D(2025, 3, 6), 1, entered=D(2025, 4, 5)),
    ]
    # bulk_identical: 20 members of U1, same day, hours, content, no activity number (flagged) ...
    out += [rec(m, D(2025, 3, 10), 1, content="清扫楼道", origin="后台补录") for m in A[:20]]
    # ... 22 with an activity number (an organised activity: exempt) ...
    out += [rec(m, D(2025, 3, 11), 1, content="清扫楼道", activity="HD1", origin="后台补录") for m in A[:20] + A[23:]]
    # ... and 19 of U1 with 3 of U2 the same way: 22 members, but no unit has 20 (not a bulk group)
    out += [rec(m, D(2025, 3, 12), 1, content="清扫楼道") for m in A[:19] + B]
    # sign_in_only: four records of 0.5 h (flagged); one of 0.6 among four (not); three of 0.5 (not)
    out += [rec(A[20], D(2025, 3, d), 0.5, community="B社区") for d in (13, 14, 15, 16)]
    out += [rec(A[21], D(2025, 3, d), h, community="B社区") for d, h in ((13, 0.5), (14, 0.5), (15, 0.5), (16, 0.6))]
    out += [rec(A[22], D(2025, 3, d), 0.5, community="B社区") for d in (13, 14, 15)]
    # household_repeat: H1 served by four records on one day (flagged), H2 by three (not)
    out += [rec(A[23], D(2025, 3, 20), 1, category=c, households=["H1"]) for c in ("义诊", "义剪")]
    out += [rec(A[24], D(2025, 3, 20), 1, category=c, households=["H1"]) for c in ("义诊", "义剪")]
    out += [rec(A[23], D(2025, 3, 21), 1, category=c, households=["H2"]) for c in ("义诊", "义剪", "送政策")]
    out.append(rec(B[0], D(2024, 12, 1), 1))  # the data begin before the year (outside the period)
    # U2's records are all back-filled but fewer than 20: backfill_share does not apply to it
    for r in out:
        if r["unit"] == "U2":
            r["origin"] = "后台补录"
    return out


EXPECTED = {"day_hours": (1, 2), "duplicate": (2, 2), "late_entry": (1, 1), "bulk_identical": (20, 20),
            "sign_in_only": (1, 4), "household_repeat": (1, 4), "backfill_share": (1, 42)}


@pytest.fixture
def directory(tmp_path):
    return write_store(tmp_path / "q", communities=[{"community": "A社区", "households": 100},
                                                    {"community": "B社区", "households": 80}],
                       units=[{"unit": "U1"}, {"unit": "U2"}],
                       branches=[{"branch": "U1支部", "unit": "U1"}, {"branch": "U2支部", "unit": "U2"}],
                       members=A + B, services=records())


def run(directory, name, filters=None, **extra):
    store = Store(directory)
    try:
        return store.query(name, filters or Filters.make(*MARCH), **extra,
                           **quality.params(config.settings(directory)))
    finally:
        store.close()


def test_each_rule_counts_what_was_worked_out_by_hand(directory):
    rules = run(directory, "quality_rules").set_index("rule")
    assert list(rules.index) == list(quality.RULES)
    got = {r: (int(rules.loc[r, "count"]), int(rules.loc[r, "records"])) for r in quality.RULES}
    assert got == EXPECTED
    assert rules["applicable"].all()


def page(directory, filters=None) -> dict:
    return quality.parts(run(directory, "quality_page", filters))


def test_the_page_query_agrees_with_the_rules_query(directory):
    got = page(directory)["rule"]
    assert got.equals(run(directory, "quality_rules").astype(got.dtypes.to_dict()))


def test_flagged_records_and_unit_rates(directory):
    flagged = page(directory)["record"].set_index("record_id")
    assert set(flagged.loc[["d2", "d3"], "rules"]) == {"duplicate"} and "d1" not in flagged.index
    assert "d4" not in flagged.index  # a returned record is not checked
    units = page(directory)["unit"].set_index("name")
    communities = page(directory)["community"].set_index("name")
    assert communities["records"].sum() == 92 and communities.loc["B社区", "flagged"] == 4  # the sign-ins
    # U1: 79 records; flagged: the 42 back-filled (the 20 bulk among them), 4 sign-ins, 4 for H1
    assert (units.loc["U1", "records"], units.loc["U1", "flagged"]) == (79, 50)
    # U2: 13 checked (the returned copy not); flagged: 2 day_hours, 2 duplicates, 1 late entry
    assert (units.loc["U2", "records"], units.loc["U2", "flagged"]) == (13, 5)
    assert units.loc["U2", "rate"] == pytest.approx(5 / 13)


def test_the_rates_alone_without_the_records(directory):
    """The unit scorecard asks quality_page for the rates only (params(records=False)): no record
    rows, every other part as the page's."""
    settings = config.settings(directory)
    store = Store(directory)
    try:
        full = quality.parts(store.query("quality_page", Filters.make(*MARCH), **quality.params(settings)))
        rates = quality.parts(store.query("quality_page", Filters.make(*MARCH),
                                          **quality.params(settings, records=False)))
    finally:
        store.close()
    assert len(full["record"]) > 0 and rates["record"].empty
    for part in ("rule", "unit", "community"):
        assert rates[part].equals(full[part]), part


def test_filters_apply_and_rules_without_their_column_do_not_apply(directory):
    only_u2 = run(directory, "quality_rules", Filters.make(*MARCH, units=["U2"])).set_index("rule")
    assert int(only_u2.loc["bulk_identical", "count"]) == 0 and int(only_u2.loc["duplicate", "count"]) == 2
    february = run(directory, "quality_rules", Filters.make(D(2025, 2, 1), D(2025, 2, 28))).set_index("rule")
    assert not february.loc["late_entry", "applicable"] and not february.loc["backfill_share", "applicable"]
    assert (february["count"] == 0).all()


def test_thresholds_come_from_the_settings(directory):
    (directory / "config.toml").write_text("[quality]\nmax_hours_per_day = 11.5\nbulk_min_members = 23\n",
                                           encoding="utf-8")
    rules = run(directory, "quality_rules").set_index("rule")
    assert int(rules.loc["day_hours", "count"]) == 2  # 12 hours now exceeds the limit
    assert int(rules.loc["bulk_identical", "count"]) == 0


def test_a_record_level_flag_does_not_depend_on_the_view(tmp_path):
    """The record-level rules judge the whole day, over every checked record, whatever the filter
    bar shows (docs/guide.md, 数据质量): a member's 8 h in A社区 and 8 h in B社区 the same day is a
    16-hour member-day in a view of A alone; a household served four times by two units is a
    repeated household-day in a view of one unit. sign_in_only stays a judgement on the view's period."""
    m, n = member("x1", "U1"), member("y1", "U2")
    day = D(2025, 3, 2)
    services = [rec(m, day, 8, community="A社区", rid="x-a"), rec(m, day, 8, community="B社区", rid="x-b")]
    services += [rec(m, D(2025, 3, 3), 1, category=c, households=["H9"], rid=f"h-{c}") for c in ("义诊", "义剪")]
    services += [rec(n, D(2025, 3, 3), 1, category=c, households=["H9"], rid=f"k-{c}") for c in ("义诊", "义剪")]
    directory = write_store(tmp_path / "v", communities=[{"community": "A社区", "households": 10},
                                                         {"community": "B社区", "households": 10}],
                            units=[{"unit": "U1"}, {"unit": "U2"}], members=[m, n], services=services)
    counts = lambda **dims: {r: (int(v["count"]), int(v["records"])) for r, v in run(  # noqa: E731
        directory, "quality_rules", Filters.make(*MARCH, **dims)).set_index("rule").iterrows()}
    assert counts()["day_hours"] == (1, 2) and counts()["household_repeat"] == (1, 4)
    assert counts(communities=["A社区"])["day_hours"] == (1, 1)
    assert counts(communities=["B社区"])["day_hours"] == (1, 1)
    assert counts(units=["U2"])["household_repeat"] == (1, 2) and counts(units=["U2"])["day_hours"] == (0, 0)
    flagged = page(directory, Filters.make(*MARCH, communities=["A社区"]))["record"]
    assert set(flagged["record_id"]) == {"x-a", "h-义诊", "h-义剪", "k-义诊", "k-义剪"}


def test_the_copy_is_built_with_the_rules_and_rebuilt_when_they_change(directory):
    """The record-level rules' settings are built into the serving file; a store whose settings no
    longer match it builds the copy in memory with the new ones (until the next import)."""
    from redservice import serving

    serving.refresh(directory, serving.build_rules(directory))
    store = Store(directory)
    assert store.mode == "file"
    store.close()
    (directory / "config.toml").write_text("[quality]\nhousehold_max_per_day = 1\n", encoding="utf-8")
    store = Store(directory)
    try:
        assert store.mode == "memory"
        rules = store.query("quality_rules", Filters.make(*MARCH), **quality.params(config.settings(directory)))
        # H1 (four records) and H2 (three) are both repeated now
        assert int(rules.set_index("rule").loc["household_repeat", "count"]) == 2
    finally:
        store.close()
    (directory / "config.toml").write_text("[quality]\nsign_in_min_records = 3\n", encoding="utf-8")
    store = Store(directory)  # a per-period rule's setting: the file is still the copy
    try:
        assert store.mode == "file"
        rules = store.query("quality_rules", Filters.make(*MARCH), **quality.params(config.settings(directory)))
        assert int(rules.set_index("rule").loc["sign_in_only", "count"]) == 2
    finally:
        store.close()


def test_cli_prints_the_same_figures(directory, capsys):
    assert cli.main(["quality", "--data", str(directory), "--start", "2025-03-01", "--end", "2025-03-31",
                     "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {r: (v["count"], v["records"]) for r, v in out["rules"].items()} == EXPECTED
    assert {"record_id": "d2", "rule": "duplicate"} in out["flagged"]
    assert next(u for u in out["units"] if u["unit"] == "U2") == {"unit": "U2", "records": 13, "flagged": 5,
                                                                 "rate": round(5 / 13, 4)}


def test_page_shows_the_rules_and_masks_names(directory, monkeypatch):
    at = run_app({"period": "custom", "start": "2025-03-01", "end": "2025-03-31"}, page="app_pages/quality.py",
                 data_dir=directory, monkeypatch=monkeypatch)
    assert not at.exception
    table = at.table[0].value
    assert table.loc["批量同质", "本期"] == 20 and table.loc["单日时长过长", "涉及记录"] == 2
    assert [m.value for m in at.metric][:3] == ["92条", "55条", "59.8%"]
    flagged = at.dataframe[-1].value
    assert "党员b1" in set(flagged["姓名"])  # the local organisation department sees names


def test_count_flagged_false_leaves_flagged_records_out_and_says_so(demo_copy, monkeypatch):
    """[quality] count_flagged = false: the records flagged by the period-independent rules count
    nowhere (hours 10486.5 → 10388.0 in 2025 Q1: 44 records, 98.5 hours), the store's file is built
    that way on refresh, and every page's header says how many were left out and why."""
    from conftest import run_app

    from redservice import serving, storage
    from redservice.filters import Filters
    from redservice.store import Store

    with open(demo_copy / "config.toml", "a", encoding="utf-8") as fh:
        fh.write("\n[quality]\ncount_flagged = false\n")
    serving.refresh(storage.table_dir(demo_copy), serving.build_rules(demo_copy))
    store = Store(demo_copy)
    assert store.mode == "file"
    q1 = Filters.make(dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    k = store.query("kpis", q1).iloc[0]
    assert (k["hours"], k["households"]) == (10388.0, 7737)
    left = store.query("quality_excluded", q1).set_index("rule", drop=False)
    assert int(left[left["rule"].isna()]["records"].iloc[0]) == 44
    assert "sign_in_only" not in set(left["rule"]) and "backfill_share" not in set(left["rule"])
    at = run_app(data_dir=demo_copy, monkeypatch=monkeypatch)
    assert any(c.value.startswith("按设置（[quality] count_flagged = false），本期有44条存疑记录（98.5小时）未计入任何数字：单日时长过长6条、"
                                  "疑似重复5条、补录过晚6条、批量同质22条、同户重复服务5条") for c in at.caption)


def _reference_rates_frame(df, key, lang):
    """quality.rates_frame as first written: each cell's rate written on its own."""
    import pandas as pd

    from redservice import fmt
    from redservice.i18n import t

    return pd.DataFrame({
        t(f"quality.col.{key}", lang): df["name"].fillna("—"),
        t("quality.col.checked", lang): df["records"].astype(int),
        t("quality.col.flagged", lang): df["flagged"].astype(int),
        t("quality.col.rate", lang): [fmt.percent(v, lang) for v in df["rate"]],
    })


def _reference_flagged_frame(df, lang, show_names):
    """quality.flagged_frame as first written, row by row."""
    import pandas as pd

    from redservice import fmt
    from redservice.i18n import t
    from redservice.privacy import mask_name

    names = {r: quality.rule_name(r, lang) for r in quality.RULES}
    sep = "、" if lang == "zh" else ", "
    data = df.copy()
    if not show_names:
        data["name"] = [None if fmt.missing(n) else mask_name(n) for n in data["name"]]
    data["rules"] = [sep.join(names.get(c, c) for c in str(v).split(",")) for v in data["rules"]]
    for col in ("date", "entered_on"):
        data[col] = pd.to_datetime(data[col]).dt.strftime("%Y-%m-%d").fillna("")
    cols = ["record_id", "date", "name", "unit", "community", "category", "hours", "content", "origin",
            "entered_on", "rules"]
    out = data[cols].astype(object).where(data[cols].notna(), "")
    return out.rename(columns={c: t(f"quality.col.{c}", lang) for c in cols})


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rates_and_flagged_frames_equal_the_cell_by_cell_reference(directory, lang):
    """The page's tables, each distinct rate, list of rules and date written once, equal the first
    versions on the store's own rows, repeated and shuffled (with missing rates and dates)."""
    import pandas as pd

    got = page(directory)
    units = pd.concat([got["unit"]] * 40, ignore_index=True).sample(frac=1, random_state=3).reset_index(drop=True)
    units.loc[::9, "rate"] = float("nan")
    units.loc[::11, "name"] = None
    pd.testing.assert_frame_equal(quality.rates_frame(units, "unit", lang), _reference_rates_frame(units, "unit", lang))
    flagged = pd.concat([got["record"]] * 30, ignore_index=True).sample(frac=1, random_state=4).reset_index(drop=True)
    assert len(flagged) > 300 and flagged["rules"].nunique() > 2
    flagged.loc[::7, "entered_on"] = None
    for show_names in (True, False):
        pd.testing.assert_frame_equal(quality.flagged_frame(flagged, lang, show_names),
                                      _reference_flagged_frame(flagged, lang, show_names))
