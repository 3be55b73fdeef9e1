"""汇报: the county on one screen for 汇报材料 — title with the period, KPI tiles, the summary paragraph
to copy, the coverage map, the trend, the communities, the wish pipeline and the service categories,
and a footnote (source, data date, filters); laid out for a 1920×1080 screenshot and A4 print, and
exported whole as PNG and PDF drawn on the server."""

import datetime as dt

import pandas as pd
import streamlit as st

from redservice import briefing, briefing_figure, briefing_print, charts, export, fmt, render, services, ui, wishes
from redservice.brief import archive, office, snapshot

IMAGES = "_briefing_images"  # session state: (what they show, {"png": bytes, "pdf": bytes})
ROW = 262  # chart height (px): the page fits a 1920×1080 screenshot

ctx = ui.context()
st.html(briefing_print.CSS)
st.html(briefing_print.SCRIPT, unsafe_allow_javascript=True)  # print: see briefing_print


def office_buttons(snap: dict, name: str, note: str | None, key: str, data=None) -> None:
    """Word and PowerPoint downloads of a snapshot (written when clicked; the deck with the coverage
    map as a picture when the live briefing ``data`` is given and the server can draw it)."""
    left, right, _ = st.columns([1, 1, 4])
    left.download_button(ctx.t("office.download_docx"), lambda: office.to_docx(snap, note), mime=office.DOCX_MIME,
                         file_name=export.safe_filename(name, "docx"), icon=":material/description:",
                         on_click="ignore", key=f"{key}_docx")
    right.download_button(ctx.t("office.download_pptx"), lambda: office.to_pptx(snap, note, office.map_image(data) if data else None),
                          mime=office.PPTX_MIME,
                          file_name=export.safe_filename(name, "pptx"), icon=":material/slideshow:",
                          on_click="ignore", key=f"{key}_pptx")


def file_name(snap: dict) -> str:
    return ctx.t("briefing.file_name", county=snap["county"], start=snap["period"]["start"].replace("-", ""),
                 end=snap["period"]["end"].replace("-", ""))


def show_archived(ident: str) -> None:
    """An archived briefing as it was archived (its stored figures), with a banner; the comparison
    with today's data on request."""
    try:
        entry, snap = archive.load(ctx.store.directory, ident, ctx.scope, ctx.lang)
    except archive.ArchiveError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    last = fmt.date(dt.date.fromisoformat(snap["last"]), ctx.lang) if snap.get("last") else fmt.DASH
    st.warning(ctx.t("archive.banner", describe=fmt.md_escape(archive.describe(entry, ctx.lang)), last=last),
               icon=":material/inventory_2:")
    with st.container(key="briefing_title"):
        st.subheader(fmt.md_escape(snap["title"]), anchor=False)
    for i in range(0, len(snap["kpis"]), 5):
        for col, k in zip(st.columns(5), snap["kpis"][i:i + 5]):
            col.metric(k["label"], k["shown"], delta=k["delta"], border=True, height="stretch",
                       delta_color="off" if k["delta"] in (None, ctx.t("delta.flat")) else "normal",
                       delta_description=ctx.t(f"kpi.vs_{snap['compare']['kind']}") if k["delta"] else None)
    with st.container(key="briefing_summary"):
        st.code(snap["text"], language=None, wrap_lines=True)
    png = archive.image(ctx.store.directory, entry, "png", ctx.lang)
    if png:  # the whole briefing as it was drawn when archived
        with st.expander(ctx.t("archive.picture"), expanded=True):
            st.image(png, width="stretch")
    cols = st.columns(2)
    for i, chart in enumerate(snap["charts"]):
        with cols[i % 2]:
            st.markdown(f"**{fmt.md_escape(chart['title'])}**")
            st.dataframe(pd.DataFrame(office.chart_rows(chart, snap["lang"]), columns=[c["label"] for c in chart["columns"]]),
                         hide_index=True, width="stretch")
    for line in snap["footnote"]:
        st.caption(fmt.md_escape(line))
    with st.container(key="archived_actions", border=True):
        office_buttons(snap, file_name(snap), entry.get("note"), "archived")
        images = {"png": png, "pdf": archive.image(ctx.store.directory, entry, "pdf", ctx.lang)}
        if any(images.values()):
            left, right, _ = st.columns([1, 1, 4])
            for column, kind in ((left, "png"), (right, "pdf")):
                if images[kind]:
                    column.download_button(ctx.t(f"briefing.download_{kind}"), images[kind],
                                           file_name=export.safe_filename(file_name(snap), kind),
                                           mime="image/png" if kind == "png" else "application/pdf",
                                           on_click="ignore", key=f"archived_{kind}")
        left, right, _ = st.columns([1, 1, 3])
        if right.button(ctx.t("archive.back"), icon=":material/undo:", key="archived_back"):
            st.query_params.pop("archive", None)
            st.rerun()
        if left.button(ctx.t("archive.diff"), icon=":material/compare_arrows:", key="archived_diff"):
            now = archive.recompute(ctx.store, snap, archive.as_scope(entry, ctx.scope.show_names))
            changes = archive.compare(snap, now)
            if not changes:
                st.success(ctx.t("archive.diff_none"))
                return
            st.markdown(ctx.t("archive.diff_some", n=len(changes)))
            st.dataframe(pd.DataFrame([{
                ctx.t("archive.col_section"): c["section"], ctx.t("archive.col_row"): c["row"] or c["figure"],
                ctx.t("archive.col_column"): c["column"], ctx.t("archive.col_archived"): c["archived_shown"],
                ctx.t("archive.col_now"): c["now_shown"], ctx.t("archive.col_difference"): c["difference"],
            } for c in changes]), hide_index=True, width="stretch", key="archived_changes")
            imports = archive.imports_since(ctx.store.directory, entry, snap)
            if not imports:
                st.caption(ctx.t("archive.diff_no_imports"))
                return
            st.markdown(ctx.t("archive.diff_imports"))
            st.dataframe(pd.DataFrame([{
                ctx.t("archive.col_file"): i["file"], ctx.t("archive.col_import_who"): i["who"],
                ctx.t("archive.col_import_at"): archive.when(i["at"], ctx.lang), ctx.t("archive.col_rows"): i["loaded"],
                ctx.t("archive.col_dates"): archive.dates(i["first_date"], i["last_date"], ctx.lang)
                or ctx.t("archive.dates_unknown"),
            } for i in imports]), hide_index=True, width="stretch", key="archived_imports")


