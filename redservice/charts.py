"""Pure Plotly figure builders: tidy DataFrame in, figure out. No Streamlit, no SQL."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go

from redservice import fmt
from redservice.i18n import t

FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, Heiti SC, sans-serif"
RED = "#B22222"
RED_LIGHT = "#E8A09A"
GOLD = "#C9962B"
GREY = "#8C8C8C"
INK = "#262626"


def base_layout(fig: go.Figure, title: str | None = None, height: int = 380) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}} if title else None,
        font={"family": FONT, "size": 13, "color": INK},
        height=height,
        margin={"l": 10, "r": 10, "t": 48 if title else 16, "b": 10},
        paper_bgcolor="white",
        plot_bgcolor="white",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
        hoverlabel={"font": {"family": FONT}},
        separators=".,",
    )
    fig.update_xaxes(showgrid=False, linecolor="#D9D9D9")
    fig.update_yaxes(gridcolor="#EFEFEF", zeroline=False)
    return fig


def fill_months(df: pd.DataFrame, first: dt.date | None, end: dt.date) -> pd.DataFrame:
    """queries/monthly_trend.sql's rows with every month from ``first``'s (else the first row's) to
    ``end``'s: a month without records is there with 0 hours, 0 persons and 0 records."""
    have = [m.date() if isinstance(m, dt.datetime) else m for m in pd.to_datetime(df["month"])] if len(df) else []
    start = (first or (have[0] if have else end)).replace(day=1)
    months, m = [], start
    while m <= end:
        months.append(m)
        m = (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    rows = {mm: r for mm, r in zip(have, df.to_dict("records"))}
    cols = [c for c in df.columns if c != "month"] or ["hours", "persons", "records"]
    return pd.DataFrame([{"month": mm, **{c: rows.get(mm, {}).get(c, 0) for c in cols}} for mm in months],
                        columns=["month", *cols])


def nice_axis(most, intervals: int = 4) -> tuple[float, float]:
    """(top, step) of an axis from 0 in ``intervals`` round steps (1, 2, 2.5 or 5 × 10^k) that
    reaches ``most``: two axes drawn with the same number of steps share their grid lines."""
    import math

    most = float(most) if not fmt.missing(most) and float(most) > 0 else 1.0
    raw = most / intervals
    power = 10 ** math.floor(math.log10(raw))
    step = next(k * power for k in (1, 2, 2.5, 5, 10) if k * power >= raw - 1e-9)
    return step * intervals, step


def shared_intervals(*mosts) -> int:
    """The number of steps (3–6) that wastes least of the tightest axis among several."""
    def waste(n):
        return max(nice_axis(m, n)[0] / (float(m) if not fmt.missing(m) and float(m) > 0 else 1.0)
                   for m in mosts)
    return min((4, 5, 3, 6), key=waste)


def _round_ticks(fig: go.Figure, axis: str, most, lang: str, intervals: int = 4) -> None:
    top, step = nice_axis(most, intervals)
    values = [i * step for i in range(intervals + 1)]
    fig.layout[axis].update(range=[0, top * 1.02], tickvals=values,
                            ticktext=[fmt.number(v, lang, 1) for v in values], tickmode="array")


def month_axis(fig: go.Figure, months: list[dt.date], lang: str) -> None:
    """A month axis that stays readable at any width: a date axis, one label per month in its
    middle (4月 / Apr) which Plotly thins to every second or third month when the chart is narrow,
    and the year under the first month and under each January (2024年 / 2024)."""
    fig.update_xaxes(type="date", ticklabelmode="period", tickformat="%-m月" if lang == "zh" else "%b",
                     tickangle=0, showgrid=False, automargin=True)
    follows = [m for m in months[1:] if m.month == 1]
    for i, m in enumerate(months):
        # no year under a first month just before a January: the two would run into each other
        if (i == 0 and not (follows and (follows[0] - m).days < 62)) or (i and m.month == 1):
            fig.add_annotation(x=pd.Timestamp(m) + pd.Timedelta(days=15), xref="x", y=0, yref="paper",
                               yanchor="top", yshift=-22, showarrow=False, text=f"{m.year}年" if lang == "zh"
                               else str(m.year), font={"size": 12, "color": GREY})
    fig.update_layout(margin={"b": 40})


def monthly_trend(df: pd.DataFrame, lang: str, start: dt.date, end: dt.date) -> go.Figure:
    """Hours as bars (selected period in red, context in pale red) and persons served as a line,
    every month drawn (a month without records at 0) on a ``month_axis``, both value axes on the
    same round steps."""
    fig = go.Figure()
    if not df.empty:
        df = fill_months(df, None, end)
        months = list(df["month"])
        x = [pd.Timestamp(m) for m in months]
        labels = [fmt.month(m, lang) for m in months]
        first_month = start.replace(day=1)
        colours = [RED if first_month <= m <= end else RED_LIGHT for m in months]
        fig.add_bar(
            x=x, y=df["hours"], name=t("overview.hours", lang), marker_color=colours,
            xperiod="M1", xperiodalignment="middle",
            customdata=[[lab, fmt.quantity(v, "hours", lang, 1)] for lab, v in zip(labels, df["hours"])],
            hovertemplate="%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
        )
        fig.add_scatter(
            x=x, y=df["persons"], name=t("overview.persons", lang), mode="lines+markers",
            xperiod="M1", xperiodalignment="middle",
            line={"color": GOLD, "width": 2.5}, yaxis="y2",
            customdata=[[lab, fmt.quantity(v, "persons", lang)] for lab, v in zip(labels, df["persons"])],
            hovertemplate="%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
        )
    base_layout(fig, t("overview.trend", lang))
    fig.update_layout(
        margin={"t": 84},  # the legend on a line of its own under the title (a long English title)
        yaxis={"rangemode": "tozero", "automargin": True},
        yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "rangemode": "tozero",
                "automargin": True},
        bargap=0.35,
    )
    if not df.empty:
        month_axis(fig, months, lang)
        steps = shared_intervals(df["hours"].max(), df["persons"].max())
        _round_ticks(fig, "yaxis", df["hours"].max(), lang, steps)
        _round_ticks(fig, "yaxis2", df["persons"].max(), lang, steps)
    return fig


def ranking(df: pd.DataFrame, label_col: str, value_col: str, lang: str, title: str,
            unit_key: str, decimals: int = 0, top: int | None = None, height: int = 380) -> go.Figure:
    """Horizontal bars, largest on top, each labelled with its formatted value."""
    data = df.sort_values([value_col, label_col], ascending=[False, True])
    if top:
        data = data.head(top)
    data = data.iloc[::-1]
    texts = [fmt.quantity(v, unit_key, lang, decimals) for v in data[value_col]]
    fig = go.Figure(go.Bar(
        x=data[value_col], y=data[label_col], orientation="h", marker_color=RED,
        text=texts, textposition="outside", cliponaxis=False,
        hovertemplate="%{y}<br>%{text}<extra></extra>",
    ))
    base_layout(fig, title, height)
    # room right of the plot for the longest bar's label ("1,185.5 hours") whatever the chart's width
    fig.update_xaxes(showticklabels=False, showgrid=False)
    fig.update_yaxes(showgrid=False, automargin=True)
    fig.update_layout(margin={"r": 16 + max((text_width(x) for x in texts), default=0)})
    return fig


def text_width(text: str, size: int = 13) -> int:
    """Pixels a label needs in the charts' font, over-estimated: CJK a full em, others 0.62 em."""
    return round(sum(size if ord(ch) > 0x2E80 else 0.62 * size for ch in str(text)))


# The hours-per-member chart draws this many units at most: the highest and the lowest half each.
# A county has about a hundred units, all drawn; a city has thousands (5,600 bars, a chart 118,000
# px tall, 0.3 s of Python on every run of the page at 1 M records); every unit is in the table.
HOURS_CHART_UNITS = 120


def hours_per_member_hidden(df: pd.DataFrame, limit: int | None) -> int:
    """How many units with a value ``hours_per_member`` leaves out of the middle (0: none)."""
    shown = int(df["hours_per_member"].notna().sum())
    return shown - 2 * (limit // 2) if limit and shown > limit else 0


def _tenth(value: float) -> float:
    """A value rounded to one decimal the way ``fmt.number`` writes it (half up)."""
    return float(fmt.number(value, "en", 1).replace(",", ""))


def hours_per_member(df: pd.DataFrame, median: float | None, lang: str, title: str | None = None,
                     limit: int | None = None, area: str | None = None) -> go.Figure:
    """Units by hours per reported member, highest on top; bars at or above the county median in
    red, below it in pale red, and the median itself as a dashed reference line labelled above
    the plot. With more than ``limit`` units (None: no limit), the ``limit // 2`` highest and the
    as many lowest, a row between them saying how many are left out. ``area``: the level the median
    is taken over, in its label (``briefing.level_word``; default 全县)."""
    data = df[df["hours_per_member"].notna()].sort_values(["hours_per_member", "unit"], ascending=[True, False])
    hidden = hours_per_member_hidden(df, limit)
    unit_label = t("units.hours_per_member_unit", lang)
    values, names, colours, texts, hover = [], [], [], [], []
    for i, (v, name, h, m) in enumerate(zip(data["hours_per_member"], data["unit"], data["hours"],
                                            data["reported"])):
        if hidden and limit // 2 <= i < len(data) - limit // 2:
            if i == limit // 2:  # Plotly draws the first category at the bottom: the lowest first
                values.append(None)
                names.append(t("units.chart_gap", lang, n=fmt.count(hidden, "units", lang)))
                colours.append(RED_LIGHT)
                texts.append("")
                hover.append("")
            continue
        values.append(v)
        names.append(name)
        # Compared as written (one decimal, as the tile and the median line): a bar labelled like
        # the median is coloured like it, never 5.2 in two colours.
        colours.append(RED if median is None or _tenth(v) >= _tenth(median) else RED_LIGHT)
        texts.append(fmt.number(v, lang, 1))
        hover.append(f"{fmt.number(v, lang, 1)} {unit_label}<br>{fmt.quantity(h, 'hours', lang, 1)} · "
                     f"{fmt.quantity(m, 'people', lang)}")
    fig = go.Figure(go.Bar(
        x=values, y=names, orientation="h", marker_color=colours,
        text=texts, textposition="outside", cliponaxis=False, customdata=hover,
        hovertemplate="%{y}<br>%{customdata}<extra></extra>",
    ))
    height = max(320, 21 * len(names) + 120)
    base_layout(fig, title, height)
    if median is not None:
        fig.add_shape(type="line", x0=median, x1=median, xref="x", y0=0, y1=1, yref="paper",
                      line={"color": INK, "width": 1.5, "dash": "dash"})
        fig.add_annotation(
            x=median, xref="x", y=1, yref="paper", yanchor="bottom", yshift=24, showarrow=False,
            text=t("units.median_line", lang, value=fmt.number(median, lang, 1), unit=unit_label,
                   area=area or t("level.county", lang)),
            font={"size": 13, "color": INK}, bgcolor="white",
        )
    fig.update_xaxes(showgrid=True, gridcolor="#EFEFEF", rangemode="tozero", side="top", ticksuffix="  ")
    fig.update_yaxes(showgrid=False, automargin=True, tickfont={"size": 12})
    fig.update_layout(margin={"r": 50, "t": 100 if title else 60}, bargap=0.25, showlegend=False)
    return fig
def metric_ranking(labels: list[str], values: list, texts: list[str], colours: list[str],
                   title: str | None = None, height: int = 380) -> go.Figure:
    """Horizontal bars, largest on top, each in its own colour (the map's) and labelled with its
    formatted value; labels whose value cannot be computed go last with "—" and no bar."""
    rows = list(zip(labels, values, texts, colours))
    present = [r for r in rows if not fmt.missing(r[1])]
    absent = [r for r in rows if fmt.missing(r[1])]
    present.sort(key=lambda r: (-float(r[1]), r[0]))
    absent.sort(key=lambda r: r[0])
    ordered = (present + absent)[::-1]  # Plotly draws the first category at the bottom
    fig = go.Figure(go.Bar(
        x=[0 if fmt.missing(r[1]) else float(r[1]) for r in ordered],
        y=[r[0] for r in ordered],
        orientation="h",
        marker={"color": [r[3] for r in ordered], "line": {"color": "#BFBFBF", "width": 0.5}},
        text=[r[2] for r in ordered], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}<br>%{text}<extra></extra>",
    ))
    base_layout(fig, title, height)
    fig.update_xaxes(showticklabels=False, showgrid=False, rangemode="tozero")
    fig.update_yaxes(showgrid=False, automargin=True, type="category")
    fig.update_layout(margin={"r": 80}, bargap=0.3, clickmode="event+select")
    return fig


def plotly_locale(lang: str) -> dict:
    """The chart config that puts Plotly's own texts (toolbar tips, "double-click …") in the page's
    language: Chinese from the catalogue's [plotly] section, given with each chart (``locales``), so
    nothing is fetched; {} for English."""
    if lang != "zh":
        return {}
    from redservice.i18n import catalogue

    words = {entry["en"]: entry["zh"] for key, entry in catalogue().items() if key.startswith("plotly.")}
    return {"locale": "zh-CN", "locales": {"zh-CN": {"dictionary": words, "format": {}}}}


def picked_label(selection) -> str | None:
    """The category label (y of a horizontal bar, else x) of the point clicked on a Plotly chart,
    from ``st.plotly_chart``'s selection state; None when nothing is selected. On a two-level axis
    (六送 / 送政策) the inner label."""
    points = (selection or {}).get("points") if hasattr(selection or {}, "get") else None
    for point in points or []:
        y = point.get("y")
        if isinstance(y, (list, tuple)) and y:
            y = y[-1]
        label = y if isinstance(y, str) else point.get("x")
        if label is not None:
            return str(label)
    return None
# -- 服务分析 and 微心愿 ------------------------------------------------------------------------------
BLUE_GREY = "#4A6A8A"
PALE_GREY = "#EDEDED"
GROUP_COLOURS = {"liusong": RED, "sanqing": GOLD, "other": BLUE_GREY}
_GROUP_SHADES = {
    "liusong": ("#7F1414", "#F0A39B"),
    "sanqing": ("#8A6410", "#EDCF85"),
    "other": ("#243B53", "#B4C4D6"),
}


def _hex(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i : i + 2], 16) for i in (0, 2, 4))


