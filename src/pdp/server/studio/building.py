"""The set a studio call asks about, built: the edited files, with the earlier versions kept on disk (§11).

The editing core checks the edited texts (`pdp.editing.check`, kept by
their digest); a set whose directory keeps `versions/` is then built again
with them, as `pdp.io.loader.load` builds it, so that a request with
`collected_at`, a test and its coverage are decided by the version that
decides them in service. With errors, the refusal carries the diagnostics
(422; a save: 409). The committed set (`committed.py`) is built here too.
"""

from __future__ import annotations

from dataclasses import replace

from pdp.base.errors import PolicyError
from pdp.editing import Workspace, check
from pdp.engine.build import build
from pdp.engine.policy_set import PolicySet
from pdp.io.loader import read_versions
from .committed import committed_sources
from .errors import StudioError, set_has_errors
from .workspace import Place


def built(workspace: Workspace, place: Place, what: str, status: int = 422) -> PolicySet:
    """The edited set (blocking: run it off the event loop). Raises StudioError with the diagnostics."""
    result = check(workspace)
    if result.errors or result.policy_set is None:
        raise set_has_errors(place.diagnostics(result.errors), status=status, what=what)
    try:
        earlier = read_versions(place.directory)  # an edge: the earlier versions as they are on disk
        if earlier is None:
            return result.policy_set
        return build(replace(workspace.sources, versions=earlier), directory=place.directory)
    except PolicyError as error:
        raise set_has_errors(place.diagnostics(d for d in error.diagnostics if d.severity == "error"),
                             status=status, what=what) from None


def committed(place: Place) -> PolicySet:
    """The set as last committed (git), without earlier versions. Raises StudioError."""
    try:
        return build(committed_sources(place))
    except PolicyError as error:
        raise StudioError(422, "committed_has_errors", [{"field": "against", "message": "the committed set does not "
                          "check; compare against `served`"}], diagnostics=place.diagnostics(error.diagnostics)) from None
