"""微心愿: the pipeline 提出 → 认领 → 办结, how long each step takes, the open and overdue wishes,
and 双评价 satisfaction. Pure functions over the DataFrames of ``queries/wish_*.sql``.

口径 (also stated on the page):
- pipeline: the wishes posted in the period; of those, claimed by the period's end; of those,
  completed by the period's end;
- days to claim / complete: medians over wishes claimed / completed in the period (on their own date);
- open: posted by the period's end and not completed by then; age = days from 提出 to the period's end;
- overdue: unclaimed longer than ``claim_overdue_days`` after posting (认领超期), or claimed and not
  completed longer than ``complete_overdue_days`` after the claim (办结超期) — ``[wishes]`` settings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from redservice import fmt
from redservice.i18n import t
from redservice.metrics import Card
from redservice.privacy import mask_name

SCORES = (1, 2, 3, 4, 5)


def funnel_basis(pipe: dict, lang: str) -> str:
    """The funnel's figures in a sentence that names their basis (the wishes posted in the period),
    so they are not read as the tiles' 本期认领 / 本期办结 (by claim and completion date)."""
    return t("wishes.funnel_basis", lang, **{k: fmt.quantity(pipe[k], "items", lang)
                                             for k in ("posted", "claimed", "completed")})


def thresholds(settings: dict) -> tuple[int, int]:
    """(claim_overdue_days, complete_overdue_days) from the ``[wishes]`` settings."""
    cfg = settings["wishes"]
    return int(cfg["claim_overdue_days"]), int(cfg["complete_overdue_days"])


def pipeline(row: pd.Series | dict) -> dict:
    """Counts and conversions of the pipeline from one row of queries/wish_pipeline.sql.
    claim_rate = claimed ÷ posted, completion_rate = completed ÷ claimed,
    overall_rate = completed ÷ posted; None where the denominator is 0."""
    posted, claimed, completed = (int(row[k] or 0) for k in ("posted", "claimed", "completed"))
    return {
        "posted": posted, "claimed": claimed, "completed": completed,
        "claim_rate": fmt.ratio(claimed, posted),
        "completion_rate": fmt.ratio(completed, claimed),
        "overall_rate": fmt.ratio(completed, posted),
    }


def durations(row: pd.Series | dict) -> dict:
    """Median days to claim and to complete (None when nothing qualifies), with their counts."""
    def value(key):
        v = row[key]
        return None if fmt.missing(v) else float(v)

    return {
        "median_days_to_claim": value("median_days_to_claim"),
        "median_days_to_complete": value("median_days_to_complete"),
        "claimed": int(row["claimed"] or 0),
        "completed": int(row["completed"] or 0),
    }