def shades(dark: str, light: str, n: int) -> list[str]:
    """``n`` colours from ``dark`` to ``light`` (one: ``dark``)."""
    a, b = _hex(dark), _hex(light)
    out = []
    for i in range(n):
        f = i / (n - 1) if n > 1 else 0.0
        out.append("#" + "".join(f"{round(x + (y - x) * f):02X}" for x, y in zip(a, b)))
    return out


def _interleave(n: int) -> list[int]:
    """0, ⌈n/2⌉, 1, ⌈n/2⌉+1, …: shade indexes so that neighbours are half the range apart."""
    half = (n + 1) // 2
    return [i // 2 + (half if i % 2 else 0) for i in range(n)]


def category_colours(categories: list[str], groups: dict[str, str]) -> dict[str, str]:
    """A colour per category: shades of red for 六送, gold for 三请, blue-grey for the others; the
    shades interleaved (dark, light, dark, …) so that neighbours in a stack or a legend differ."""
    out: dict[str, str] = {}
    for group, (dark, light) in _GROUP_SHADES.items():
        members = [c for c in categories if groups.get(c, "other") == group]
        palette = shades(dark, light, len(members))
        out.update(zip(members, [palette[i] for i in _interleave(len(members))]))
    return out


def hours_persons_panels(df: pd.DataFrame, label_col: str, lang: str, title: str | None,
                         group_col: str | None = None, group_labels: dict[str, str] | None = None,
                         height: int | None = None) -> go.Figure:
    """Two panels of horizontal bars sharing one axis of labels: volunteer hours (left) and
    persons served (right), in the frame's row order (top to bottom). With ``group_col`` the
    labels are grouped (六送 / 三请 / 其他服务) on a two-level axis and coloured by group."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.08,
                        subplot_titles=(t("overview.hours", lang), t("overview.persons", lang)))
    rows = len(df) if not df.empty else 1
    height = height or max(260, 26 * rows + 110)
    # bars thick enough for a label inside (a few forms in a given height): a long bar's number goes
    # inside it, so that in a narrow column it cannot run into the next panel (an outside label
    # needs room the panel may not have); thin bars (the categories, 26 px a row) keep it outside,
    # where Plotly would otherwise shrink it to the bar's thickness
    position = "auto" if (height - 110) / rows >= 40 else "outside"
    if not df.empty:
        labels = list(df[label_col])
        if group_col:
            names = group_labels or {}
            y = [[names.get(g, g) for g in df[group_col]], labels]
            colours = [GROUP_COLOURS.get(g, BLUE_GREY) for g in df[group_col]]
        else:
            y, colours = labels, [RED] * len(labels)
        for col, (value_col, unit_key, decimals) in enumerate(
                [("hours", "hours", 1), ("persons", "persons", 0)], start=1):
            # the number alone by the bar (the panel's title names the unit), with its unit on hover:
            # "4,402.5 hours" ran into the next panel's bars in a laptop's column
            texts = [fmt.number(v, lang, decimals) for v in df[value_col]]
            hover = [[name, fmt.quantity(v, unit_key, lang, decimals)] for name, v in zip(labels, df[value_col])]
            fig.add_bar(
                x=df[value_col], y=y, orientation="h", marker_color=colours if col == 1 else GOLD,
                opacity=1 if col == 1 else 0.9, text=texts, textposition=position, insidetextanchor="end",
                textangle=0,  # a label too long for its bar goes outside it, not turned on its side
                insidetextfont={"color": "white" if col == 1 else "#3A2A00"}, cliponaxis=False,
                customdata=hover, hovertemplate="%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
                showlegend=False, row=1, col=col,
            )
    base_layout(fig, title, height)
    fig.update_yaxes(autorange="reversed", showgrid=False, automargin=True, row=1, col=1)
    fig.update_xaxes(showticklabels=False, showgrid=False)
    for col, value_col in ((1, "hours"), (2, "persons")):
        top = float(df[value_col].max()) if not df.empty and df[value_col].notna().any() else 0.0
        # room to the right of the longest bar for its label, so it never runs into the next panel
        fig.update_xaxes(range=[0, top * 1.45 if top > 0 else 1], row=1, col=col)
    # the panels' titles on a line of their own under the chart's title (not touching it)
    fig.update_layout(margin={"r": 80, "t": 72 if title else 36}, bargap=0.3)
    fig.update_annotations(font={"size": 13, "color": GREY})
    return fig


def _period_band(fig: go.Figure, months: list[dt.date], inside: list[bool], lang: str) -> None:
    """Shade the months of the selected period on a ``month_axis`` (when context is shown)."""
    if not months or all(inside) or not any(inside):
        return
    first = months[inside.index(True)]
    last = months[len(inside) - 1 - inside[::-1].index(True)]
    after = (pd.Timestamp(last) + pd.offsets.MonthBegin(1))
    fig.add_vrect(x0=pd.Timestamp(first), x1=after, fillcolor="#FFF1EF", line_width=0, layer="below",
                  annotation_text=t("services.selected_period", lang), annotation_position="top left",
                  annotation_font={"size": 12, "color": GREY})


def stacked_trend(wide: pd.DataFrame, groups: dict[str, str], group_labels: dict[str, str], lang: str,
                  title: str | None, start: dt.date, end: dt.date, height: int = 500) -> go.Figure:
    """Monthly volunteer hours stacked by category (months × categories table, columns in programme
    order); 六送, 三请 and the other services in shades of their group colour, legend grouped."""
    fig = go.Figure()
    if not wide.empty:
        months = list(wide.index)
        labels = [fmt.month(m, lang) for m in months]
        x = [pd.Timestamp(m) for m in months]
        colours = category_colours(list(wide.columns), groups)
        for category in wide.columns:
            group = groups.get(category, "other")
            values = wide[category]
            fig.add_bar(
                x=x, y=values, name=category, marker_color=colours[category], xperiod="M1",
                xperiodalignment="middle",
                legendgroup=group, legendgrouptitle_text=group_labels.get(group, group),
                customdata=[[lab, fmt.quantity(v, "hours", lang, 1)] for lab, v in zip(labels, values)],
                hovertemplate=f"{category}<br>%{{customdata[0]}}<br>%{{customdata[1]}}<extra></extra>",
            )
        _period_band(fig, months, [start.replace(day=1) <= m <= end for m in months], lang)
    base_layout(fig, title, height)
    fig.update_layout(
        barmode="stack", bargap=0.3,
        legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top",
                "groupclick": "toggleitem", "font": {"size": 12}, "tracegroupgap": 4,
                # top to bottom as the stack is drawn: the first trace is the bottom of the stack
                "traceorder": "reversed+grouped"},
        yaxis={"rangemode": "tozero", "automargin": True, "tickformat": "d", "ticklabelstandoff": 14},
    )
    fig.update_xaxes(tickangle=0, automargin=True)
    if not wide.empty:
        month_axis(fig, months, lang)
    return fig


def seasonality(by_month: pd.DataFrame, by_weekday: pd.DataFrame, lang: str, title: str | None,
                height: int = 500) -> go.Figure:
    """Volunteer hours by month of the year (top) and by weekday (below, weekend in gold)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.2,
                        subplot_titles=(t("services.by_month_of_year", lang), t("services.by_weekday", lang)))
    month_names = t("services.month_names", lang).split(",")
    weekday_names = t("services.weekday_names", lang).split(",")
    for row, data, names, colours in (
        (1, by_month, month_names, [RED] * 12),
        (2, by_weekday, weekday_names, [RED] * 5 + [GOLD] * 2),
    ):
        if data.empty:
            continue
        x = [names[int(s) - 1] for s in data["slot"]]
        fig.add_bar(
            x=x, y=data["hours"], marker_color=[colours[int(s) - 1] for s in data["slot"]],
            customdata=[[fmt.quantity(h, "hours", lang, 1), fmt.quantity(p, "persons", lang)]
                        for h, p in zip(data["hours"], data["persons"])],
            hovertemplate="%{x}<br>%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
            showlegend=False, row=row, col=1,
        )
    base_layout(fig, title, height)
    fig.update_yaxes(rangemode="tozero", automargin=True, tickformat="d", nticks=4)
    fig.update_xaxes(tickangle=0, automargin=True)
    fig.update_xaxes(tickfont={"size": 11}, row=1, col=1)  # twelve month names fit a laptop's column
    fig.update_layout(bargap=0.25, margin={"t": 76 if title else 36})
    fig.update_annotations(font={"size": 13, "color": GREY})
    return fig


