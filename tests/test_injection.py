"""SQL-injection payloads through every filter: bound as values, they match nothing and change nothing."""

import itertools

import pytest

from conftest import Q1_2025, metrics_by_label, run_app
from redservice.filters import DIMENSIONS, Filters

STEMS = [
    "' OR '1'='1", "' OR 1=1 --", "\" OR \"\"=\"", "'; DROP TABLE services; --", "') OR ('a'='a",
    "1; SELECT * FROM read_csv('/etc/passwd')", "' UNION SELECT member_id FROM members --",
    "'; COPY services TO '/tmp/x.csv'; --", "'; ATTACH '/tmp/evil.db'; --", "'; INSTALL httpfs; --",
    "'; SET enable_external_access=true; --", "$units", "$scope_units", "?", "%s", "{units}",
    "' || (SELECT name FROM members LIMIT 1) || '", "\\'; DELETE FROM wishes; --", "'/**/OR/**/1=1",
    "0x27 OR 1=1", "admin'--", "' AND SLEEP(5)--", "'; PRAGMA database_list; --", "%' OR '%'='",
    "县住建局' OR unit IS NOT NULL OR '", "北城社区'); DROP VIEW communities; --",
]
WRAPS = ["{}", " {} ", "{}\x00", "（{}）", "{}；", "\n{}", "{}\t", "＇{}"]
PAYLOADS = [w.format(s) for s, w in itertools.product(STEMS, WRAPS)]


def test_there_are_at_least_200_payloads():
    assert len(set(PAYLOADS)) >= 200


@pytest.mark.parametrize("dim", DIMENSIONS)
def test_payloads_through_every_filter_match_nothing(small_store, dim):
    before = small_store.version()
    baseline = small_store.query("data_range").iloc[0]["records"]
    for payload in PAYLOADS:
        cur = small_store.query("kpis", Filters.make(*Q1_2025, **{dim: [payload]})).iloc[0]
        assert cur["hours"] == 0 and cur["households"] == 0, (dim, payload)
        if dim in ("units", "branches", "communities"):
            assert cur["members"] == 0, (dim, payload)
    assert small_store.version() == before
    assert small_store.query("data_range").iloc[0]["records"] == baseline


@pytest.mark.parametrize("payload", STEMS[:6])
def test_payloads_through_the_url(payload):
    at = run_app({"unit": payload, "community": payload, "category": payload, "period": payload,
                  "start": payload, "lang": payload})
    assert not at.exception
    assert metrics_by_label(at)["报到党支部"][0] == "145个"  # unknown values are dropped, not run