def open_wishes(df: pd.DataFrame, settings: dict, show_names: bool) -> pd.DataFrame:
    """The open wishes of queries/wish_open.sql with their stage and overdue flag.

    stage: 'unclaimed' or 'claimed'; overdue: unclaimed for more than claim_overdue_days after
    posting, or claimed and not completed more than complete_overdue_days after the claim;
    overdue_days: days beyond the limit (0 when on time). The claimer's name is masked unless the
    viewer may see names. Sorted: overdue first, then oldest first.
    """
    claim_days, complete_days = thresholds(settings)
    cols = ["wish_id", "community", "compound", "category", "content", "posted_on", "claim_unit",
            "claimer", "claimed_on", "age_days", "claimed_days", "stage", "overdue", "overdue_days"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    data = df.copy()
    claimed = data["claimed_on"].notna()
    data["stage"] = pd.Series(pd.array(["unclaimed", "claimed"], dtype="str").take(claimed.to_numpy(dtype=int)),
                              index=data.index)
    waited = data["claimed_days"].where(claimed, data["age_days"]).astype("float")
    limit = pd.Series(np.where(claimed, complete_days, claim_days), index=data.index, dtype="float")
    data["overdue"] = (waited > limit).astype(bool)
    data["overdue_days"] = (waited - limit).clip(lower=0).astype(int)
    if not show_names:
        data["claimer"] = [None if fmt.missing(n) else mask_name(n) for n in data["claimer"]]
    # overdue first, then the oldest, then by id: sorted by Arrow on the three columns at once
    # (pandas factorised a province's 128,000 wish ids to sort them: 0.1 s); missing values last
    keys = pa.table({c: pa.Array.from_pandas(data[c]) for c in ("overdue", "age_days", "wish_id")})
    order = pc.sort_indices(keys, sort_keys=[("overdue", "descending", "at_end"),
                                             ("age_days", "descending", "at_end"),
                                             ("wish_id", "ascending", "at_end")])
    data = data[cols].take(order.to_numpy()).reset_index(drop=True)
    for col in ("posted_on", "claimed_on"):  # datetime.date objects, None where missing: made after
        # the sort (taking 128,000 Python objects cost more than the sort), each distinct date once
        data[col] = pd.Series(fmt.per_distinct(data[col], _as_date), index=data.index, dtype=object)
    return data


def _as_date(value):
    return None if fmt.missing(value) else pd.Timestamp(value).date()


def _as_text_date(value) -> str:
    return "" if fmt.missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


# The open-wish ages chart shows this many communities (those with the most open wishes) at most:
# a city has thousands; the follow-up table lists every wish.
AGES_ROWS = 30


def open_by_community(open_df: pd.DataFrame) -> pd.DataFrame:
    """Per community: open wishes, overdue ones, unclaimed ones, median and oldest age in days."""
    cols = ["community", "open", "overdue", "unclaimed", "median_age", "max_age"]
    if open_df.empty:
        return pd.DataFrame(columns=cols)
    g = open_df.groupby("community", dropna=False)
    out = pd.DataFrame({
        "open": g.size(),
        "overdue": g["overdue"].sum().astype(int),
        "unclaimed": (open_df["stage"] == "unclaimed").groupby(open_df["community"], dropna=False).sum().astype(int),
        "median_age": g["age_days"].median().astype(float),
        "max_age": g["age_days"].max().astype(int),
    }).reset_index()
    return out.sort_values(["open", "community"], ascending=[False, True])[cols].reset_index(drop=True)


def ages_chart_rows(open_df: pd.DataFrame, by_community: pd.DataFrame) -> tuple[pd.DataFrame, list]:
    """The open wishes and the community rows (top first) the ages chart shows: the ``AGES_ROWS``
    communities with the most open wishes (``open_by_community``'s order)."""
    order = list(by_community["community"].head(AGES_ROWS))
    return open_df[open_df["community"].isin(order)], order


def satisfaction_distribution(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """(scores 1–5 with wishes and share of the rated ones, every score present; unrated count)."""
    rated = df[df["score"].notna()] if not df.empty else df
    counts = {int(s): int(n) for s, n in zip(rated.get("score", []), rated.get("wishes", []))}
    unrated = int(df.loc[df["score"].isna(), "wishes"].sum()) if not df.empty else 0
    total = sum(counts.get(s, 0) for s in SCORES)
    dist = pd.DataFrame({"score": list(SCORES), "wishes": [counts.get(s, 0) for s in SCORES]})
    dist["share"] = [fmt.ratio(n, total) for n in dist["wishes"]]
    return dist, unrated


def satisfaction_summary(dist: pd.DataFrame, satisfied_min: float) -> dict:
    """Rated wishes, mean rating and 满意率 (ratings ≥ satisfied_min ÷ rated); None when none rated."""
    rated = int(dist["wishes"].sum())
    if rated == 0:
        return {"rated": 0, "mean_score": None, "satisfied_rate": None}
    mean = float((dist["score"] * dist["wishes"]).sum()) / rated
    satisfied = int(dist.loc[dist["score"] >= satisfied_min, "wishes"].sum())
    return {"rated": rated, "mean_score": mean, "satisfied_rate": satisfied / rated}


def by_category(df: pd.DataFrame, unknown_label: str) -> pd.DataFrame:
    """Rows of queries/wish_categories.sql with integer counts and a label for wishes without 类别."""
    cols = ["category", "posted", "completed", "in_progress", "unclaimed"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    data = df.copy()
    data["category"] = [unknown_label if fmt.missing(c) else c for c in data["category"]]
    for col in cols[1:]:
        data[col] = data[col].fillna(0).astype(int)
    return data[cols].reset_index(drop=True)


def _days(value, lang: str) -> str:
    if value is None or lang != "zh":  # in English the tile's label names the unit
        return fmt.number(value, lang, 1)
    return t("wishes.days", lang, n=fmt.number(value, lang, 1))


def cards(pipe: dict, dur: dict, open_df: pd.DataFrame, settings: dict, lang: str) -> list[Card]:
    """The page's tiles: posted, claimed, completed (with conversions), the two median durations,
    and the wishes open at the period's end with the overdue ones."""
    claim_days, complete_days = thresholds(settings)
    def items(n):  # 237件 in Chinese; in English the label names the unit
        return fmt.quantity(n, "items", lang) if lang == "zh" else fmt.number(n, lang)

    overdue = int(open_df["overdue"].sum()) if not open_df.empty else 0
    return [
        Card("posted", t("wishes.tile_posted", lang), items(pipe["posted"]), None,
             t("wishes.def_pipeline", lang), None),
        Card("claimed", t("wishes.tile_claimed", lang), items(pipe["claimed"]), None,
             t("wishes.def_pipeline", lang),
             t("wishes.tile_claim_rate", lang, rate=fmt.percent(pipe["claim_rate"], lang))),
        Card("completed", t("wishes.tile_completed", lang), items(pipe["completed"]), None,
             t("wishes.def_pipeline", lang),
             t("wishes.tile_completion_rate", lang, rate=fmt.percent(pipe["completion_rate"], lang),
               overall=fmt.percent(pipe["overall_rate"], lang))),
        Card("to_claim", t("wishes.tile_to_claim", lang), _days(dur["median_days_to_claim"], lang), None,
             t("wishes.def_to_claim", lang), t("wishes.tile_based_on_claimed", lang, n=fmt.quantity(dur["claimed"], "items", lang))),
        Card("to_complete", t("wishes.tile_to_complete", lang), _days(dur["median_days_to_complete"], lang),
             None, t("wishes.def_to_complete", lang),
             t("wishes.tile_based_on_completed", lang, n=fmt.quantity(dur["completed"], "items", lang))),
        Card("open", t("wishes.tile_open", lang), items(len(open_df)), None,
             t("wishes.def_open", lang, claim_days=claim_days, complete_days=complete_days),
             t("wishes.tile_overdue", lang, n=items(overdue))),
    ]


# The follow-up list shows this many open wishes on screen, the most urgent first (a province has
# 128,000: sent to the browser on every run they were 33 MB of Arrow and a third of the page's run);
# its Excel download holds them all.
SCREEN_ROWS = 2000


def follow_up_table(open_df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The open wishes as the follow-up list shows and exports them: stage and overdue in words."""
    cols = ["wish_id", "community", "compound", "category", "content", "posted_on", "age_days", "stage",
            "claim_unit", "claimer", "claimed_on", "overdue", "overdue_note"]
    if open_df.empty:
        return pd.DataFrame(columns=cols)
    data = open_df.copy()
    # Whole columns, each text written once: a province has 128,000 open wishes and a few hundred
    # notes (row by row, with Python tuples and lists, this table took 0.5 s of every run).
    # a late wish's (stage, days late) as one number: -1 for a wish on time
    stage_codes, stage_names = pd.factorize(data["stage"])
    days = data["overdue_days"].to_numpy().astype(np.int64)
    span = int(days.max()) + 1 if len(days) else 1
    key = np.where(data["overdue"].to_numpy(dtype=bool), stage_codes * span + days, -1)
    data["overdue_note"] = fmt.per_distinct_text(
        pd.Series(key, index=data.index),
        lambda k: "" if k < 0 else t(f"wishes.overdue_{stage_names[k // span]}", lang, n=int(k % span)))
    stages = {s: t(f"wishes.stage_{s}", lang) for s in ("claimed", "unclaimed")}
    data["stage"] = fmt.per_distinct_text(data["stage"], stages.get)
    # a wish claimed with no claiming unit written down is claimed by an unnamed unit, said so
    unnamed = data["claimed_on"].notna() & data["claim_unit"].isna()
    data["claim_unit"] = data["claim_unit"].where(~unnamed, t("wishes.unnamed_unit", lang))
    # Blank, not "None", where a wish has no compound, category or claim yet (screen and Excel).
    # (fillna on the text column itself: through Python objects it took 0.3 s for a province)
    for col in ("compound", "category", "claim_unit", "claimer"):
        data[col] = data[col].fillna("").astype(str)
    for col in ("posted_on", "claimed_on"):  # each distinct date written once
        data[col] = fmt.per_distinct_text(data[col], _as_text_date)
    return data[cols]


OVERDUE_STYLE = "color: #B22222; background-color: #FDECEA"


def highlight_overdue(table: pd.DataFrame):
    """The follow-up table with its overdue rows in red (a pandas Styler for st.dataframe), or the
    table as it is when it has more cells than ``fmt.STYLED_CELLS_MAX`` (a city's open wishes):
    the overdue column still says which rows are late. The styles are one array for the whole
    table, not a Python function per row (half the time of the Styler)."""
    if table.size > fmt.STYLED_CELLS_MAX:
        return table
    late = table["overdue"].to_numpy(dtype=bool, na_value=False)

    def styles(frame: pd.DataFrame) -> pd.DataFrame:
        cells = np.where(np.broadcast_to(late[:, None], frame.shape), OVERDUE_STYLE, "")
        return pd.DataFrame(cells, index=frame.index, columns=frame.columns)

    return table.style.apply(styles, axis=None)


def units_excel(units: pd.DataFrame) -> pd.DataFrame:
    """Satisfaction by claiming unit for Excel: the mean to two decimals, 满意率 as a percentage,
    "—" where nothing was rated."""
    out = units[["unit", "completed", "rated", "mean_score", "satisfied_rate"]].copy()
    # each distinct figure rounded once (a province's 56,000 units share a few thousand)
    out["mean_score"] = fmt.per_distinct(out["mean_score"], lambda v: fmt.DASH if fmt.missing(v) else round(float(v), 2))
    out["satisfied_rate"] = fmt.per_distinct(
        out["satisfied_rate"], lambda v: fmt.DASH if fmt.missing(v) else round(float(v) * 100, 1))
    return out


def units_excel_columns(lang: str) -> dict[str, str]:
    """Headers of ``units_excel`` (满意率 marked as a percentage)."""
    labels = {c: t(f"wishes.{c}", lang) for c in ("unit", "completed", "rated", "mean_score")}
    labels["satisfied_rate"] = t("units.percent_header", lang, label=t("wishes.satisfied_rate", lang))
    return labels