def participation_bars(months: pd.DataFrame, lang: str, title: str | None, height: int = 340) -> go.Figure:
    """红色服务日 participation per month (reported members who attended ÷ members reported by the
    day), labelled with the rate; the hover gives the days held and the counts behind the rate."""
    fig = go.Figure()
    if not months.empty:
        labels = [f"{fmt.month(pd.Timestamp(row['month']).date(), lang)}<br>"
                  f"<span style='font-size:11px;color:{GREY}'>{_day_list(row, lang)}</span>"
                  for _, row in months.iterrows()]
        rates = [None if fmt.missing(r) else float(r) for r in months["participation_rate"]]
        hover = [
            t("services.rate_hover", lang, days=_day_list(row, lang),
              attending=fmt.quantity(row["attending_members"], "people", lang),
              members=fmt.quantity(row["members"], "people", lang))
            for _, row in months.iterrows()
        ]
        fig.add_bar(
            x=labels, y=rates, marker_color=RED, text=[fmt.percent(r, lang) for r in rates],
            textposition="outside", cliponaxis=False, customdata=hover,
            hovertemplate="%{x}<br>%{customdata}<extra></extra>",
        )
    base_layout(fig, title, height)
    top = max([r for r in (fig.data[0].y if fig.data else []) if r is not None] or [0])
    fig.update_yaxes(tickformat=".0%", range=[0, max(0.1, min(1.0, top * 1.25) if top else 1)],
                     automargin=True)
    fig.update_xaxes(tickangle=0, automargin=True)
    fig.update_layout(bargap=0.45)
    return fig


