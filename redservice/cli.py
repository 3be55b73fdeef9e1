"""Command line: ``python -m redservice <command>``. Every command takes ``--data DIR``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from redservice import config


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"日期格式应为 YYYY-MM-DD：{text}") from exc


def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="data directory (default: $REDSERVICE_DATA, else the bundled demo)")


def _add_selection(p: argparse.ArgumentParser) -> None:
    _add_data(p)
    p.add_argument("--start", type=_date, help="first day, YYYY-MM-DD (default: the app's default period)")
    p.add_argument("--end", type=_date, help="last day, YYYY-MM-DD")
    p.add_argument("--county", action="append", default=[],
                   help="county, 所属县（市、区） (repeatable; a store of several counties)")
    p.add_argument("--unit", action="append", default=[], help="work unit (repeatable)")
    p.add_argument("--branch", action="append", default=[], help="Party branch (repeatable)")
    p.add_argument("--community", action="append", default=[], help="community (repeatable)")
    p.add_argument("--category", action="append", default=[], help="service category (repeatable)")
    p.add_argument("--form", action="append", default=[], help="activity form (repeatable)")
    p.add_argument("--compare", choices=("prev", "yoy"), default="prev",
                   help="compare with the previous period (环比, default) or the same period a year before (同比)")
    p.add_argument("--as", dest="viewer", metavar="EMAIL",
                   help="apply this user's role and scope from $REDSERVICE_ACCESS (required when it is set)")
    p.add_argument("--json", action="store_true", help="print JSON")


EXIT_INTERNAL = 3  # an import failed for a reason of the machine (disk, file system, concurrent writers)


class CliError(Exception):
    """A problem the user must fix; printed in Chinese, exit code 2."""


def _scope(args):
    from redservice import access

    if access.access_path() is None:
        return access.LOCAL
    if not args.viewer:
        raise CliError(f"已配置访问控制（{access.ENV_ACCESS}），请用 --as 邮箱 指定查看身份")
    who = access.resolve(args.viewer, True)
    if who is None:
        raise CliError(f"账号 {args.viewer} 未在访问控制文件中授权")
    return who.scope


def _selection(args):
    from redservice import metrics
    from redservice.store import Store

    scope = _scope(args)
    store = Store(_read_dir(args.data))
    filters = metrics.default_filters(
        store, scope, start=args.start, end=args.end, counties=args.county, units=args.unit, branches=args.branch,
        communities=args.community, categories=args.category, forms=args.form, compare=args.compare)
    if filters.end < filters.start:
        raise CliError(f"结束日期 {filters.end} 早于开始日期 {filters.start}")
    return store, filters, scope


def cmd_demo(args) -> int:
    from redservice import demo

    if args.city:
        if not args.out:
            raise CliError("--city 需要 --out 目录（演示城市是生成的数据，不写入 data/demo）")
        out = demo.write_city(args.out)
        print(f"demo city written to {out}")
        return 0
    out = demo.write(args.out or config.DEMO_DIR)
    print(f"demo county written to {out}")
    return 0


def cmd_kpis(args) -> int:
    from redservice import fmt, metrics
    from redservice.i18n import t

    store, filters, scope = _selection(args)
    if args.by == "county":
        from redservice import briefing

        names = filters.counties or briefing.store_counties(lambda name, filters=None: store.query(name, filters, scope))
        if not names:
            raise CliError("数据中没有所属县（市、区）：--by county 需要社区名录填写所属县")
        by = {c: metrics.kpis_json(metrics.kpis(store, filters.within(counties=[c]), scope)) for c in names}
        if args.json:
            print(json.dumps(by, ensure_ascii=False, indent=1))
            return 0
        for county, figures in by.items():
            print(county + "：" + "，".join(f"{t(f'kpi.{k}', 'zh')} {metrics.format_value(k, v, 'zh')}"
                                           for k, v in figures.items()))
        return 0
    kpis = metrics.kpis(store, filters, scope)
    if args.json:
        print(json.dumps(metrics.kpis_json(kpis), ensure_ascii=False, indent=1))
        return 0
    lang = "zh"
    print(t("filter.range", lang, start=fmt.date(filters.start), end=fmt.date(filters.end)))
    for card in metrics.cards(kpis, lang):
        delta = f"（{t(f'kpi.vs_{filters.compare}', lang)} {card.delta}）" if card.delta else ""
        print(f"{card.label}：{card.value}{delta}")
    return 0


def cmd_brief(args) -> int:
    from redservice import briefing, metrics

    store, filters, scope = _selection(args)
    period = "ytd" if not (args.start or args.end) else None
    result = metrics.kpis(store, filters, scope)
    text = briefing.paragraph(result, period, args.lang, scope,
                              briefing.store_counties(lambda name, filters=None: store.query(name, filters, scope)))
    written, archived = {}, None
    if args.png or args.pdf or args.docx or args.pptx or args.archive:
        from redservice.brief import snapshot

        data = _brief_data(args, store, filters, scope, period)
        images = _brief_images(args, data) if (args.png or args.pdf) else {}
        written.update({kind: path for kind, (path, _) in images.items()})
        snap = snapshot.freeze(data)
        written.update(_brief_office(args, snap, data))
        if args.archive:
            archived = _brief_archive(args, store, snap, {kind: blob for kind, (_, blob) in images.items()})
    if args.json:
        extra = {"archive": archived} if archived else {}
        print(json.dumps({"text": text, "start": filters.start.isoformat(), "end": filters.end.isoformat(),
                          "kpis": metrics.kpis_json(result), **written, **extra}, ensure_ascii=False, indent=1))
    else:
        print(text)
        for kind, path in written.items():
            print(f"{kind.upper()}: {path}", file=sys.stderr)
        if archived:
            print(f"已存档：{archived['id']}", file=sys.stderr)
    return 0


def _brief_archive(args, store, snap: dict, images: dict[str, bytes]) -> dict:
    """Archive the briefing (redservice.brief.archive) as the command line's user; the index line."""
    from redservice.brief import archive
    from redservice.ingest.audit import os_user

    who = args.viewer or f"{os_user()}（命令行）"
    if archive.is_bundled_demo(store.directory):
        raise CliError("不能存档到随附的演示数据目录：请用 --data 指定自己的数据目录")
    try:
        return archive.save(store.directory, snap, who, args.note, images, archive.fingerprint(store))
    except OSError as exc:
        raise CliError(f"存档失败（{exc.strerror or exc}），存档记录未作任何改动") from exc


