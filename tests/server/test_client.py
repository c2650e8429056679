"""pdp.client and pdp.client.enforce: against the real app (in-process and `pdp serve`), and against failures."""

import socket
import textwrap
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from pdp.client import AsyncPdpClient, ClientDecision, PdpClient, PdpRequestError, PdpUnavailable
from pdp.client.enforce import decision_dependency, require_allow
from pdp.server import Settings, create_app
from tests.support.serve import served

POLICY = '''
policy "demo" version "3" effective 2026-11-24
allow ops "Operate the service" cite "§2.1" to use for essential of user
  oblige delete_after_use "Delete after the retention period"
deny minors "Not for children" cite "§10" when data_subject.age < 18
  advise erase.at_once "Delete what was collected at once"
'''
OK = {"action": "use", "purpose": "essential.service", "data_categories": ["user.name"]}
MINOR = {**OK, "data_subject": {"age": 9}}
TYPO = {**OK, "purpose": "essentail.service"}
BASE = "http://pdp.test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("policies")
    (path / "main.pdp").write_text(textwrap.dedent(POLICY))
    return path


@pytest.fixture
def pdp_app(policy_dir):
    """The real app, its lifespan run (the policy set loaded), for `httpx.ASGITransport`."""
    app = create_app(Settings(policy_dir=policy_dir, reload=False, max_batch=5))
    with TestClient(app):
        yield app


@pytest.fixture
def async_client(pdp_app):
    return AsyncPdpClient(BASE, transport=httpx.ASGITransport(app=pdp_app))


@pytest.fixture(scope="module")
def server(policy_dir):
    """`pdp serve` in a subprocess; yields its base URL."""
    with served(policy_dir) as base:
        yield base


