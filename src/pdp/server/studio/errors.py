"""The studio's refusals: the native API's error shape (`pdp.server.errors`), each problem's field named.

`{"error": code, "detail": [{"field", "message"}], "errors": [the same]}`: `detail` as every pdp endpoint
answers, `errors` as the studio's contract names it (docs/studio.md), so that a client may read either.
A refusal that comes with the checker's findings (a set with errors) adds them under `diagnostics`.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


class StudioError(Exception):
    """Raised anywhere below a studio route; answered by `answer` (installed on the studio's routes)."""

    def __init__(self, status: int, code: str, problems: list[dict[str, Any]], *,
                 diagnostics: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None):
        super().__init__(code)
        self.status, self.code, self.problems = status, code, problems
        self.diagnostics, self.headers = diagnostics, headers

    def answer(self) -> JSONResponse:
        body: dict[str, Any] = {"error": self.code, "detail": self.problems, "errors": self.problems}
        if self.diagnostics is not None:
            body["diagnostics"] = self.diagnostics
        return JSONResponse(status_code=self.status, content=body, headers=self.headers)


def bad_field(field: str, message: str, status: int = 400) -> StudioError:
    """400 naming one field of the body (`edits.marketing.pdp`, `request.purpose`, `line`)."""
    return StudioError(status, "bad_request", [{"field": field, "message": message}])


def set_has_errors(diagnostics: list[dict[str, Any]], status: int = 422, what: str = "this") -> StudioError:
    """The edited set does not check: nothing can be decided, tested or saved until its errors are fixed."""
    count = sum(d.get("severity", "error") == "error" for d in diagnostics) or len(diagnostics)
    return StudioError(status, "policy_errors", [{"field": "edits", "message": f"the policy set has {count} "
                       f"error{'s' if count != 1 else ''}; fix {'it' if count == 1 else 'them'} before {what}"}],
                       diagnostics=diagnostics)