def _day_list(row, lang: str) -> str:
    """The month's service days as days of the month: 5日 / 3日、31日 / 3日—28日，共3天 (zh);
    5 Feb / 3 & 31 Mar / 3–28 Mar, 3 days (en)."""
    first, last, n = pd.Timestamp(row["first_day"]), pd.Timestamp(row["last_day"]), int(row["days"])
    if n <= 1 or first == last:
        return f"{first.day}日" if lang == "zh" else f"{first.day} {first:%b}"
    if n == 2:
        return f"{first.day}日、{last.day}日" if lang == "zh" else f"{first.day} & {last.day} {last:%b}"
    return f"{first.day}日—{last.day}日，共{n}天" if lang == "zh" else f"{first.day}–{last.day} {last:%b}, {n} days"


def attendance_heatmap(attendees: pd.DataFrame, members: pd.DataFrame, lang: str, title: str | None,
                       row_height: int = 22) -> go.Figure:
    """Units × months: members attending each month's 红色服务日. A unit with reported members and
    nobody attending is marked "未参加"; a blank cell had neither members nor attendees. Grows with
    the number of units (``row_height`` px each); month labels on top."""
    fig = go.Figure()
    if not attendees.empty:
        months = [fmt.month(m, lang) for m in attendees.columns]
        units = list(attendees.index)
        z, text, hover = [], [], []
        missed = t("services.missed_cell", lang)
        for unit in units:
            zr, tr, hr = [], [], []
            for m in attendees.columns:
                a, n = attendees.at[unit, m], members.at[unit, m]
                a = None if fmt.missing(a) else int(a)
                n = 0 if fmt.missing(n) else int(n)
                zr.append(a)
                tr.append(missed if (a == 0 and n > 0) else ("" if a is None else fmt.number(a, lang)))
                hr.append(t("services.cell_hover", lang, attending=fmt.quantity(a, "people", lang),
                            members=fmt.quantity(n, "people", lang), rate=fmt.percent(fmt.ratio(a, n), lang)))
            z.append(zr), text.append(tr), hover.append(hr)
        fig.add_heatmap(
            z=z, x=months, y=units, text=text, texttemplate="%{text}", customdata=hover,
            textfont={"size": 11},
            colorscale=[[0.0, "#FFF4D6"], [1e-6, "#FCE4E0"], [0.5, "#E0675A"], [1.0, "#7F1414"]],
            zmin=0, xgap=2, ygap=2, hoverongaps=False,
            colorbar={"title": {"text": t("unit.people", lang), "side": "top"}, "thickness": 12,
                      "lenmode": "pixels", "len": min(220, max(120, len(units) * row_height - 20)),
                      "y": 1, "yanchor": "top"},
            hovertemplate="%{y}<br>%{x}<br>%{customdata}<extra></extra>",
        )
    rows = len(attendees.index) if not attendees.empty else 1
    base_layout(fig, title, max(240, rows * row_height + (100 if title else 70)))
    # the months on top, on a line of their own under the title (not run into it)
    fig.update_xaxes(side="top", showgrid=False, linecolor="white", automargin=True)
    fig.update_layout(margin={"t": 88 if title else 48})
    fig.update_yaxes(autorange="reversed", showgrid=False, automargin=True, tickfont={"size": 12},
                     dtick=1)
    fig.update_layout(plot_bgcolor="white")
    return fig