def cmd_briefings(args) -> int:
    """List the archived briefings; --show one as archived; --diff one against today's data."""
    from redservice.brief import archive, office
    from redservice.store import Store

    scope = _scope(args)
    directory = _read_dir(args.data)
    if args.show or args.diff:
        try:
            entry, snap = archive.load(directory, args.show or args.diff, scope)
        except archive.ArchiveError as exc:
            raise CliError(str(exc)) from exc
        if args.show:
            if args.json:
                print(json.dumps({"entry": entry, "snapshot": snap}, ensure_ascii=False, indent=1))
                return 0
            print(archive.describe(entry, snap["lang"]))
            print(snap["title"])
            for line in snap["filter_lines"]:
                print(line)
            for label, current, previous, delta in office.kpi_rows(snap):
                print(f"{label}：{current}（对比期 {previous}，{delta}）")
            print(snap["text"])
            return 0
        store = Store(directory)
        try:
            now = archive.recompute(store, snap, archive.as_scope(entry, scope.show_names))
        finally:
            store.close()
        changes = archive.compare(snap, now)
        imports = archive.imports_since(directory, entry, snap)
        if args.json:
            print(json.dumps({"entry": entry, "changes": changes, "imports": imports}, ensure_ascii=False, indent=1))
            return 0
        print(archive.describe(entry, snap["lang"]))
        if not changes:
            print("所有数字与存档时一致。")
        for c in changes:
            where = "·".join(x for x in (c["section"], c["row"] or c["figure"], c["column"]) if x)
            print(f"{where}：{c['archived_shown']} → {c['now_shown']}（{c['difference']}）")
        for i in imports:
            dates = archive.dates(i["first_date"], i["last_date"]) or "日期未记录"
            print(f"  导入 {i['file']}（{archive.when(i['at'])}，{i['who']}，{i['loaded']}行，数据日期{dates}）")
        return 0
    listed = archive.entries(directory, scope)
    if args.json:
        print(json.dumps(listed, ensure_ascii=False, indent=1))
        return 0
    if not listed:
        print("还没有存档的汇报。")
    for e in listed:
        print(f"{e['id']}\t{archive.describe(e, e['lang'])}")
    return 0


