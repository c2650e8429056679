"""Policy bundles (issue 10): build, sign, verify, and refuse every archive that is not exactly what was signed."""

import gzip
import io
import subprocess
import tarfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pdp.base.limits import MAX_BUNDLE_BYTES, MAX_FILE_BYTES, MAX_FILES
from pdp.cli.app import main
from pdp.io.bundle import (MANIFEST, SIGNATURES, BundleError, KeyProblem, build_bundle, key_id, load_bundle,
                           load_private_key, load_public_key, open_bundle, set_files)
from pdp.io.bundle.archive import pack
from pdp.io.bundle.manifest import content_digest
from pdp.io.loader import load
from tests.support.bundles import ALLOWING, BROKEN, CREATED_AT, DENYING, REQUEST, bundle_of, forge, write_set
from tests.support.sets import CX_ONE_GO, write_versioned

KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()


def _refused(archive: bytes, key=KEY) -> BundleError:
    with pytest.raises(BundleError) as info:
        load_bundle(open_bundle(archive, key.public_key() if key is not None else None))
    return info.value


def _members(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def _raw_tar(entries) -> bytes:
    """A tar.gz of hand-made entries: (TarInfo, bytes or None)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def _entry(name, data=b"", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, len(data) if kind == tarfile.REGTYPE else 0, link
    return info, data if kind == tarfile.REGTYPE else None


# -- a bundle holds the checked set, and decides as the directory does -------------------------------------


def test_a_bundle_of_the_shipped_set_opens_to_the_same_set():
    policy_set = load(CX_ONE_GO)
    built = build_bundle(policy_set, "r1", CREATED_AT, "test", KEY)
    opened = open_bundle(built.archive, KEY.public_key())
    assert opened.files == set_files(policy_set)
    assert opened.signed_by == key_id(KEY.public_key()) == built.signed_by
    assert "tests/" not in " ".join(opened.files)  # the policy tests are not shipped; the set's files are
    served = load_bundle(opened)
    assert served.digest == policy_set.digest == opened.manifest.policy.digest
    assert opened.manifest.revision == "r1" and opened.manifest.created_at == CREATED_AT
    request = {"action": "use", "purpose": "marketing.communications.email", "data_categories": ["user.contact.email"],
               "data_subject": {"id": "p-1", "type": "customer", "age": 30, "consent": {"marketing": False}}}
    assert served.decide(request).to_dict()["reasons"] == policy_set.decide(request).to_dict()["reasons"]


def test_earlier_versions_travel_in_the_bundle(tmp_path):
    vocabulary = "consent_topics: [marketing]\n"
    directory = write_versioned(tmp_path / "set", DENYING.format(version="2"),
                                {"1": ALLOWING.format(version="1").replace("2026-11-24", "2025-01-01")}, vocabulary)
    policy_set = load(directory)
    served = load_bundle(open_bundle(build_bundle(policy_set, "r", CREATED_AT, "t", KEY).archive, KEY.public_key()))
    assert [v.version for v in served.history] == ["1", "2"]
    old = {**REQUEST, "collected_at": "2025-06-01"}
    assert served.decide(old).decision == policy_set.decide(old).decision == "allow"
    assert served.decide(REQUEST).decision == "deny"


def test_the_content_address_depends_on_the_files_only(tmp_path):
    directory = write_set(tmp_path / "a", ALLOWING.format(version="1"))
    first = build_bundle(load(directory), "r1", CREATED_AT, "t", KEY)
    again = build_bundle(load(directory), "r2", "2027-01-01T00:00:00+00:00", "t", OTHER_KEY)
    assert first.manifest.digest == again.manifest.digest
    assert first.file_name == again.file_name == f"ops-{first.manifest.digest[7:23]}.tar.gz"
    # ... and is the sha256 of `sha256sum`'s lines for the files, sorted by path
    assert first.manifest.digest == content_digest(set_files(load(directory)))
    changed = build_bundle(load(write_set(tmp_path / "b", DENYING.format(version="1"))), "r1", CREATED_AT, "t", KEY)
    assert changed.manifest.digest != first.manifest.digest
    assert build_bundle(load(directory), "r1", CREATED_AT, "t", KEY).archive == first.archive  # reproducible


# -- signatures ----------------------------------------------------------------------------------------------


def test_a_bundle_signed_by_another_key_is_refused_naming_both_keys(tmp_path):
    archive = bundle_of(write_set(tmp_path / "s", ALLOWING.format(version="1")), "r1", OTHER_KEY)
    error = _refused(archive)
    assert error.reason == "bad_signature"
    assert key_id(KEY.public_key()) in error.message and key_id(OTHER_KEY.public_key()) in error.message


def test_a_manifest_changed_after_signing_is_refused(tmp_path):
    members = _members(bundle_of(write_set(tmp_path / "s", ALLOWING.format(version="1")), "r1", KEY))
    members[MANIFEST] = members[MANIFEST].replace(b'"revision": "r1"', b'"revision": "r9"')
    assert _refused(pack(members)).reason == "bad_signature"


def test_an_unsigned_bundle_is_refused_unless_unsigned_bundles_are_allowed(tmp_path):
    archive = bundle_of(write_set(tmp_path / "s", ALLOWING.format(version="1")), "r1", None)
    assert SIGNATURES not in _members(archive)
    assert _refused(archive).reason == "unsigned"
    assert load_bundle(open_bundle(archive, None)).decide(REQUEST).decision == "allow"


@pytest.mark.parametrize("signatures", [b"not json", b'{"signatures": 7}', b"[" * 200_000, b'{"signatures": [{}]}'])
def test_a_signatures_file_that_is_not_one_is_refused(tmp_path, signatures):
    members = _members(bundle_of(write_set(tmp_path / "s", ALLOWING.format(version="1")), "r1", KEY))
    members[SIGNATURES] = signatures
    assert _refused(pack(members)).reason == "bad_signature"


@pytest.mark.parametrize("manifest", [b"not json", b"[" * 200_000, b'{"revision": "r1"}', b"{}"])
def test_a_manifest_that_is_not_one_is_refused(manifest):
    error = _refused(pack({MANIFEST: manifest, "main.pdp": ALLOWING.format(version="1").encode()}), key=None)
    assert error.reason == "bad_manifest"


# -- digests -------------------------------------------------------------------------------------------------


def test_a_file_changed_after_signing_is_refused(tmp_path):
    members = _members(bundle_of(write_set(tmp_path / "s", DENYING.format(version="1")), "r1", KEY))
    members["main.pdp"] = ALLOWING.format(version="1").encode()  # the deny rule taken out
    error = _refused(pack(members))
    assert error.reason == "bad_digest" and "`main.pdp`" in error.message


@pytest.mark.parametrize("change", ["added", "removed"])
def test_a_file_added_or_removed_after_signing_is_refused(tmp_path, change):
    directory = write_set(tmp_path / "s", ALLOWING.format(version="1"))
    (directory / "extra.pdp").write_text("")
    members = _members(bundle_of(directory, "r1", KEY))
    if change == "added":
        members["more.pdp"] = b'deny all "x" cite "x" to use\n'
    else:
        del members["extra.pdp"]
    error = _refused(pack(members))
    assert error.reason == "bad_digest"
    assert ("more.pdp" if change == "added" else "extra.pdp") in error.message


def test_a_bundle_whose_files_build_another_set_than_its_manifest_names_is_refused(tmp_path):
    files = {"main.pdp": ALLOWING.format(version="1").encode()}
    assert _refused(forge(files, "r1", KEY, policy_digest="sha256:" + "1" * 64)).reason == "bad_digest"


# -- policy errors -------------------------------------------------------------------------------------------


def test_a_signed_bundle_with_a_policy_error_is_refused_naming_the_file_in_the_bundle():
    error = _refused(forge({"rules/main.pdp": BROKEN.format(version="1").encode()}, "r1", KEY))
    assert error.reason == "policy_errors"
    [first, *_] = error.errors
    assert first["file"] == "rules/main.pdp" and first["line"] == 2 and first["code"]
    assert "/tmp" not in error.message and "pdp-bundle-" not in str(error.errors)


def test_pdp_bundle_build_refuses_a_set_with_errors(tmp_path, capsys):
    directory = write_set(tmp_path / "s", BROKEN.format(version="1"))
    output = tmp_path / "out.tar.gz"
    assert main(["bundle", "build", str(directory), "-o", str(output)]) == 1
    assert "main.pdp:2:" in capsys.readouterr().err
    assert not output.exists()


# -- the archive: no path tricks, no links, bounded ----------------------------------------------------------


@pytest.mark.parametrize("name", ["../evil.pdp", "/etc/evil.pdp", "rules/../../evil.pdp", "./main.pdp", "a//b.pdp",
                                  "a\\..\\b.pdp", "bad\nname.pdp"])
def test_an_entry_with_an_unsafe_name_is_refused(name):
    archive = _raw_tar([_entry(name, b"x")])
    error = _refused(archive)
    assert error.reason == "bad_archive" and "unsafe name" in error.message


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE, tarfile.FIFOTYPE, tarfile.CHRTYPE])
def test_an_entry_that_is_not_a_plain_file_is_refused(kind):
    archive = _raw_tar([_entry("main.pdp", kind=kind, link="/etc/passwd")])
    error = _refused(archive)
    assert error.reason == "bad_archive" and "not a plain file" in error.message


def test_an_entry_given_twice_is_refused():
    archive = _raw_tar([_entry("main.pdp", b"a"), _entry("main.pdp", b"b")])
    assert "twice" in _refused(archive).message


def test_a_file_over_the_size_limit_is_refused_before_it_is_read():
    archive = _raw_tar([_entry("big.pdp", b"#" * (MAX_FILE_BYTES + 1))])
    error = _refused(archive)
    assert error.reason == "too_large" and "big.pdp" in error.message


def test_an_archive_over_the_size_limit_is_refused_unread():
    assert _refused(b"\0" * (MAX_BUNDLE_BYTES + 1)).reason == "too_large"


def test_a_small_archive_that_unpacks_past_the_bound_is_stopped_at_the_bound():
    # A gzip bomb: an extended header of 64 MB of one letter packs into a few dozen KB.
    info = tarfile.TarInfo("main.pdp")
    info.pax_headers = {"comment": "x" * (64 * 1024 * 1024)}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(b""))
    assert len(out.getvalue()) < 1024 * 1024
    assert _refused(out.getvalue()).reason == "too_large"


def test_too_many_files_are_refused():
    archive = pack({f"f{i}.pdp": b"" for i in range(MAX_FILES + 3)})
    error = _refused(archive)
    assert error.reason == "too_large" and "files" in error.message


@pytest.mark.parametrize("archive", [b"not a bundle", gzip.compress(b"not a tar" * 100, mtime=0), b""],
                         ids=["text", "gzip-of-text", "empty"])
def test_something_that_is_not_a_tar_gz_is_refused(archive):
    assert _refused(archive).reason in ("bad_archive", "bad_manifest")


def test_a_bundle_without_a_manifest_is_refused():
    error = _refused(pack({"main.pdp": ALLOWING.format(version="1").encode()}))
    assert error.reason == "bad_manifest" and MANIFEST in error.message


@pytest.mark.parametrize("names", [("rules", "rules/main.pdp"), ("rules/main.pdp", "rules")])
def test_a_file_and_a_folder_of_the_same_name_are_refused(names):
    files = {name: ALLOWING.format(version="1").encode() for name in names}
    error = _refused(forge(files, "r1", KEY))
    assert error.reason == "bad_archive" and "same name" in error.message


# -- keys and the commands -----------------------------------------------------------------------------------


def test_keygen_build_and_verify_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["bundle", "keygen", "team"]) == 0
    assert (tmp_path / "team.key.pem").stat().st_mode & 0o777 == 0o600
    assert main(["bundle", "keygen", "team"]) == 2  # a key is never overwritten
    directory = write_set(tmp_path / "s", ALLOWING.format(version="1"))
    assert main(["bundle", "build", str(directory), "--signing-key", "team.key.pem", "--revision", "v7",
                 "-o", "b.tar.gz"]) == 0
    assert "signed by ed25519:" in capsys.readouterr().out
    assert main(["bundle", "verify", "b.tar.gz", "--public-key", "team.pub.pem"]) == 0
    assert "revision v7" in capsys.readouterr().out
    assert main(["bundle", "keygen", "other"]) == 0
    assert main(["bundle", "verify", "b.tar.gz", "--public-key", "other.pub.pem"]) == 1
    assert "refused (bad_signature)" in capsys.readouterr().err
    assert main(["bundle", "verify", "b.tar.gz", "--public-key", "team.key.pem"]) == 2  # a private key given


def test_build_names_the_archive_by_its_content_by_default(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    directory = write_set(tmp_path / "s", ALLOWING.format(version="1"))
    assert main(["bundle", "build", str(directory)]) == 0
    [archive] = tmp_path.glob("ops-*.tar.gz")
    assert open_bundle(archive.read_bytes(), None).manifest.digest[7:23] in archive.name
    assert "not signed" in capsys.readouterr().err


@pytest.mark.parametrize("revision", ["", " v1", "v\n1", "x" * 129])
def test_a_revision_that_cannot_name_a_bundle_is_a_usage_error(tmp_path, revision):
    directory = write_set(tmp_path / "s", ALLOWING.format(version="1"))
    assert main(["bundle", "build", str(directory), "--revision", revision, "-o", str(tmp_path / "b")]) == 2


def test_keys_made_by_openssl_sign_and_verify(tmp_path):
    private, public = tmp_path / "k.pem", tmp_path / "k.pub"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(private)], check=True)
    subprocess.run(["openssl", "pkey", "-in", str(private), "-pubout", "-out", str(public)], check=True)
    directory = write_set(tmp_path / "s", ALLOWING.format(version="1"))
    archive = bundle_of(directory, "r1", load_private_key(private))
    assert open_bundle(archive, load_public_key(public)).signed_by == key_id(load_public_key(public))


@pytest.mark.parametrize("content", [b"", b"not a key", b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"])
def test_a_file_that_is_not_an_ed25519_key_is_named(tmp_path, content):
    path = tmp_path / "key.pem"
    path.write_bytes(content)
    with pytest.raises(KeyProblem, match="key.pem"):
        load_public_key(path)
    with pytest.raises(KeyProblem, match="key.pem"):
        load_private_key(path)
