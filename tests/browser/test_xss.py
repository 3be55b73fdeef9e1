"""User-provided text (names, wish texts, notes) never runs as HTML or script in the browser."""

from __future__ import annotations

import datetime as dt

import pytest

from browser.conftest import streamlit_server
from browser.test_pages import navigation_paths, open_page
from conftest import write_store

pytestmark = pytest.mark.browser
D = dt.date
XSS = [
    "<img src=x onerror=alert('xss-1')>",
    "<script>alert('xss-2')</script>",
    "[点我](javascript:alert('xss-3'))",
    "<svg onload=alert('xss-4')>",
    "\"><iframe src=javascript:alert('xss-5')>",
    "<a href=\"javascript:alert('xss-6')\">社区</a>",
]


def xss_store(directory):
    communities = [{"community": f"社区{i}{p}", "households": 100} for i, p in enumerate(XSS)]
    units = [{"unit": f"单位{i}{p}", "paired_community": communities[i]["community"]} for i, p in enumerate(XSS)]
    branches = [{"branch": f"支部{i}{p}", "unit": u["unit"], "members_on_roll": 3} for i, (p, u) in
                enumerate(zip(XSS, units))]
    members, services, wishes = [], [], []
    for i, p in enumerate(XSS):
        m = {"member_id": f"m{i}", "name": f"张{p}", "unit": units[i]["unit"], "branch": branches[i]["branch"],
             "community": communities[i]["community"], "reported_on": D(2025, 1, 2), "phone": p,
             "compound": f"小区{p}"}
        members.append(m)
        for day in (D(2024, 11, 5), D(2025, 2, 3)):
            services.append({"record_id": f"s{i}{day}", "date": day, "member_id": m["member_id"],
                             "name": m["name"], "unit": m["unit"], "branch": m["branch"],
                             "community": m["community"], "compound": m["compound"],
                             "category": f"义诊{p}", "form": f"日常服务{p}", "activity_id": f"A{p}",
                             "content": p, "note": p, "hours": 2.0, "persons": 3, "households": [f"h{i}"]})
        wishes.append({"wish_id": f"w{i}{p}", "community": m["community"], "compound": m["compound"],
                       "content": p, "category": p, "posted_on": D(2025, 1, 3), "claim_unit": m["unit"],
                       "claimer": m["name"], "claim_member_id": m["member_id"], "claim_branch": m["branch"],
                       "claimed_on": D(2025, 1, 5), "status": p, "satisfaction": 4.0})
    return write_store(directory, communities=communities, units=units, branches=branches,
                       members=members, services=services, wishes=wishes)


def test_user_text_is_inert_on_every_page(chromium, tmp_path_factory):
    store = xss_store(tmp_path_factory.mktemp("xss") / "store")
    with streamlit_server(tmp_path_factory.mktemp("xss-server"), data_dir=store) as url:
        dialogs: list[str] = []
        for path in navigation_paths(chromium, url):
            context, page, _, _ = open_page(chromium, f"{url}/{path}?period=all")
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.wait_for_timeout(500)
            for link in page.locator("a[href^='javascript:']").all():
                dialogs.append(f"javascript link on {path}: {link.get_attribute('href')}")
            injected = page.evaluate("() => document.querySelectorAll(`img[src='x'], iframe, svg[onload]`).length")
            if injected:
                dialogs.append(f"{injected} injected element(s) on {path or 'overview'}")
            context.close()
        assert not dialogs, dialogs
