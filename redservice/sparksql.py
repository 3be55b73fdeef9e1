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
    # a CTE read more than once (the carried ids read ``v`` and ``kept`` two and three times): DuckDB
    # computes it once, Spark inlines every reference and computes it again each time (a build carrying
    # the ids took twice as long as a fresh one); each CTE of such a statement becomes a view, and those
    # read more than once are persisted (to_spark_steps)
    "WITH x AS (…) … x … x": "a persisted view x",
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


def _spark_tree(sql: str, params: str | None) -> exp.Expression:
    tree = sqlglot.parse_one(sql, read="duckdb")
    tree = tree.transform(_paren_cast).transform(_hex_cast).transform(_month_trunc).transform(_prev_table)
    if params:
        tree = tree.transform(_bound_from(params))
    return tree


def to_spark(sql: str, params: str | None = None) -> str:
    """One DuckDB statement (a SELECT of the serving copy) as Spark SQL. ``params``: the view the
    ``$name`` parameters are read from (its column ``name``); None: Spark's named markers ``:name``."""
    return _spark_tree(sql, params).sql(dialect="spark")


def to_spark_steps(sql: str, params: str | None = None, prefix: str = "_cte_") -> tuple[list[tuple[str, str, bool]], str]:
    """``to_spark`` with the statement's CTEs taken out when one of them is read more than once:
    ([(view, its Spark SQL, read more than once)], the statement reading the views). The caller
    creates each view in order (persisting those read more than once) and runs the statement. The
    views are named ``prefix`` + the CTE's name; a reference keeps the CTE's name as its alias.
    Without such a CTE: ([], to_spark(sql))."""
    tree = _spark_tree(sql, params)
    with_ = tree.find(exp.With)
    if with_ is None:
        return [], tree.sql(dialect="spark")
    names = [c.alias for c in with_.expressions]
    reads = {n: 0 for n in names}
    for table in tree.find_all(exp.Table):
        if not table.db and table.name in reads:
            reads[table.name] += 1
    if max(reads.values()) < 2:
        return [], tree.sql(dialect="spark")

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and not node.db and node.name in reads:
            alias = node.alias or node.name
            return exp.Table(this=exp.to_identifier(prefix + node.name), alias=exp.TableAlias(this=exp.to_identifier(alias)))
        return node

    steps = [(prefix + c.alias, c.this.transform(rename).sql(dialect="spark"), reads[c.alias] > 1) for c in with_.expressions]
    with_.pop()
    return steps, tree.transform(rename).sql(dialect="spark")


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