if st.query_params.get("archive"):
    show_archived(st.query_params["archive"])
    st.stop()

manifest = ctx.store.manifest()
data = briefing.gather(ctx.query, ctx.filters, ctx.period, ctx.lang, ctx.settings, ui.county_name(ctx),
                       briefing.source_name(ctx.store), bool(manifest.get("synthetic")), ctx.last,
                       ui.boundaries(ctx), scope=ctx.scope, shapes=lambda: ui.county_shapes(ctx),
                       counties=ui.store_counties(ctx.directory, ctx.scope))  # the filter bar's, no query
stamp = f"{ctx.filters.start:%Y%m%d}-{ctx.filters.end:%Y%m%d}"


def png_name(title: str) -> str:
    return f"{title}_{stamp}"


with st.container(key="briefing_title"):
    st.subheader(fmt.md_escape(data.title), anchor=False)
ui.kpi_tiles(ctx, captions=False)  # the comparison period is in the footnote
with st.container(key="briefing_summary"):  # st.code for its copy button, set as prose (CSS above)
    st.code(data.text, language=None, wrap_lines=True)

charts_box = st.container(key="briefing_charts")
a, b, c = charts_box.columns([9, 11, 10])
with a:
    title = data.map_title()  # a view of several counties maps the counties
    if data.map_rows.empty:
        st.info(ctx.t("app.no_data"))
    else:
        # a province's counties as polygons: drawn once per view (ui.shared), not on every run
        figure = ui.shared(ctx, "briefing_map", lambda: briefing_figure.coverage_figure(
            data.map_rows, data.map_shapes, ctx.settings, ctx.lang, title, height=ROW, legend="right"), title)
        ui.plotly(figure, png_name(title), key="briefing_map")
    p = data.pipeline
    title = ctx.t("wishes.funnel_title")
    ui.plotly(charts.funnel([ctx.t("wishes.stage_posted"), ctx.t("wishes.stage_claimed_funnel"),
                             ctx.t("wishes.stage_completed")], [p["posted"], p["claimed"], p["completed"]],
                            ctx.lang, title, height=ROW),
              png_name(title), key="briefing_funnel")
    st.caption(wishes.funnel_basis(p, ctx.lang))
with b:
    if not data.trend["records"].any():
        st.info(ctx.t("app.no_data"))
    else:
        trend = charts.monthly_trend(data.trend, ctx.lang, ctx.filters.start, ctx.filters.end)
        trend.update_layout(height=ROW, margin={"t": 72})  # the legend on a line of its own
        ui.plotly(trend, png_name(ctx.t("overview.trend")),
                  key="briefing_trend")
    title = data.ranking_title()
    ui.plotly(briefing_figure.compact(charts.ranking(data.map_rows, "community", "hours", ctx.lang, title,
                                                     "hours", 1, height=ROW)),
              png_name(title), key="briefing_communities")
