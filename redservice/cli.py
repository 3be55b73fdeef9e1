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
    p.add_argument("--unit", action="append", default=[], help="work unit (repeatable)")
    p.add_argument("--branch", action="append", default=[], help="Party branch (repeatable)")
    p.add_argument("--community", action="append", default=[], help="community (repeatable)")
    p.add_argument("--category", action="append", default=[], help="service category (repeatable)")
    p.add_argument("--form", action="append", default=[], help="activity form (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON")


def _selection(args):
    from redservice import metrics
    from redservice.store import Store

    store = Store(config.data_dir(args.data))
    filters = metrics.default_filters(
        store, start=args.start, end=args.end, units=args.unit, branches=args.branch,
        communities=args.community, categories=args.category, forms=args.form)
    return store, filters


def cmd_demo(args) -> int:
    from redservice import demo

    out = demo.write(args.out or config.DEMO_DIR)
    print(f"demo county written to {out}")
    return 0


def cmd_kpis(args) -> int:
    from redservice import fmt, metrics
    from redservice.i18n import t

    store, filters = _selection(args)
    kpis = metrics.kpis(store, filters)
    if args.json:
        print(json.dumps(metrics.kpis_json(kpis), ensure_ascii=False, indent=1))
        return 0
    lang = "zh"
    print(t("filter.range", lang, start=fmt.date(filters.start), end=fmt.date(filters.end)))
    for card in metrics.cards(kpis, lang):
        delta = f"（{t('kpi.vs_previous', lang)} {card.delta}）" if card.delta else ""
        print(f"{card.label}：{card.value}{delta}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m redservice", description="在职党员进社区数据看板")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="write the synthetic demo county")
    p.add_argument("--out", help="directory to write (default: data/demo)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("kpis", help="print the headline KPIs (the same SQL as the 总览 page)")
    _add_selection(p)
    p.set_defaults(func=cmd_kpis)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
