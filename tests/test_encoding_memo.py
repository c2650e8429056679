"""The encoding's memos (space/encoding.py, MEMO: `Dim.among` per set of indexes, an atom's table shared by the
versions that read requests alike) against the plain path: the same decision and reasons, request by request,
under each version of generated edits (the plain path against the engine: tests/test_solver.py)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdp.analysis.space import Space
from pdp.analysis.space import encoding as encoding_module
from pdp.analysis.space.encoding import Encoding
from tests.support.generate import fewer
from tests.support.space import generated_requests
from tests.test_diff_solver import built, edits


def encoded(space: Space, memo: bool) -> Encoding:
    saved = encoding_module.MEMO
    encoding_module.MEMO = memo
    try:
        return Encoding(space)
    finally:
        encoding_module.MEMO = saved


@settings(fewer(5), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(edit=edits(), batch=st.lists(generated_requests, min_size=1, max_size=8))
def test_the_memoised_encoding_decides_as_the_plain_one_and_the_engine(edit, batch):
    old_text, new_text, (old_vocabulary, new_vocabulary) = edit
    versions = [built(old_text, old_vocabulary), built(new_text, new_vocabulary)]
    if None in versions:
        return
    space = Space(versions)
    memoised, plain = encoded(space, True), encoded(space, False)
    assert memoised.memo and not plain.memo
    for req in batch:
        for v in range(len(versions)):
            assert memoised.predict(v, req) == plain.predict(v, req), (old_text, new_text, req)