def funnel(stages: list[str], values: list[int], lang: str, title: str | None, height: int = 360) -> go.Figure:
    """The 微心愿 pipeline as a funnel: each stage's count and its share of the first stage."""
    shares = [fmt.percent(fmt.ratio(v, values[0]), lang) if values else None for v in values]
    texts = [f"{fmt.quantity(v, 'items', lang)}<br>{t('wishes.of_posted', lang, rate=s)}" if i
             else fmt.quantity(v, "items", lang) for i, (v, s) in enumerate(zip(values, shares))]
    fig = go.Figure(go.Funnel(
        y=stages, x=values, text=texts, textinfo="text", textposition="inside",
        textfont={"size": 14, "color": "white"},
        marker={"color": [RED, "#C8553D", GOLD][: len(values)]},
        connector={"fillcolor": "#F6E3E0", "line": {"width": 0}},
        hovertemplate="%{y}<br>%{text}<extra></extra>",
    ))
    base_layout(fig, title, height)
    fig.update_yaxes(showgrid=False, automargin=True, tickfont={"size": 14})
    return fig


def _jitter(key: str, spread: float = 0.32) -> float:
    """A deterministic offset in [-spread, spread] from a wish's id (same picture every run)."""
    import hashlib

    h = int(hashlib.sha256(str(key).encode("utf-8")).hexdigest()[:8], 16)
    return (h / 0xFFFFFFFF * 2 - 1) * spread


