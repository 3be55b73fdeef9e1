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


def monthly_trend(df: pd.DataFrame, lang: str, start: dt.date, end: dt.date) -> go.Figure:
    """Hours as bars (selected period in red, context in pale red) and persons served as a line."""
    fig = go.Figure()
    if not df.empty:
        months = [m.date() if isinstance(m, dt.datetime) else m for m in pd.to_datetime(df["month"])]
        labels = [fmt.month(m, lang) for m in months]
        first_month = start.replace(day=1)
        colours = [RED if first_month <= m <= end else RED_LIGHT for m in months]
        fig.add_bar(
            x=labels, y=df["hours"], name=t("overview.hours", lang), marker_color=colours,
            customdata=[fmt.quantity(v, "hours", lang, 1) for v in df["hours"]],
            hovertemplate="%{x}<br>%{customdata}<extra></extra>",
        )
        fig.add_scatter(
            x=labels, y=df["persons"], name=t("overview.persons", lang), mode="lines+markers",
            line={"color": GOLD, "width": 2.5}, yaxis="y2",
            customdata=[fmt.quantity(v, "persons", lang) for v in df["persons"]],
            hovertemplate="%{x}<br>%{customdata}<extra></extra>",
        )
    base_layout(fig, t("overview.trend", lang))
    fig.update_layout(
        yaxis={"rangemode": "tozero", "automargin": True},
        yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "rangemode": "tozero",
                "automargin": True},
        bargap=0.35,
    )
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
    fig.update_xaxes(showticklabels=False, showgrid=False)
    fig.update_yaxes(showgrid=False, automargin=True)
    fig.update_layout(margin={"r": 70})
    return fig


def hours_per_member(df: pd.DataFrame, median: float | None, lang: str, title: str | None = None) -> go.Figure:
    """Units by hours per reported member, highest on top; bars at or above the county median in
    red, below it in pale red, and the median itself as a dashed reference line labelled above
    the plot."""
    data = df[df["hours_per_member"].notna()].sort_values(["hours_per_member", "unit"], ascending=[True, False])
    colours = [RED if median is None or v >= median else RED_LIGHT for v in data["hours_per_member"]]
    unit_label = t("units.hours_per_member_unit", lang)
    texts = [f"{v:,.1f}" for v in data["hours_per_member"]]
    hover = [
        f"{fmt.number(v, lang, 1)} {unit_label}<br>{fmt.quantity(h, 'hours', lang, 1)} · "
        f"{fmt.quantity(m, 'people', lang)}"
        for v, h, m in zip(data["hours_per_member"], data["hours"], data["reported"])
    ]
    fig = go.Figure(go.Bar(
        x=data["hours_per_member"], y=data["unit"], orientation="h", marker_color=colours,
        text=texts, textposition="outside", cliponaxis=False, customdata=hover,
        hovertemplate="%{y}<br>%{customdata}<extra></extra>",
    ))
    height = max(320, 21 * len(data) + 120)
    base_layout(fig, title, height)
    if median is not None:
        fig.add_shape(type="line", x0=median, x1=median, xref="x", y0=0, y1=1, yref="paper",
                      line={"color": INK, "width": 1.5, "dash": "dash"})
        fig.add_annotation(
            x=median, xref="x", y=1, yref="paper", yanchor="bottom", yshift=24, showarrow=False,
            text=t("units.median_line", lang, value=f"{median:,.1f}", unit=unit_label),
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


def picked_label(selection) -> str | None:
    """The category label (y of a horizontal bar, else x) of the point clicked on a Plotly chart,
    from ``st.plotly_chart``'s selection state; None when nothing is selected."""
    points = (selection or {}).get("points") if hasattr(selection or {}, "get") else None
    for point in points or []:
        label = point.get("y") if isinstance(point.get("y"), str) else point.get("x")
        if label is not None:
            return str(label)
    return None
