"""Hypothesis profiles: CI replays the same examples on every run; a developer's run explores new ones.

`.ci/run` sets `CI=true`: a red CI run is then a reproducible one (the same
examples fail again on a developer's machine with `CI=true`), and main does
not turn red at random from an example a previous run never drew. Without
it, hypothesis draws new examples each run, which is how the property tests
keep finding what they are for; a failure it finds is pinned with
`@example`.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