def open_wish_ages(open_df: pd.DataFrame, order: list[str], lang: str, title: str | None,
                   height: int | None = None) -> go.Figure:
    """One dot per open wish: its age in days (x) in its community's row (``order``, top first);
    overdue wishes in red, the others in blue-grey. Row labels carry the open / overdue counts."""
    fig = go.Figure()
    rows = {c: i for i, c in enumerate(order)}
    if not open_df.empty:
        for overdue, colour, name_key in ((False, BLUE_GREY, "wishes.on_time"), (True, RED, "wishes.overdue")):
            part = open_df[open_df["overdue"] == overdue]
            if part.empty:
                continue
            stage = [t(f"wishes.stage_{s}", lang) for s in part["stage"]]
            fig.add_scatter(
                x=part["age_days"], y=[rows[c] + _jitter(w) for c, w in zip(part["community"], part["wish_id"])],
                mode="markers", name=t(name_key, lang),
                marker={"color": colour, "size": 8, "opacity": 0.75, "line": {"width": 0.5, "color": "white"}},
                customdata=[[w, c, s, t("wishes.days", lang, n=a)]
                            for w, c, s, a in zip(part["wish_id"], part["community"], stage, part["age_days"])],
                hovertemplate="%{customdata[1]} · %{customdata[0]}<br>%{customdata[2]}<br>"
                              "%{customdata[3]}<extra></extra>",
            )
    counts = open_df.groupby("community").agg(n=("wish_id", "size"), o=("overdue", "sum")) \
        if not open_df.empty else pd.DataFrame(columns=["n", "o"])
    ticktext = [t("wishes.row_label", lang, community=c, open=int(counts.at[c, "n"]) if c in counts.index else 0,
                  overdue=int(counts.at[c, "o"]) if c in counts.index else 0) for c in order]
    base_layout(fig, title, height or max(300, 34 * max(1, len(order)) + 110))
    fig.update_yaxes(tickvals=list(range(len(order))), ticktext=ticktext, range=[len(order) - 0.5, -0.5],
                     showgrid=False, automargin=True, zeroline=False)
    fig.update_xaxes(title={"text": t("wishes.age_axis", lang), "font": {"size": 12, "color": GREY},
                            "standoff": 8},
                     rangemode="tozero", showgrid=True, gridcolor="#EFEFEF", automargin=True)
    # row separators set at once (add_hline re-validates every shape already there: quadratic)
    fig.update_layout(shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": i + 0.5,
                               "y1": i + 0.5, "line": {"color": "#F2F2F2", "width": 1}, "layer": "below"}
                              for i in range(len(order) - 1)])
    return fig


