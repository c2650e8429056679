"""No input yields a 500: fuzz every operation of the API from its own OpenAPI schema (schemathesis)."""

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from pdp.server import Settings, create_app

ROOT = Path(__file__).resolve().parents[2]

app = create_app(Settings(policy_dir=ROOT / "examples" / "authzen-todo", reload=False, admin_token="fuzz-token"))
app.state.holder.reload()  # schemathesis calls the app without running its lifespan
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_yields_a_server_error(case):
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, case.body, response.text)
    if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
        body = response.json()
        assert "error" in body and isinstance(body["detail"], list), body