def cmd_import(args) -> int:
    from redservice import ingest
    from redservice.i18n import t
    from redservice.ingest.report import FileReport

    if args.table and ingest.table_of(args.table) is None:
        names = "、".join(f"{t}（{tpl.name}）" for t, tpl in ingest.TEMPLATES.items())
        print(f"未知的表：{args.table}。可选：{names}", file=sys.stderr)
        return 2
    directory = config.data_dir(args.data)
    if not args.dry_run and directory.resolve() == config.DEMO_DIR.resolve():
        print("不能导入到随附的演示数据目录：请用 --data 指定自己的数据目录（不存在时自动新建）。", file=sys.stderr)
        return 2
    sources, unreadable = [], []
    for name in args.files:
        try:
            sources.append(ingest.Source.from_path(name))
        except OSError as exc:
            report = FileReport(name)
            report.fatal = ("broken_workbook", {"detail": exc.strerror or str(exc)})
            unreadable.append(report)
    from redservice.ingest.mapping import MappingError

    try:
        batch, generation = ingest.run(directory, sources, table=args.table, add_new_names=args.add_new_names,
                                       dry_run=args.dry_run, mapping=args.mapping, county=args.county)
    except MappingError as exc:
        raise CliError(t(f"mapping.{exc.kind}", **exc.params)) from exc
    except Exception as exc:  # a failure of the machine, not of the files: exit 3, the store unchanged
        failure = ingest.ImportFailed.from_exception(exc)
        if args.json:
            print(json.dumps({"fatal": failure.message(), "kind": failure.kind, "exit": EXIT_INTERNAL},
                             ensure_ascii=False))
        print(f"错误：{failure.message()}", file=sys.stderr)
        return EXIT_INTERNAL
    reports = batch.reports + unreadable
    for report in reports:
        if args.json:
            print(json.dumps(report.as_json(), ensure_ascii=False))
            continue
        print(report.summary())
        for note in report.note_texts():
            print(f"  · {note}")
        for error in report.errors[:args.max_errors]:
            print(f"  ✗ {error.reason(report.file)}")
        if len(report.errors) > args.max_errors:
            print(f"  … 另有{len(report.errors) - args.max_errors}条错误（用 --json 查看全部）")
    if not args.json:
        if args.dry_run:
            print("试运行：未写入任何数据。")
        elif generation:
            print(f"已写入 {directory}（第{int(generation)}版数据）。")
        else:
            print("没有新的数据需要写入。")
    return 2 if unreadable else batch.exit_code()


def cmd_quality(args) -> int:
    from redservice import quality

    store, filters, scope = _selection(args)
    out = quality.report(store, filters, scope, config.settings(store.directory))
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    from redservice.i18n import t

    print(f"{filters.start}—{filters.end}")
    for rule, v in out["rules"].items():
        shown = "不适用" if not v["applicable"] else f"{v['count']}（{t(f'quality.counts.{rule}')}），涉及记录{v['records']}条"
        print(f"  {t(f'quality.rule.{rule}')}：{shown}")
    for u in out["units"][:20]:
        print(f"  {u['unit']}：检查{u['records']}条，存疑{u['flagged']}条（{u['rate']:.1%}）")
    return 0


def _assessment(args):
    """The assessment of ``assess`` / ``feedback`` (redservice.feedback.Assessment): the year, the
    as-of date (default: the data's last date in the year), the filters and the viewer's scope."""
    import pandas as pd

    from redservice import assess, feedback, fmt, scorecard
    from redservice.filters import Filters
    from redservice.store import Store

    scope = _scope(args)
    store = Store(_read_dir(args.data))
    settings = config.settings(store.directory)
    y0, y1 = assess.year_bounds(args.year)
    span = store.query("data_range", None, scope).iloc[0]
    last = None if fmt.missing(span["last_date"]) else pd.Timestamp(span["last_date"]).date()
    as_of = args.as_of or assess.default_as_of(args.year, last)
    if not y0 <= as_of <= y1:
        raise CliError(f"截至日期 {as_of} 不在 {args.year} 年内")
    filters = Filters.make(y0, as_of, counties=args.county, units=args.unit,
                           branches=args.branch, communities=args.community)
    try:
        a = feedback.load(lambda name, f=None, **extra: store.query(name, f or filters, scope, **extra),
                          filters, scope, settings, args.year, as_of)
    except scorecard.SettingsError as exc:
        raise CliError(str(exc)) from exc
    return a


def cmd_assess(args) -> int:
    from redservice import assess
    from redservice.i18n import t

    a = _assessment(args)
    out = assess.report_of(a)
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    final = "年末" if out["final"] else "年中"
    print(f"{a.year}年度考核，截至{a.as_of:%Y-%m-%d}（全年进度{out['pace']:.1%}，完成率按{final}口径）")
    for u in out["units"]:
        rate = "—" if u["reporting_rate"] is None else f"{u['reporting_rate']:.1%}"
        done = "—" if u["completion_rate"] is None else f"{u['completion_rate']:.1%}"
        flags = "；".join(u["flags"])
        print(f"  {u['unit']}：名册{u['on_roster']}人，报到{u['reported']}人（{rate}），"
              f"{t('assess.status.met')}{u['met']}人，{t('assess.status.on_track')}{u['on_track']}人，"
              f"{t('assess.status.behind')}{u['behind']}人，完成率{done}" + (f"　{flags}" if flags else ""))
    return 0


