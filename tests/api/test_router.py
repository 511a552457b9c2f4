"""The API's router is built by the face from the route tables of its modules: nothing registers
endpoints into a global as an import side effect, and matching answers exactly as before."""

from __future__ import annotations

import importlib

import pytest

from printstation.face.http import HttpError, RouteTable, Router
from printstation.face.routes import ROUTE_TABLES, build_router


def _table(router: Router) -> list[tuple[str, str]]:
    return [(r.method, r.pattern.pattern) for r in router.routes]


def test_every_endpoint_is_in_the_router() -> None:
    router = build_router()
    for method, path in [("GET", "/healthz"), ("GET", "/printers"), ("POST", "/printers/p/pause"),
                         ("POST", "/printers/p/resume"), ("POST", "/printers/p/test"), ("POST", "/jobs"),
                         ("GET", "/jobs"), ("GET", "/jobs/7"), ("GET", "/jobs/7/preview.png"),
                         ("POST", "/jobs/7/reprint"), ("POST", "/jobs/7/cancel"), ("GET", "/metrics"),
                         ("GET", "/"), ("GET", "/app.js"), ("GET", "/app.css"), ("GET", "/icon.svg"),
                         ("GET", "/console/state"), ("GET", "/jobs/7/fields"), ("GET", "/events"),
                         ("GET", "/login"), ("POST", "/login"), ("POST", "/logout"), ("POST", "/scan"),
                         ("GET", "/scans"), ("GET", "/webhooks")]:
        fn, _ = router.match(method, path)
        assert callable(fn), (method, path)
    assert router.public == {"/", "/app.js", "/app.css", "/icon.svg", "/login", "/logout"}


def test_importing_layers_adds_no_endpoint() -> None:
    before = _table(build_router())
    for name in ("printstation.triggers.station", "printstation.triggers.webhooks", "printstation.triggers.service",
                 "printstation.face.testprint", "printstation.face.daemon"):
        importlib.import_module(name)
    assert _table(build_router()) == before
    assert len(before) == sum(len(t.routes) for t in ROUTE_TABLES) == len(set(before))


def test_match_groups_405_and_404() -> None:
    t = RouteTable()
    t.add("GET", r"/jobs/(?P<job_id>[0-9]+)", lambda d, r, job_id: (200, job_id))
    t.add("POST", r"/jobs/(?P<job_id>[0-9]+)", lambda d, r, job_id: (201, job_id))
    router = Router.of([t])
    fn, groups = router.match("POST", "/jobs/12")
    assert groups == {"job_id": "12"} and fn(None, None, **groups) == (201, "12")
    with pytest.raises(HttpError) as err:
        router.match("DELETE", "/jobs/12")
    assert (err.value.status, err.value.allow, str(err.value)) == (
        405, "GET, POST", "DELETE not allowed on /jobs/12 (use GET, POST)")
    with pytest.raises(HttpError) as err:
        router.match("GET", "/jobs/12/x")  # the pattern matches the whole path only
    assert (err.value.status, err.value.allow, str(err.value)) == (404, None, "no endpoint /jobs/12/x")