@pytest.fixture
def silent_server():
    """A socket that takes connections and never answers: a real read timeout.

    Yields its URL and a function that counts the connections made so far
    (the kernel completes them in the backlog; nothing reads them).
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        s.setblocking(False)
        taken = []

        def connections() -> int:
            while True:
                try:
                    taken.append(s.accept()[0])
                except BlockingIOError:
                    return len(taken)

        try:
            yield f"http://127.0.0.1:{s.getsockname()[1]}", connections
        finally:
            for c in taken:
                c.close()


def _mock(handler, calls=None):
    def wrapped(request: httpx.Request):
        if calls is not None:
            calls.append(request)
        return handler(request)
    return httpx.MockTransport(wrapped)


def _raise(error_type):
    def handler(request):
        raise error_type("boom", request=request)
    return handler


def _assert_failed_closed(d: ClientDecision, *words: str):
    assert d.decision == "deny" and not d.allowed and d.failed_closed
    (reason,) = d.reasons
    assert reason["rule"] == "client.unavailable" and reason["effect"] == "deny" and reason["cite"] is None
    for word in words:
        assert word in reason["message"]
    assert d.decision_id is None and d.raw["decision"] == "deny"


# ---------------------------------------------------------------- async client, real app in-process

@pytest.mark.anyio
async def test_async_decide_allow_and_deny(async_client):
    async with async_client as pdp:
        d = await pdp.decide(OK)
        assert d.decision == "allow" and d.allowed and not d.failed_closed
        assert d.reasons[0]["rule"] == "ops" and d.reasons[0]["cite"] == "§2.1"
        assert d.obligations == [{"id": "delete_after_use", "text": "Delete after the retention period"}]
        assert d.decision_id and d.raw["policy"]["name"] == "demo" and d.advice == []
        d = await pdp.decide(MINOR)
        assert d.decision == "deny" and not d.allowed and not d.failed_closed
        assert [(r["rule"], r["cite"]) for r in d.reasons] == [("minors", "§10")]
        assert d.advice == [{"id": "erase.at_once", "text": "Delete what was collected at once"}]


@pytest.mark.anyio
async def test_async_decide_many_keeps_order(async_client):
    async with async_client as pdp:
        decisions = await pdp.decide_many([OK, MINOR, OK])
        assert [d.decision for d in decisions] == ["allow", "deny", "allow"]
        assert len({d.decision_id for d in decisions}) == 3
        assert await pdp.decide_many([]) == []


@pytest.mark.anyio
async def test_async_bad_request_raises_naming_the_field_even_when_failing_closed(async_client):
    async with async_client as pdp:
        with pytest.raises(PdpRequestError) as caught:
            await pdp.decide(TYPO)
        assert caught.value.status_code == 422 and caught.value.fields == ["purpose"]
        assert "essential.service" in caught.value.detail[0]["suggestions"]
        assert "purpose" in str(caught.value)
        with pytest.raises(PdpRequestError) as caught:
            await pdp.decide({"action": "use"})
        assert set(caught.value.fields) == {"purpose", "data_categories"}


@pytest.mark.anyio
async def test_async_batch_with_a_bad_item_raises_naming_the_item(async_client):
    async with async_client as pdp:
        with pytest.raises(PdpRequestError) as caught:
            await pdp.decide_many([OK, TYPO])
        assert caught.value.fields == ["requests[1].purpose"] and caught.value.detail[0]["index"] == 1
        with pytest.raises(PdpRequestError) as caught:  # more than max_batch: 413
            await pdp.decide_many([OK] * 6)
        assert caught.value.status_code == 413 and caught.value.fields == ["requests"]


@pytest.mark.anyio
async def test_async_not_ready_server_fails_closed_or_raises(tmp_path):
    app = create_app(Settings(policy_dir=tmp_path / "missing", reload=False))
    with TestClient(app):
        async with AsyncPdpClient(BASE, transport=httpx.ASGITransport(app=app)) as pdp:
            _assert_failed_closed(await pdp.decide(OK), "503", "no policy set is loaded")
        async with AsyncPdpClient(BASE, transport=httpx.ASGITransport(app=app), fail_closed=False) as pdp:
            with pytest.raises(PdpUnavailable, match="503"):
                await pdp.decide(OK)


# ---------------------------------------------------------------- sync client, real server over TCP

@pytest.mark.slow
def test_sync_against_pdp_serve(server):
    with PdpClient(server, timeout=5) as pdp:
        assert pdp.decide(OK).allowed
        d = pdp.decide(MINOR)
        assert not d.allowed and not d.failed_closed and d.reasons[0]["cite"] == "§10"
        assert [d.decision for d in pdp.decide_many([MINOR, OK])] == ["deny", "allow"]
        with pytest.raises(PdpRequestError) as caught:
            pdp.decide(TYPO)
        assert caught.value.fields == ["purpose"]


def test_sync_connection_refused_fails_closed_or_raises():
    down = f"http://127.0.0.1:{_free_port()}"
    with PdpClient(down) as pdp:
        _assert_failed_closed(pdp.decide(OK), "cannot connect")
        decisions = pdp.decide_many([OK, OK])
        assert len(decisions) == 2 and all(d.failed_closed and not d.allowed for d in decisions)
    with PdpClient(down, fail_closed=False) as pdp, pytest.raises(PdpUnavailable, match="cannot connect"):
        pdp.decide(OK)


def test_sync_real_timeout_fails_closed(silent_server):
    url, connections = silent_server
    with PdpClient(url, timeout=0.2, retries=3) as pdp:
        _assert_failed_closed(pdp.decide(OK), "did not answer within 0.2s")
    assert connections() == 1  # a timeout is not retried (counted, not timed)
    with PdpClient(url, timeout=0.2, fail_closed=False) as pdp, pytest.raises(PdpUnavailable):
        pdp.decide(OK)


# ---------------------------------------------------------------- failures, both clients, through MockTransport

UNAVAILABLE = [
    pytest.param(_raise(httpx.ReadTimeout), "did not answer", id="read-timeout"),
    pytest.param(_raise(httpx.ConnectTimeout), "did not answer", id="connect-timeout"),
    pytest.param(_raise(httpx.ConnectError), "cannot connect", id="connect-error"),
    pytest.param(_raise(httpx.RemoteProtocolError), "RemoteProtocolError", id="protocol-error"),
    pytest.param(lambda r: httpx.Response(503, json={"error": "not_ready", "detail": [
        {"field": "policy", "message": "no policy set is loaded"}]}), "503", id="503"),
    pytest.param(lambda r: httpx.Response(500, text="<html>oops</html>"), "500", id="500-html"),
    pytest.param(lambda r: httpx.Response(502), "502", id="502-empty"),
    pytest.param(lambda r: httpx.Response(307, headers={"location": "/elsewhere"}), "307", id="redirect"),
    pytest.param(lambda r: httpx.Response(200, text="<html>"), "not JSON", id="200-not-json"),
    pytest.param(lambda r: httpx.Response(200, json=["allow"]), "not a decision", id="200-list"),
    pytest.param(lambda r: httpx.Response(200, json={"decision": "permit"}), "permit", id="200-unknown-decision"),
    pytest.param(lambda r: httpx.Response(200, json={"decision": "allow", "reasons": "yes"}), "reasons", id="200-bad-reasons"),
]


@pytest.mark.parametrize("handler, words", UNAVAILABLE)
def test_sync_unavailable_fails_closed_or_raises(handler, words):
    with PdpClient(BASE, transport=_mock(handler)) as pdp:
        _assert_failed_closed(pdp.decide(OK), words)
    with PdpClient(BASE, transport=_mock(handler), fail_closed=False) as pdp:
        with pytest.raises(PdpUnavailable, match=words):
            pdp.decide(OK)


@pytest.mark.anyio
@pytest.mark.parametrize("handler, words", UNAVAILABLE)
async def test_async_unavailable_fails_closed_or_raises(handler, words):
    async with AsyncPdpClient(BASE, transport=_mock(handler)) as pdp:
        _assert_failed_closed(await pdp.decide(OK), words)
    async with AsyncPdpClient(BASE, transport=_mock(handler), fail_closed=False) as pdp:
        with pytest.raises(PdpUnavailable, match=words):
            await pdp.decide(OK)


def test_batch_answer_of_the_wrong_length_fails_closed_for_every_item():
    transport = _mock(lambda r: httpx.Response(200, json={"decisions": [{"decision": "allow"}]}))
    with PdpClient(BASE, transport=transport) as pdp:
        decisions = pdp.decide_many([OK, OK])
    assert len(decisions) == 2 and all(d.failed_closed and not d.allowed for d in decisions)


@pytest.mark.parametrize("response, status, fields", [
    (httpx.Response(422, json={"error": "bad_request", "detail": [{"field": "data_subject.age", "message": "not a number"}]}),
     422, ["data_subject.age"]),
    (httpx.Response(400, json={"error": "bad_request", "detail": [{"field": "body", "message": "not JSON"}]}), 400, ["body"]),
    (httpx.Response(404, text="Not Found"), 404, ["request"]),
    (httpx.Response(401, json={"detail": "Not authenticated"}), 401, ["request"]),
])
def test_4xx_is_never_a_silent_deny(response, status, fields):
    with PdpClient(BASE, transport=_mock(lambda r: response), fail_closed=True) as pdp:
        with pytest.raises(PdpRequestError) as caught:
            pdp.decide(OK)
    assert caught.value.status_code == status and caught.value.fields == fields


def test_retries_only_connection_errors():
    calls = []
    answers = iter([httpx.ConnectError("refused"), httpx.ConnectError("refused"),
                    httpx.Response(200, json={"decision": "allow"})])

    def flaky(request):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with PdpClient(BASE, transport=_mock(flaky, calls), retries=2) as pdp:
        assert pdp.decide(OK).allowed
    assert len(calls) == 3

    calls.clear()
    with PdpClient(BASE, transport=_mock(_raise(httpx.ConnectError), calls)) as pdp:  # retries=0 by default
        assert pdp.decide(OK).failed_closed
    assert len(calls) == 1

    calls.clear()
    with PdpClient(BASE, transport=_mock(_raise(httpx.ReadTimeout), calls), retries=3) as pdp:
        assert pdp.decide(OK).failed_closed
    assert len(calls) == 1

    calls.clear()
    with PdpClient(BASE, transport=_mock(lambda r: httpx.Response(503), calls), retries=3) as pdp:
        assert pdp.decide(OK).failed_closed
    assert len(calls) == 1


def test_token_and_request_body_on_the_wire():
    calls = []
    with PdpClient(BASE, token="s3cret", transport=_mock(lambda r: httpx.Response(200, json={"decision": "deny"}), calls)) as pdp:
        pdp.decide(OK)
    (sent,) = calls
    assert sent.headers["authorization"] == "Bearer s3cret" and sent.url.path == "/v1/decide"
    assert httpx.Response(200, content=sent.content).json() == OK


def test_a_request_must_be_a_mapping():
    with PdpClient(BASE, transport=_mock(lambda r: httpx.Response(200, json={"decision": "allow"}))) as pdp:
        with pytest.raises(TypeError):
            pdp.decide('{"action": "use"}')
    with pytest.raises(ValueError):
        PdpClient(BASE, retries=-1)


# ---------------------------------------------------------------- enforce: a test app guarded by require_allow

def _question(request: Request) -> dict:
    age = request.headers.get("x-age")
    subject = {"id": request.path_params["cid"], **({"age": int(age)} if age else {})}
    return {**OK, "data_categories": ["user.contact.email"], "data_subject": subject}


async def _async_question(request: Request) -> dict:
    return _question(request)


def _guarded_app(client) -> tuple[FastAPI, list]:
    app, reached = FastAPI(), []
    Decision = Annotated[ClientDecision, Depends(decision_dependency(client, _async_question))]

    @app.get("/customers/{cid}/email", dependencies=[Depends(require_allow(client, _question))])
    def email(cid: str, request: Request):
        reached.append(cid)
        d = request.state.pdp_decision
        return {"email": f"{cid}@example.com", "decision_id": d.decision_id, "obligations": d.obligations}

    @app.get("/customers/{cid}/email-async-builder", dependencies=[Depends(require_allow(client, _async_question))])
    async def email_async(cid: str, request: Request):
        reached.append(cid)
        return {"allowed": request.state.pdp_decision.allowed}

    @app.get("/customers/{cid}/contact")
    def contact(cid: str, decision: Decision):
        return {"email": f"{cid}@example.com" if decision.allowed else "***", "rules": [r["rule"] for r in decision.reasons]}

    return app, reached


@pytest.fixture(params=["async-in-process", pytest.param("sync-pdp-serve", marks=pytest.mark.slow)])
def pdp_client(request):
    if request.param == "async-in-process":
        return AsyncPdpClient(BASE, transport=httpx.ASGITransport(app=request.getfixturevalue("pdp_app")))
    return PdpClient(request.getfixturevalue("server"), timeout=5)


def test_require_allow_lets_an_allowed_request_reach_the_handler(pdp_client):
    app, reached = _guarded_app(pdp_client)
    with TestClient(app) as web:
        r = web.get("/customers/c-7/email", headers={"x-age": "34"})
        assert r.status_code == 200 and reached == ["c-7"]
        assert r.json()["decision_id"] and [o["id"] for o in r.json()["obligations"]] == ["delete_after_use"]
        assert web.get("/customers/c-8/email-async-builder").json() == {"allowed": True}


def test_require_allow_answers_403_with_the_citation(pdp_client):
    app, reached = _guarded_app(pdp_client)
    with TestClient(app) as web:
        for path in ("/customers/c-9/email", "/customers/c-9/email-async-builder"):
            r = web.get(path, headers={"x-age": "9"})
            assert r.status_code == 403
            detail = r.json()["detail"]
            assert detail["decision"] == "deny" and detail["decision_id"]
            assert detail["reasons"] == [{"rule": "minors", "cite": "§10", "message": "Not for children"}]
    assert reached == []


def test_decision_dependency_hands_the_deny_to_the_handler(pdp_client):
    app, _ = _guarded_app(pdp_client)
    with TestClient(app) as web:
        assert web.get("/customers/c-1/contact").json() == {"email": "c-1@example.com", "rules": ["ops"]}
        assert web.get("/customers/c-1/contact", headers={"x-age": "9"}).json() == {"email": "***", "rules": ["minors"]}


@pytest.mark.parametrize("client", [
    pytest.param(lambda: PdpClient(f"http://127.0.0.1:{_free_port()}"), id="sync-refused"),
    pytest.param(lambda: AsyncPdpClient(BASE, transport=_mock(_raise(httpx.ReadTimeout))), id="async-timeout"),
    pytest.param(lambda: AsyncPdpClient(BASE, transport=_mock(lambda r: httpx.Response(503))), id="async-503"),
])
def test_require_allow_fails_closed_when_the_pdp_is_down(client):
    app, reached = _guarded_app(client())
    with TestClient(app) as web:
        r = web.get("/customers/c-7/email", headers={"x-age": "34"})
    assert r.status_code == 403 and reached == []
    (reason,) = r.json()["detail"]["reasons"]
    assert reason["rule"] == "client.unavailable" and reason["cite"] is None


def test_require_allow_does_not_hide_a_bad_decision_request(pdp_app):
    client = AsyncPdpClient(BASE, transport=httpx.ASGITransport(app=pdp_app))
    app = FastAPI()

    @app.get("/x", dependencies=[Depends(require_allow(client, lambda request: TYPO))])
    def handler():  # pragma: no cover - never reached
        return {}

    with TestClient(app, raise_server_exceptions=False) as web:
        assert web.get("/x").status_code == 500
    with TestClient(app) as web, pytest.raises(PdpRequestError):
        web.get("/x")
