"""数据管理: download templates, upload ledgers, check them, import on confirmation; store status."""

import streamlit as st

from redservice import datamgmt, fmt, ingest, ui
from redservice.filters import Scope

ctx = ui.context()
lang = ctx.lang
UPLOAD_TYPES = ["csv", "xlsx", "xls"]


def _mapping_form(index: int, report, files, add_new: bool) -> None:
    """Each of the file's columns with a choice of template field, a preview, and 保存为映射 (opened
    by itself when the file could not be read, on request when it only has columns of its own)."""
    if not st.toggle(ctx.t("mapping.title"), value=bool(report.fatal or report.missing_columns),
                     key=f"map_open_{index}"):
        return
    st.caption(ctx.t("mapping.help"))
    tables = list(ingest.ORDER)
    table = st.selectbox(ctx.t("mapping.table"), tables, key=f"map_table_{index}",
                         index=tables.index(report.table) if report.table in tables else tables.index("services"),
                         format_func=lambda v: datamgmt.table_label(v, lang))
    guess = datamgmt.mapping_guess(report, table, datamgmt.known_names_of(ctx.directory, ctx.version))
    options = datamgmt.field_options(table)
    chosen = {}
    grid = st.columns(4)
    for j, header in enumerate(datamgmt.mapping_headers(report)):
        with grid[j % 4]:
            chosen[header] = st.selectbox(fmt.md_escape(header), options, index=options.index(guess.get(header)),
                                          key=f"map_{index}_{table}_{j}",
                                          format_func=lambda v, tb=table: datamgmt.field_label(tb, v, lang))
    name = st.text_input(ctx.t("mapping.name"), value=datamgmt.default_mapping_name(report, table),
                         key=f"map_name_{index}_{table}", max_chars=40)
    candidate = datamgmt.make_mapping(name, table, report, chosen, who=ui.viewer_label())
    file = [f for f in files if f[0] == report.file][:1]
    trial_key = datamgmt.fingerprint(file, repr((candidate.table, candidate.fields)), add_new, ctx.version)
    if st.session_state.get(f"map_trial_key_{index}") != trial_key:
        st.session_state[f"map_trial_{index}"] = datamgmt.try_mapping(ctx.directory, file, add_new, candidate, lang)
        st.session_state[f"map_trial_key_{index}"] = trial_key
    trial, problem = st.session_state[f"map_trial_{index}"]
    if problem:
        st.warning(problem, icon=":material/rule:")
    elif trial is not None:
        tried = trial.reports[0]
        st.caption(fmt.md_escape(ctx.t("mapping.preview", summary=tried.summary(lang))))
        preview = datamgmt.preview_frame(tried, lang, ctx.scope.show_names)
        if not preview.empty:
            st.dataframe(preview.head(5), hide_index=True, width="stretch")
    if st.button(ctx.t("mapping.save"), key=f"map_save_{index}", icon=":material/save:",
                 disabled=bool(problem) or not can_write):
        failed = datamgmt.save_mapping(ctx.directory, candidate, lang)
        if failed:
            st.error(failed, icon=":material/error:")
        else:
            st.session_state["data_done"] = ctx.t("mapping.saved", name=fmt.md_escape(candidate.name))
            st.session_state.pop("data_batch_key", None)
            st.rerun()


