"""The serving copy's DuckDB SQL as Spark SQL: sqlglot's transpiler plus the few mappings it does not
make, all in this one place (``MAPPED`` says what each one is and why).

The statements of ``redservice.serving.statements`` stay the one definition of every serving
table; the Spark build (``redservice.serving_spark``) runs them through ``to_spark``. Bound
parameters stay bound: DuckDB's ``$name`` becomes Spark's named marker ``:name`` (Spark 3.4+ binds
it from ``spark.sql(sql, args=…)``), never a value formatted into the text.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

# The one-row view of the bound parameters (serving_spark._params): DuckDB's ``$name`` is read from it
# where a statement binds arrays, which Spark 3.5's named markers do not take
PARAMS = "_params"
# What sqlglot leaves as DuckDB means it, and what it is mapped to (each has a test in
# tests/test_sparksql.py):
MAPPED = {
    # DuckDB reads a '0x…' string cast to an integer as hexadecimal (serving.RKEY); Spark's CAST
    # returns NULL for it, conv() reads it
    "CAST('0x' || s AS BIGINT)": "CAST(CONV(s, 16, 10) AS BIGINT)",
    # Spark's DATE_TRUNC returns a TIMESTAMP (compared with a DATE it would widen the DATE);
    # TRUNC(d, 'MM') is the month's first day as a DATE, as DuckDB's DATE_TRUNC of a DATE
    "DATE_TRUNC('month', d)": "TRUNC(d, 'MM')",
    # a bound array (the counted 审核状态, the [quality] statuses): Spark 3.5's sql(args=…) takes
    # literals only, so every parameter is read from the one-row view PARAMS (to_spark(params=…))
    "$name": "(SELECT name FROM _params)",
    # excluded_records zips two bound lists (UNNEST twice in one SELECT); Spark allows one generator
    # per SELECT: serving_spark makes that table from the values themselves (a DataFrame)
    "SELECT UNNEST($a), UNNEST($b)": "spark.createDataFrame(zip(a, b))",
    # a dense id over all values (serving._ids: ROW_NUMBER() OVER (ORDER BY c), no PARTITION BY) is one
    # task on Spark, every value sorted on one executor; serving_spark numbers range partitions
    # instead, each from the counts of the partitions before it: the same ids (global_numbering)
    "ROW_NUMBER() OVER (ORDER BY c)": "range partitions numbered from their offsets",
    # the ids of the previous copy a build carries (serving._ids with carry) are read from the previous
    # copy attached as ``prev`` in DuckDB; Spark reads that build's Parquet tables as views prev_<table>
    "prev.t": "prev_t",
}
PREV = "prev_"


def _hex_cast(node: exp.Expression) -> exp.Expression:
    if (isinstance(node, exp.Cast) and isinstance(node.this, exp.DPipe)
            and isinstance(node.this.this, exp.Literal) and node.this.this.this.lower() == "0x"):
        digits = node.this.expression
        conv = exp.Anonymous(this="CONV", expressions=[digits, exp.Literal.number(16), exp.Literal.number(10)])
        return exp.Cast(this=conv, to=node.args["to"])
    return node


def _month_trunc(node: exp.Expression) -> exp.Expression:
    if isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)):
        unit = node.args.get("unit")
        name = (unit.name if unit is not None else "").lower()
        if name == "month":
            return exp.Anonymous(this="TRUNC", expressions=[node.this, exp.Literal.string("MM")])
    return node


def _paren_cast(node: exp.Expression) -> exp.Expression:
    # sqlglot keeps DuckDB's parentheses around the concatenation: unwrap them so _hex_cast sees it
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Paren) and isinstance(node.this.this, exp.DPipe):
        node.set("this", node.this.this)
    return node


def _prev_table(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Table) and node.args.get("db") is not None and node.db.lower() == "prev":
        node = node.copy()
        node.set("db", None)
        node.set("this", exp.to_identifier(PREV + node.name))
    return node


def _bound_from(view: str):
    def transform(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name:
            return exp.Subquery(this=exp.select(exp.column(node.name)).from_(view))
        return node
    return transform


def to_spark(sql: str, params: str | None = None) -> str:
    """One DuckDB statement (a SELECT of the serving copy) as Spark SQL. ``params``: the view the
    ``$name`` parameters are read from (its column ``name``); None: Spark's named markers ``:name``."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    tree = tree.transform(_paren_cast).transform(_hex_cast).transform(_month_trunc).transform(_prev_table)
    if params:
        tree = tree.transform(_bound_from(params))
    return tree.sql(dialect="spark")


def global_numbering(sql: str) -> tuple[str, str, str] | None:
    """``SELECT c, CAST(ROW_NUMBER() OVER (ORDER BY c) AS INTEGER) AS name FROM …`` (``serving._ids``
    of a fresh build) as (the same SELECT of ``c`` alone, ``c``, ``name``), for the caller to number
    the distinct values itself; None for any other statement."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    if not isinstance(tree, exp.Select) or len(tree.expressions) != 2:
        return None
    first, second = tree.expressions
    node = second.this if isinstance(second, exp.Alias) else None
    if isinstance(node, exp.Cast):
        node = node.this
    if not (isinstance(node, exp.Window) and isinstance(node.this, exp.RowNumber)
            and not node.args.get("partition_by")):
        return None
    order = node.args.get("order")
    keys = order.expressions if order is not None else []
    if not (isinstance(first, exp.Column) and len(keys) == 1 and isinstance(keys[0].this, exp.Column)
            and keys[0].this.name == first.name and not keys[0].args.get("desc")):
        return None
    tree.set("expressions", [first])
    return tree.sql(dialect="duckdb"), first.name, second.alias