def cmd_feedback(args) -> int:
    from pathlib import Path

    from redservice import feedback
    from redservice.i18n import t

    a = _assessment(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    index = out / f"{t('feedback.index')}_{a.year}.xlsx"
    index.write_bytes(feedback.index_workbook(a))
    written = [index]
    for unit in a.units["unit"]:
        path = out / feedback.file_name(unit, a.year)
        path.write_bytes(feedback.workbook(a, unit))
        written.append(path)
    if args.json:
        print(json.dumps({"year": a.year, "as_of": a.as_of.isoformat(), "files": [str(p) for p in written]},
                         ensure_ascii=False, indent=1))
    else:
        print(f"已写入{len(written) - 1}个单位的反馈表和1个汇总表：{out}")
    return 0


def cmd_mappings(args) -> int:
    from redservice.ingest import mapping
    from redservice.ingest.templates import TEMPLATES

    saved = mapping.load(_read_dir(args.data))
    if args.json:
        print(json.dumps([{"name": m.name, "table": m.table, "template": TEMPLATES[m.table].name,
                           "signature": m.signature, "headers": m.headers, "fields": m.fields,
                           "saved_by": m.saved_by, "saved_at": m.saved_at} for m in saved.values()],
                         ensure_ascii=False, indent=1))
        return 0
    if not saved:
        print("尚未保存列映射。")
    for m in saved.values():
        template = TEMPLATES[m.table]
        pairs = "，".join(f"{h}→{template.column(k).header if k else '忽略'}" for h, k in m.fields.items())
        print(f"{m.name}（{template.name}；{m.saved_at or '—'} {m.saved_by or ''}）：{pairs}")
    return 0


def cmd_export(args) -> int:
    from pathlib import Path

    from redservice import metrics, page_exports
    from redservice.store import Store

    if args.list or not args.name:
        for code, title, page in page_exports.listing(args.lang):
            print(f"{code}\t{title}\t{page}")
        return 0 if args.list else 2
    if not args.out:
        raise CliError("请用 --out 文件.xlsx 指定输出文件")
    try:
        page_exports.find(args.name)
    except page_exports.ExportError as exc:
        raise CliError(f"没有名为“{args.name}”的导出；可用 export --list 查看") from exc
    scope = _scope(args)  # checks --as against the access file
    directory = _read_dir(args.data)
    params = {"county": args.county, "unit": args.unit, "branch": args.branch, "community": args.community,
              "category": args.category, "form": args.form}
    if args.start or args.end:
        store = Store(directory)
        try:
            f = metrics.default_filters(store, scope, start=args.start, end=args.end)
        finally:
            store.close()
        params.update(period="custom", start=f.start.isoformat(), end=f.end.isoformat())
    try:
        _, data = page_exports.build(args.name, directory, params, args.viewer, args.lang)
    except page_exports.ExportError as exc:
        raise CliError(str(exc)) from exc
    out = Path(args.out).expanduser()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    except OSError as exc:
        raise CliError(f"无法写入 {out}：{exc.strerror or exc}") from exc
    print(out)
    return 0


def cmd_templates(args) -> int:
    from redservice import ingest

    for path in ingest.write_templates(args.out):
        print(path)
    return 0
def _brief_data(args, store, filters, scope, period):
    """The whole briefing (``briefing.Briefing``) the 汇报 page shows for this selection."""
    from redservice.brief import snapshot

    return snapshot.from_store(store, filters, period, args.lang, scope)


def _write(path_text: str, data: bytes) -> str:
    from pathlib import Path

    path = Path(path_text).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise CliError(f"无法写入 {path}：{exc.strerror or exc}") from exc
    return str(path)


def _brief_images(args, data) -> dict[str, tuple[str, bytes]]:
    """Draw the whole briefing (redservice.briefing_figure) and write --png / --pdf;
    {format: (path, bytes)}."""
    from redservice import briefing_figure, render

    formats = [kind for kind in ("png", "pdf") if getattr(args, kind)]
    try:
        images = render.render(briefing_figure.build(data), formats, scale=briefing_figure.PNG_SCALE,
                               lang=args.lang)
    except render.RenderError as exc:
        raise CliError(str(exc)) from exc
    return {kind: (_write(getattr(args, kind), images[kind]), images[kind]) for kind in formats}


def _brief_office(args, snap: dict, data) -> dict[str, str]:
    """Write --docx / --pptx (redservice.brief.office) from the briefing's snapshot; {format: path}.
    The deck gets the coverage map as a picture when a browser can draw it."""
    from redservice.brief import office

    written = {}
    if args.docx:
        written["docx"] = _write(args.docx, office.to_docx(snap))
    if args.pptx:
        map_png = office.map_image(data)
        if map_png is None:
            print("提示：未能绘制覆盖地图（没有社区边界或服务器上没有 Chromium），PowerPoint 中只有覆盖率条形图。",
                  file=sys.stderr)
        written["pptx"] = _write(args.pptx, office.to_pptx(snap, map_png=map_png))
    return written


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(x.replace("_", "")) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"行数应为逗号分隔的整数：{text}") from exc
    if not sizes or min(sizes) <= 0:
        raise argparse.ArgumentTypeError(f"行数应为正整数：{text}")
    return sizes