# -- templates ------------------------------------------------------------------------------------
st.subheader(ctx.t("data.templates"))
st.caption(ctx.t("data.templates_help"))
per_row = 4  # eight templates in two rows: full names even on a 1366 px laptop
cols = [c for _ in range(-(-len(ingest.ORDER) // per_row)) for c in st.columns(per_row)]
for col, table in zip(cols, ingest.ORDER):
    with col:
        st.download_button(datamgmt.table_label(table, lang), data=datamgmt.template(table),
                           file_name=ingest.templates.template_filename(table), key=f"tpl_{table}",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           icon=":material/download:", on_click="ignore", width="stretch")

# -- upload, check, import ------------------------------------------------------------------------
st.subheader(ctx.t("data.upload"))
can_write = datamgmt.writable(ctx.directory)
if not can_write:
    st.info(ctx.t("data.demo_readonly"), icon=":material/lock:")
done = st.session_state.pop("data_done", None)
if done:
    st.success(done, icon=":material/check_circle:")

left, right = st.columns([3, 2])
with left:
    st.html(ui.file_uploader_text(lang, UPLOAD_TYPES))
    uploads = st.file_uploader(ctx.t("data.files"), type=UPLOAD_TYPES, accept_multiple_files=True,
                               key=f"data_files_{st.session_state.get('data_round', 0)}",
                               help=ctx.t("data.files_help"))
with right:
    choices = [None, *ingest.ORDER]
    table = st.selectbox(ctx.t("data.table_choice"), choices, key="data_table",
                         format_func=lambda v: ctx.t("data.auto") if v is None else datamgmt.table_label(v, lang))
    add_new = st.checkbox(ctx.t("data.add_new"), key="data_add_new", help=ctx.t("data.add_new_help"))
    # the county imported into (the command line's --county) when the store holds several
    # (datamgmt.county_choices); a store of one county (the demo) shows nothing and imports as before
    # the store's counties: the entry script's list (the viewer's scope: every county, or theirs),
    # unless the viewer is limited to some units or communities
    whole = ctx.scope if ctx.scope.units is None and ctx.scope.communities is None else Scope()
    county_options = datamgmt.county_choices(ui.store_counties(ctx.directory, whole), ctx.scope)
    county = None
    if county_options:
        county = st.selectbox(ctx.t("data.county"), county_options, key="data_county",
                              format_func=lambda v: ctx.t("data.any_county") if v is None else v,
                              help=ctx.t("data.county_help"))

if uploads:
    files = [(f.name, f.getvalue()) for f in uploads]
    key = datamgmt.fingerprint(files, table, add_new, ctx.version, county) + lang  # the rejected rows' workbook is in it
    if st.session_state.get("data_batch_key") != key:
        with st.spinner(ctx.t("data.checking")):
            try:
                st.session_state["data_batch"] = datamgmt.check(ctx.directory, files, table, add_new, lang=lang,
                                                                county=county)
            except ingest.ImportFailed as exc:
                st.error(fmt.md_escape(exc.message(lang)), icon=":material/error:")
                st.stop()
        st.session_state["data_batch_key"] = key
    batch = st.session_state["data_batch"]

    st.markdown(f"**{ctx.t('data.report')}**")
    st.dataframe(datamgmt.summary_frame(batch, lang), hide_index=True, width="stretch")
    for index, report in enumerate(batch.reports):
        view = datamgmt.report_view(report, lang)  # every user-supplied string escaped for Markdown
        with st.expander(view["title"], expanded=len(batch.reports) == 1 or bool(report.fatal)):
            if report.fatal:
                st.error(view["fatal"], icon=":material/error:")
                if datamgmt.needs_mapping(report):
                    _mapping_form(index, report, files, add_new)
                continue
            st.markdown(view["summary"])
            if view["seen_before"]:
                st.caption(view["seen_before"])
            for note in view["notes"]:
                st.caption(note)
            c1, c2 = st.columns([2, 1])
            with c1:
                if report.errors:
                    st.markdown(f"**{ctx.t('data.reasons')}**")
                    st.dataframe(datamgmt.kinds_frame(report, lang), hide_index=True, width="stretch")
            with c2:
                st.markdown(f"**{ctx.t('data.skipped')}**")
                st.dataframe(datamgmt.skipped_frame(report, lang), hide_index=True, width="stretch")
            if report.errors:
                st.markdown(f"**{ctx.t('data.errors')}**")
                errors = datamgmt.errors_frame(report, lang)
                st.dataframe(errors, hide_index=True, width="stretch", height=min(320, 35 * (len(errors) + 1) + 3))
            preview = datamgmt.preview_frame(report, lang, ctx.scope.show_names)
            if not preview.empty:
                st.markdown(f"**{ctx.t('data.preview')}**")
                st.dataframe(preview, hide_index=True, width="stretch")
            if datamgmt.needs_mapping(report):
                _mapping_form(index, report, files, add_new)

    if batch.rejected:
        st.download_button(ctx.t("data.download_rejected", n=batch.rejected),
                           data=datamgmt.rejected_workbook(batch, lang), file_name="未导入的行.xlsx",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           icon=":material/download:", on_click="ignore", key="data_rejected")
    if batch.loaded:
        st.caption(ctx.t("data.confirm_help", n=batch.loaded))
    if st.button(ctx.t("data.confirm"), type="primary", icon=":material/upload:", key="data_confirm",
                 disabled=not (can_write and batch.loaded)):
        try:
            with st.spinner(ctx.t("data.importing")):
                fresh, generation, committed = datamgmt.import_batch(batch, files, ui.actor(), lang)
        except ingest.ImportFailed as exc:
            st.error(fmt.md_escape(exc.message(lang)), icon=":material/error:")
            st.stop()
        if committed:
            st.session_state["data_done"] = ctx.t("data.done", n=fresh.loaded)
            st.session_state["data_round"] = st.session_state.get("data_round", 0) + 1
            st.session_state.pop("data_batch", None)
            st.session_state.pop("data_batch_key", None)
            st.rerun()
        st.session_state["data_batch"] = fresh
        st.warning(ctx.t("data.stale"), icon=":material/sync_problem:")

# -- store status ---------------------------------------------------------------------------------
st.subheader(ctx.t("data.status"))
notice = datamgmt.copy_notice(ctx.directory, ctx.store.mode)
if notice:
    st.warning(ctx.t(notice[0], **{k: fmt.md_escape(v) for k, v in notice[1].items()}), icon=":material/sync_problem:")
status = ctx.query("store_status", filters=datamgmt.status_filters())
s1, s2 = st.columns([3, 2])
with s1:
    st.dataframe(datamgmt.status_frame(status, lang), hide_index=True, width="stretch")
with s2:
    st.caption(fmt.md_escape(ctx.t("data.directory", path=ctx.directory)))
    if ctx.last:
        st.caption(ctx.t("app.data_until", date=fmt.date(ctx.last, lang)))
    recent = datamgmt.history(ctx.directory, counties=ctx.scope.counties)
    if recent:
        st.markdown(f"**{ctx.t('data.history')}**")
        st.dataframe(datamgmt.history_frame(recent, lang), hide_index=True, width="stretch")