def wish_categories(df: pd.DataFrame, lang: str, title: str | None, height: int | None = None) -> go.Figure:
    """Wishes posted in the period by category (most first), split by where they stand at its
    end: completed, claimed and in progress, waiting for a claim."""
    fig = go.Figure()
    if not df.empty:
        data = df.iloc[::-1]
        for col, colour in (("completed", RED), ("in_progress", GOLD), ("unclaimed", "#BFBFBF")):
            fig.add_bar(
                x=data[col], y=data["category"], orientation="h", name=t(f"wishes.state_{col}", lang),
                marker_color=colour, customdata=[fmt.quantity(v, "items", lang) for v in data[col]],
                hovertemplate="%{y}<br>%{customdata}<extra></extra>",
            )
        fig.add_scatter(
            x=data["posted"], y=data["category"], mode="text", showlegend=False, hoverinfo="skip",
            text=[fmt.quantity(v, "items", lang) for v in data["posted"]], textposition="middle right",
            cliponaxis=False,
        )
    rows = len(df) if not df.empty else 1
    base_layout(fig, title, height or max(300, 34 * rows + 120))
    # the legend under the bars: above them it ran into a long (English) title
    fig.update_layout(barmode="stack", bargap=0.35, margin={"r": 60},
                      legend={"traceorder": "normal", "orientation": "h", "x": 0, "xanchor": "left",
                              "y": -0.04, "yanchor": "top"})
    fig.update_xaxes(showticklabels=False, showgrid=False)
    fig.update_yaxes(showgrid=False, automargin=True)
    return fig


def satisfaction_bars(dist: pd.DataFrame, satisfied_min: float, lang: str, title: str | None,
                      height: int = 340) -> go.Figure:
    """双评价: how many completed wishes got each rating 1–5 (satisfied ratings in red)."""
    fig = go.Figure()
    if not dist.empty:
        labels = [t("wishes.score", lang, score=int(s)) for s in dist["score"]]
        texts = [f"{fmt.quantity(n, 'items', lang)}（{fmt.percent(s, lang)}）" if lang == "zh"
                 else f"{fmt.number(n, lang)} ({fmt.percent(s, lang)})"
                 for n, s in zip(dist["wishes"], dist["share"])]
        fig.add_bar(
            x=labels, y=dist["wishes"], text=texts, textposition="outside", cliponaxis=False,
            marker_color=[RED if s >= satisfied_min else "#BFBFBF" for s in dist["score"]],
            hovertemplate="%{x}<br>%{text}<extra></extra>",
        )
    base_layout(fig, title, height)
    fig.update_yaxes(rangemode="tozero", automargin=True, showticklabels=False, showgrid=False)
    fig.update_xaxes(automargin=True, tickfont={"size": 13})
    fig.update_layout(bargap=0.4, margin={"t": 64 if title else 36})
    return fig