def cmd_bench(args) -> int:
    from pathlib import Path

    from redservice import bench

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    only = None
    if args.pages:
        only = [k.strip() for k in args.pages.split(",") if k.strip()]
        known = [key for _path, key in bench.pages()]
        unknown = [k for k in only if k not in known]
        if unknown:
            raise CliError(f"未知页面：{'、'.join(unknown)}（可选：{'、'.join(known)}）")
    rows = bench.run(args.rows, Path(args.out) if args.out else bench.BUILD_DIR, args.runs, log, only, args.keep_copy,
                     not args.no_baseline)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        print(bench.table(rows))
    return 0


def _bench_against(args) -> int:
    """bench-build --against REV: this checkout's DuckDB build and REV's, side by side (bench.build_against)."""
    import subprocess

    from redservice import bench

    try:
        row = bench.build_against(config.data_dir(args.data), args.against, args.runs,
                                  lambda text: print(text, file=sys.stderr, flush=True))
    except subprocess.CalledProcessError as exc:
        step = "取出该版本（git worktree add）" if exc.cmd[0] == "git" else "构建"
        raise CliError(f"--against {args.against}：{step}失败（退出码 {exc.returncode}）") from exc
    except ValueError as exc:
        raise CliError(f"--against {args.against}：不是本仓库中的 git 版本") from exc
    except FileNotFoundError as exc:  # no git on the path
        raise CliError(f"--against {args.against}：需要 git（{exc.filename} 未找到）") from exc
    if args.json:
        print(json.dumps(row, ensure_ascii=False, indent=1))
        return 0
    print(f"{row['records']:,} records, {len(row['ratios'])} pair(s), each build from nothing in a process of its own")
    for label, side in ((f"{row['revision']} ({row['commit']})", row["against"]), ("this checkout", row["this"])):
        print(f"  {label}: median {side['median_s']:.1f} s (runs {', '.join(f'{x:.1f}' for x in side['runs'])}), "
              f"CPU {side['median_cpu_s']:.1f} s, peak RSS {side['peak_rss_mb']:.0f} MB")
    ratios = ", ".join(f"{x:.2f}×" for x in row["ratios"])
    print(f"  this ÷ {row['revision']}: {ratios}; median {row['median_ratio']:.2f}×")
    return 0


