"""fideslang's keys shipped with pdp (pdp.vocab.taxonomy.fideslang_keys) are fideslang's: the snapshot
equals the keys read from fideslang itself (the plain path, snapshot=False), and is used only when it
was taken from the installed fideslang version."""

from hypothesis import given
from hypothesis import strategies as st

from pdp.vocab import taxonomy as tx

SHIPPED = tx.fideslang_keys()
FROM_FIDESLANG = tx.fideslang_keys(snapshot=False)
EVERY_KEY = sorted(set().union(*FROM_FIDESLANG))


def test_the_snapshot_is_fideslangs_taxonomy():
    """Fails after upgrading fideslang until the snapshot is taken again:
    python -c 'from pdp.vocab.taxonomy import write_fideslang_snapshot as w; w()'"""
    assert tx.shipped_keys() is not None, "the snapshot is missing or was taken from another fideslang version"
    assert SHIPPED == FROM_FIDESLANG


@given(st.sampled_from(EVERY_KEY) | st.text(max_size=30), st.sampled_from([0, 1, 2]))
def test_every_key_is_known_alike(key, kind):
    assert (key in SHIPPED[kind]) == (key in FROM_FIDESLANG[kind])


def test_another_fideslang_version_reads_fideslang(monkeypatch):
    monkeypatch.setattr(tx, "installed_fideslang_version", lambda: "0.0.0-another")
    assert tx.shipped_keys() is None  # (fideslang_keys then imports fideslang: the plain path)