with c:
    title = ctx.t("services.by_category")
    if data.categories.empty:
        st.info(ctx.t("app.no_data"))
    else:
        groups = {g: ctx.t(f"services.group_{g}") for g in services.GROUPS}
        categories = charts.hours_persons_panels(data.categories, "category", ctx.lang, title, group_col="group",
                                                 group_labels=groups, height=2 * ROW + 16)
        briefing_figure.widen_panels(categories, data.categories, {"hours": "xaxis", "persons": "xaxis2"}, 2.0)
        ui.plotly(briefing_figure.compact(categories), png_name(title), key="briefing_categories")

st.caption(fmt.md_escape(data.footnote()[0]))
if ui.left_out_note(ctx):
    st.caption(ui.left_out_note(ctx))
st.caption(f"{ctx.t('briefing.copy_hint')}{ctx.t('briefing.rounding')}")

with st.container(key="briefing_exports", border=True):
    st.markdown(f"**{ctx.t('briefing.exports')}**")
    st.caption(ctx.t("briefing.print_hint"))
    st.caption(ctx.t("briefing.exports_help", width=briefing_figure.W * briefing_figure.PNG_SCALE,
                     height=briefing_figure.H * briefing_figure.PNG_SCALE))
    shown = repr((ctx.version, ctx.scope, ctx.filters, ctx.period, ctx.lang))
    if st.button(ctx.t("briefing.generate"), icon=":material/image:", key="briefing_generate"):
        with st.spinner(ctx.t("briefing.generating")):
            try:
                st.session_state[IMAGES] = (shown, ui.briefing_images(ctx, data))
            except render.RenderError as exc:
                st.session_state.pop(IMAGES, None)
                st.error(str(exc), icon=":material/error:")
    stored = st.session_state.get(IMAGES)
    if stored and stored[0] == shown:
        name = ctx.t("briefing.file_name", county=data.county, start=f"{ctx.filters.start:%Y%m%d}",
                     end=f"{ctx.filters.end:%Y%m%d}")
        left, right, _ = st.columns([1, 1, 4])
        left.download_button(ctx.t("briefing.download_png"), stored[1]["png"], mime="image/png",
                             file_name=export.safe_filename(name, "png"), icon=":material/download:",
                             on_click="ignore", key="briefing_png")
        right.download_button(ctx.t("briefing.download_pdf"), stored[1]["pdf"], mime="application/pdf",
                              file_name=export.safe_filename(name, "pdf"), icon=":material/download:",
                              on_click="ignore", key="briefing_pdf")
    st.caption(ctx.t("office.help"))
    frozen = snapshot.freeze(data)
    office_buttons(frozen, file_name(frozen), None, "briefing", data)

with st.container(key="briefing_archive", border=True):
    st.markdown(f"**{ctx.t('archive.title')}**")
    st.caption(ctx.t("archive.help"))
    if archive.is_bundled_demo(ctx.store.directory):
        st.info(ctx.t("archive.demo"), icon=":material/info:")
    else:
        note = st.text_input(ctx.t("archive.note"), max_chars=archive.NOTE_MAX, key="archive_note")
        if st.button(ctx.t("archive.save"), icon=":material/inventory_2:", key="archive_save"):
            images = stored[1] if stored and stored[0] == shown else None
            try:
                saved = archive.save(ctx.store.directory, frozen, ui.actor(), note, images,
                                     archive.fingerprint(ctx.store))
                st.success(ctx.t("archive.saved", id=saved["id"]), icon=":material/check_circle:")
            except OSError as exc:
                st.error(ctx.t("archive.failed", error=exc.strerror or type(exc).__name__), icon=":material/error:")
    listed = archive.entries(ctx.store.directory, ctx.scope)
    if not listed:
        st.caption(ctx.t("archive.none"))
    else:
        st.markdown(ctx.t("archive.list"))
        st.dataframe(pd.DataFrame([{
            ctx.t("archive.col_id"): e["id"], ctx.t("archive.col_at"): archive.when(e["at"], ctx.lang),
            ctx.t("archive.col_who"): e["who"],
            ctx.t("archive.col_period"): fmt.date_range(dt.date.fromisoformat(e["start"]),
                                                        dt.date.fromisoformat(e["end"]), ctx.lang),
            ctx.t("archive.col_note"): e.get("note") or "",
            ctx.t("archive.col_last"): fmt.date(dt.date.fromisoformat(e["last"]), ctx.lang) if e.get("last") else fmt.DASH,
        } for e in listed]), hide_index=True, width="stretch", key="archive_list")
        left, right, _ = st.columns([3, 1, 2], vertical_alignment="bottom")
        chosen = left.selectbox(ctx.t("archive.choose"), [e["id"] for e in listed], key="archive_choice",
                                format_func=lambda i: next(archive.describe(e, ctx.lang) for e in listed if e["id"] == i))
        if right.button(ctx.t("archive.open"), icon=":material/folder_open:", key="archive_open"):
            st.query_params["archive"] = chosen
            st.rerun()