def cmd_bench_build(args) -> int:
    """The serving copy built by each engine, side by side (bench.build_engines)."""
    from redservice import bench

    if args.runs < 1:
        raise CliError(f"--runs：至少 1 次，不是 {args.runs}")
    if args.against:
        return _bench_against(args)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not engines or set(engines) - {"duckdb", "spark"}:
        raise CliError(f"--engines: duckdb and/or spark, not {args.engines!r}")
    rows = bench.build_engines(config.data_dir(args.data), engines, args.runs, args.spark_master, args.spark_conf,
                               lambda text: print(text, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            jvm = f", JVM peak {r['jvm_peak_rss_mb']:.0f} MB" if r["jvm_peak_rss_mb"] else ""
            print(f"{r['engine']:7} {r['records']:,} records ({r['rows']:,} rows with their households): median {r['median_s']:.1f} s of {r['runs']} "
                  f"(session {r['session_s']:.1f} s), peak RSS {r['peak_rss_mb']:.0f} MB{jvm}")
            for table, p in (r.get("partitions") or {}).items():
                print(f"        {table}: {p['counties']} counties in {p['files']} files, {p['mb']:.0f} MB; rows per "
                      f"county {p['rows_min']:,} / {p['rows_median']:,} / {p['rows_max']:,} (fewest / median / most)"
                      + (f"; written in {p['seconds']:.1f} s" if p["seconds"] is not None else ""))
        if rows and "identical" in rows[0]:
            r = rows[0]
            print(f"copies: {'identical' if r['identical'] else 'DIFFERENT'} in {r['tables_compared']} tables"
                  + (f" (differing: {', '.join(r['differing_tables'])})" if r["differing_tables"] else ""))
    return 0 if not rows or rows[0].get("identical", True) else 1


def cmd_build(args) -> int:
    """Rebuild the serving copy of a data directory; its time and this process's peak memory."""
    import errno
    import time
    from dataclasses import replace

    import duckdb

    from redservice import serving, storage
    from redservice.i18n import t

    if args.engine == "spark":
        return _build_on_spark(args)
    if args.spark_master or args.spark_remote or args.spark_conf:
        raise CliError("--spark-master, --spark-remote and --spark-conf need --engine spark")
    directory = _records_dir(args.data)
    tables = storage.table_dir(directory)
    counties = None
    if args.county:
        kept = set(storage.partition_files(tables, "services"))
        if not kept:
            raise CliError(f"{directory} 的记录未按区县分存（导入时用 import --county 才按区县存放），"
                           "不能按区县更新；请去掉 --county 完整生成")
        gone = serving.changed_counties(tables)[0] or set()  # a county whose records were all removed
        unknown = [c for c in args.county if c not in kept and c not in gone]
        if unknown:
            raise CliError(f"未知区县：{'、'.join(unknown)}（本数据目录的区县：{'、'.join(sorted(c for c in kept if c))}）")
        counties = set(args.county)
    try:
        limits = serving.build_limits_of(directory)
        if args.memory_limit:
            limits = replace(limits, memory_limit_mb=serving.parse_size_mb(args.memory_limit))
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    rows = serving.record_rows(tables)
    t0 = time.perf_counter()
    try:
        serving.refresh(tables, serving.build_rules(directory), limits, counties=counties)
    except serving.BuildMemoryError as exc:
        print(f"错误：{exc.message()}", file=sys.stderr)
        return EXIT_INTERNAL
    except (OSError, duckdb.IOException) as exc:  # the copy is replaced only once complete: unchanged
        text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        full = getattr(exc, "errno", None) == errno.ENOSPC or "No space left" in text
        print("错误：" + t("serving.no_space" if full else "serving.write_error", detail=text), file=sys.stderr)
        return EXIT_INTERNAL
    how = dict(serving.last_refresh)
    result = {"data": str(directory), "rows": rows, "seconds": round(time.perf_counter() - t0, 2),
              "mode": how.get("mode"), "counties": sorted(counties, key=str) if counties else None,
              "reason": how.get("reason"),
              "peak_rss_mb": round(serving.peak_rss_mb(), 1), "memory_limit_mb": limits.memory_limit_mb,
              "budget_mb": serving.plan_budget(rows, limits), "file_mb": round(serving.path(tables).stat().st_size / 2**20, 1)}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        named = "、".join(str(c) for c in result["counties"] or [])
        done = {"unchanged": f"查询副本已是{named}现有记录的，无需更新",
                "incremental": f"查询副本已按区县更新（{named}）"}.get(
            result["mode"], "查询副本已生成" + (f"（未能只更新{named}，已完整重建：{result['reason']}）" if counties else ""))
        print(f"{done}：{result['seconds']} 秒，峰值内存 {result['peak_rss_mb']:.0f} MB"
              f"（预算 {result['budget_mb']} MB，上限 {limits.memory_limit_mb} MB），文件 {result['file_mb']} MB")
    return 0


def _read_dir(data: str | None):
    """The data directory a reading command (kpis, brief, quality, assess, export …) reads: refused
    in Chinese when it does not exist, rather than figures of zero for a mistyped path (a new store
    with no records yet reads as one)."""
    directory = config.data_dir(data)
    if not directory.is_dir():
        raise CliError(f"数据目录不存在：{directory}（请检查 --data 或环境变量 REDSERVICE_DATA）")
    return directory


def _records_dir(data: str | None):
    """The local data directory to build a copy of: refused (in Chinese, naming it) when it does not
    exist or holds no service records, rather than a copy of nothing written there (or a traceback)."""
    from redservice import storage
    from redservice.i18n import t

    directory = config.data_dir(data)
    if not directory.is_dir() or not storage.table_files(storage.table_dir(directory), "services"):
        raise CliError(t("serving.no_records", path=str(directory)))
    return directory


def _build_on_spark(args) -> int:
    """``build --engine spark``: the same serving tables as Spark SQL jobs, written as Parquet beside
    the records (redservice.serving_spark); its time, and the peak memory of this process and, in
    local mode, of Spark's JVM (which does the work)."""
    import time

    from redservice import serving

    try:
        from redservice import serving_spark
    except ImportError as exc:  # pyspark and sqlglot are optional: requirements-spark.txt
        raise CliError(f"--engine spark needs pyspark and sqlglot (pip install -r requirements-spark.txt): {exc}") from exc
    if args.memory_limit:
        raise CliError("--memory-limit is DuckDB's; give Spark's memory with --spark-conf spark.driver.memory=4g")
    conf = {}
    for item in args.spark_conf or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--spark-conf: KEY=VALUE, not {item!r}")
        conf[key.strip()] = value.strip()
    data = args.data if args.data and serving_spark.is_remote(args.data) else str(_records_dir(args.data))
    t0 = time.perf_counter()
    ours = not serving_spark.active_session()  # a session the caller made (a test) is left running
    try:
        spark = serving_spark.session(args.spark_master, args.spark_remote, conf)
    except serving_spark.Unreachable as exc:
        raise CliError(str(exc)) from exc
    started = time.perf_counter() - t0
    try:
        local = not serving_spark.is_remote(data)
        counties = set(args.county) if args.county else None
        out = serving_spark.build(spark, data, serving.build_rules(data) if local else None, counties)
        jvm_mb = serving_spark.jvm_peak_rss_mb(spark)
        master = None if args.spark_remote else spark.sparkContext.master
    except serving_spark.Refused as exc:
        raise CliError(str(exc)) from exc
    finally:
        if ours:
            spark.stop()
    how = serving_spark.last_build
    result = {"data": data, "engine": "spark", "master": master,
              "remote": args.spark_remote, "out": out, "seconds": round(time.perf_counter() - t0, 2),
              "session_seconds": round(started, 2), "peak_rss_mb": round(serving.peak_rss_mb(), 1),
              "jvm_peak_rss_mb": None if jvm_mb is None else round(jvm_mb, 1),
              "mode": how.get("mode", "full"), "counties": how.get("counties"), "reason": how.get("reason"),
              "previous": how.get("previous"), "written": how.get("written"), "linked": how.get("linked"),
              "table_seconds": dict(serving_spark.timings)}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        jvm = "" if jvm_mb is None else f"，Spark JVM 峰值内存 {jvm_mb:.0f} MB"
        named = "、".join(str(c) for c in result["counties"] or [])
        if result["mode"] == "unchanged":
            done = f"Spark 查询副本已是{named}现有记录的，无需更新"
        elif result["mode"] == "incremental" and result["written"] is None:  # not a local directory: all written
            done = f"Spark 查询副本已按区县更新（{named}；沿用上次生成的编号，各区县文件均已重新写出）"
        elif result["mode"] == "incremental":
            written = sorted({str(c) for counties in result["written"].values() for c in counties})
            done = (f"Spark 查询副本已按区县更新（{named}；重写区县：{'、'.join(written) or '无'}，"
                    f"其余 {len(result['linked'].get('services', []))} 个区县沿用上次生成的文件）")
        else:
            done = "查询副本已由 Spark 生成" + (f"（未能只更新{named}，已完整生成：{result['reason']}）" if named else "")
        print(f"{done}：{result['seconds']} 秒（其中启动 {result['session_seconds']} 秒）{jvm}；输出 {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m redservice", description="在职党员进社区数据看板")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="write the synthetic demo county")
    p.add_argument("--out", help="directory to write (default: data/demo)")
    p.add_argument("--city", action="store_true",
                   help="write the synthetic demo city of 13 counties instead (needs --out)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("kpis", help="print the headline KPIs (the same SQL as the 总览 page)")
    _add_selection(p)
    p.add_argument("--by", choices=("county",), help="one set of KPIs per county (所属县（市、区）)")
    p.set_defaults(func=cmd_kpis)

    p = sub.add_parser("brief", help="print the briefing paragraph (the same text as the 汇报 page)")
    _add_selection(p)
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the text and images")
    p.add_argument("--png", metavar="FILE", help="also write the whole briefing as a PNG (A4 landscape, 2246 px wide)")
    p.add_argument("--pdf", metavar="FILE", help="also write the whole briefing as a one-page A4 PDF")
    p.add_argument("--docx", metavar="FILE", help="also write the briefing as an editable Word document (A4)")
    p.add_argument("--pptx", metavar="FILE",
                   help="also write the briefing as a 16:9 PowerPoint deck with native, editable charts")
    p.add_argument("--archive", action="store_true",
                   help="archive the briefing (汇报存档) in the data directory, with the PNG/PDF when asked for")
    p.add_argument("--note", metavar="TEXT", help="the archive's note, e.g. 报县委组织部")
    p.set_defaults(func=cmd_brief)
    p = sub.add_parser("briefings", help="list the archived briefings (汇报存档); --show one, --diff one "
                                         "against today's data")
    _add_data(p)
    p.add_argument("--show", metavar="ID", help="show an archived briefing as it was archived")
    p.add_argument("--diff", metavar="ID", help="recompute its view on today's data and list what changed")
    p.add_argument("--as", dest="viewer", metavar="EMAIL",
                   help="apply this user's role and scope from $REDSERVICE_ACCESS (required when it is set)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_briefings)
    p = sub.add_parser("bench", help="time every page's queries on generated stores of 100k-10M records, "
                                     "beside a plain-pandas baseline")
    p.add_argument("--rows", type=_sizes, default="100000,1000000,10000000",
                   help="service records per store, comma-separated (default: 100000,1000000,10000000)")
    p.add_argument("--runs", type=int, default=7, help="warm runs per kind of change (default: 7)")
    p.add_argument("--out", help="build directory for the stores and results (default: bench/)")
    p.add_argument("--pages", help="only these pages, comma-separated keys (e.g. overview,quality; default: all)")
    p.add_argument("--keep-copy", action="store_true",
                   help="use a store's serving copy as it is when built from its records (not rebuilt nor timed)")
    p.add_argument("--no-baseline", action="store_true", help="skip the plain-pandas baseline")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("bench-build", help="time the serving copy's build by each engine (duckdb, spark) "
                                           "on a data directory, a fresh process per run")
    _add_data(p)
    p.add_argument("--engines", default="duckdb,spark", help="comma-separated (default: duckdb,spark)")
    p.add_argument("--runs", type=int, default=1, help="builds per engine (default: 1)")
    p.add_argument("--spark-master", metavar="URL", help="Spark master (default: local[*])")
    p.add_argument("--spark-conf", metavar="KEY=VALUE", action="append", help="a Spark setting (repeatable)")
    p.add_argument("--against", metavar="REV", help="instead: the DuckDB build of this checkout and of git revision "
                                                    "REV, alternately, --runs pairs (each from nothing)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_bench_build)

    p = sub.add_parser("build", help="rebuild the serving copy of a data directory (serving.duckdb, or with "
                                     "--engine spark Parquet files built by Spark); prints its time and peak memory")
    p.add_argument("--data", help="data directory (default: $REDSERVICE_DATA, else the bundled demo); "
                   "with --engine spark also a URL Spark reads (hdfs://, s3a://)")
    p.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                   help="duckdb (default: serving.duckdb in this process) or spark (Spark SQL jobs; "
                        "Parquet under serving_parquet/, needs requirements-spark.txt)")
    p.add_argument("--spark-master", metavar="URL", help="Spark master (default: local[*]; yarn, spark://host:7077 …)")
    p.add_argument("--spark-remote", metavar="URL", help="a Spark Connect server instead, e.g. sc://host:15002")
    p.add_argument("--spark-conf", metavar="KEY=VALUE", action="append",
                   help="a Spark setting, e.g. spark.driver.memory=4g (repeatable)")
    p.add_argument("--memory-limit", metavar="SIZE", help="the most it may use, e.g. 50%% or 2GB "
                   "(default: [build] memory_limit of the store's settings; duckdb only)")
    p.add_argument("--county", metavar="NAME", action="append",
                   help="update the copy for this county's records only (repeatable): when they alone changed "
                        "since the copy was built, in place (spark: a build carrying the previous build's ids that "
                        "writes only the counties whose rows changed), else a full rebuild")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("import", help="import ledgers (台账: csv, xlsx, xls) into a data directory")
    _add_data(p)
    p.add_argument("files", nargs="+", metavar="FILE", help="ledger files; dimension tables are imported first")
    p.add_argument("--table", help="the table of every file (services or 服务台账 …); default: from the headers")
    p.add_argument("--add-new-names", action="store_true",
                   help="add communities, units, branches and compounds the store does not know yet")
    p.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    p.add_argument("--json", action="store_true", help="print one JSON object per file (one per line)")
    p.add_argument("--mapping", metavar="NAME", help="read every file with this saved column mapping "
                   "(saved mappings apply by themselves to files with the same header)")
    p.add_argument("--county", metavar="NAME", help="the county (所属县（市、区）) of every row: the lists' rows "
                   "without one get it, rows of another county are rejected, and only this county's records "
                   "are read and rewritten")
    p.add_argument("--max-errors", type=int, default=20, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("quality", help="数据质量: the [quality] rules' counts, units' flag rates and flagged records")
    _add_selection(p)
    p.set_defaults(func=cmd_quality)

    for name, helptext in (("assess", "年度考核: each unit and member against the year's targets (JSON with --json)"),
                           ("feedback", "年度考核: write every unit's 反馈表 (xlsx) and an index workbook")):
        p = sub.add_parser(name, help=helptext)
        _add_data(p)
        p.add_argument("--year", type=int, required=True, help="the year assessed, e.g. 2025")
        p.add_argument("--as-of", type=_date, help="as of this day, YYYY-MM-DD (default: the data's last date in the year)")
        p.add_argument("--county", action="append", default=[], help="county (repeatable)")
        p.add_argument("--unit", action="append", default=[], help="work unit (repeatable)")
        p.add_argument("--branch", action="append", default=[], help="Party branch (repeatable)")
        p.add_argument("--community", action="append", default=[], help="community (repeatable)")
        p.add_argument("--as", dest="viewer", metavar="EMAIL",
                       help="apply this user's role and scope from $REDSERVICE_ACCESS (required when it is set)")
        p.add_argument("--json", action="store_true", help="print JSON")
        if name == "feedback":
            p.add_argument("--out", required=True, help="directory to write the workbooks to")
        p.set_defaults(func=cmd_assess if name == "assess" else cmd_feedback)

    p = sub.add_parser("mappings", help="list the saved column mappings of a data directory")
    _add_data(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_mappings)

    p = sub.add_parser("export", help="write a page's Excel download (the same workbook as its button)")
    p.add_argument("name", nargs="?", help="the export's name (see --list), e.g. scorecard or 单位评分表")
    _add_selection(p)
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the workbook")
    p.add_argument("--out", metavar="FILE.xlsx", help="the workbook to write")
    p.add_argument("--list", action="store_true", help="list the exports")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("templates", help="write the import templates (xlsx, header and an example row)")
    p.add_argument("--out", required=True, help="directory to write")
    p.set_defaults(func=cmd_templates)
    return parser


def main(argv: list[str] | None = None) -> int:
    from redservice.access import AccessError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CliError, AccessError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
