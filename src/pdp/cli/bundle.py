"""`pdp bundle build|verify|keygen`: ship a checked policy set to many servers as one signed archive.

`pdp serve --bundle URL --public-key KEY` polls such an archive (docs/service.md, "Policy bundles").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, load_or_report

DEFAULT_KEY_NAME = "bundle-signing"


def register(subparsers) -> None:
    bundle = subparsers.add_parser("bundle", help="build, verify and sign policy bundles (for `pdp serve --bundle`)")
    sub = bundle.add_subparsers(dest="bundle_command", required=True, metavar="SUBCOMMAND")
    build = sub.add_parser("build", help="pack a policy set that checks into a signed, content-addressed archive")
    build.add_argument("policy_dir", help="the policy set directory")
    build.add_argument("-o", "--output", help="the archive to write; default: <name>-<digest>.tar.gz here")
    build.add_argument("--signing-key", help="ed25519 private key (PEM) to sign with; without it the bundle is "
                       "unsigned, and a server takes it only with --bundle-insecure-unsigned")
    build.add_argument("--revision", help="the bundle's revision; default: the policy set's version")
    build.set_defaults(func=cmd_build)
    verify = sub.add_parser("verify", help="check a bundle's signature, every file's digest and its policy set")
    verify.add_argument("file", help="the bundle (tar.gz)")
    trust = verify.add_mutually_exclusive_group(required=True)
    trust.add_argument("--public-key", help="the ed25519 public key (PEM) the bundle must be signed with")
    trust.add_argument("--insecure-unsigned", action="store_true", help="do not check the signature (digests and "
                       "the policy set still are)")
    verify.set_defaults(func=cmd_verify)
    keygen = sub.add_parser("keygen", help="make an ed25519 key pair for signing bundles")
    keygen.add_argument("name", nargs="?", default=DEFAULT_KEY_NAME,
                        help=f"writes NAME.key.pem (private, mode 600) and NAME.pub.pem; default: {DEFAULT_KEY_NAME}")
    keygen.set_defaults(func=cmd_keygen)


def cmd_build(args) -> int:
    import datetime as dt
    import importlib.metadata

    from pdp.io.bundle import BundleError, KeyProblem, build_bundle, load_private_key
    from pdp.io.bundle.manifest import revision_problem

    key = None
    if args.signing_key:
        try:
            key = load_private_key(args.signing_key)
        except KeyProblem as error:
            return _usage(str(error))
    if args.revision is not None and revision_problem(args.revision):
        return _usage(f"--revision `{args.revision}`: {revision_problem(args.revision)}")
    policy_set = load_or_report(args.policy_dir)  # a set with errors is never packed
    if policy_set is None:
        return EXIT_FAIL
    revision = args.revision or policy_set.version
    if revision_problem(revision):
        return _usage(f"the set's version `{revision}` cannot be a revision ({revision_problem(revision)}); "
                      "give one with --revision")
    created_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    try:
        built = build_bundle(policy_set, revision, created_at, importlib.metadata.version("pdp"), key)
    except BundleError as error:
        print(f"pdp bundle build: {error.message}; {error.hint}", file=sys.stderr)
        return EXIT_FAIL
    output = Path(args.output or built.file_name)
    try:
        _write_atomically(output, built.archive)
    except OSError as error:
        return _usage(f"cannot write `{output}`: {error.strerror or error}")
    manifest = built.manifest
    print(f"built {output}: {manifest.policy.name} {manifest.policy.version}, revision {manifest.revision}, "
          f"{len(manifest.files)} files, digest {manifest.digest}, "
          + (f"signed by {built.signed_by}" if built.signed_by else "UNSIGNED"))
    if built.signed_by is None:
        print("warning: the bundle is not signed; `pdp serve --bundle` refuses it unless given "
              "--bundle-insecure-unsigned", file=sys.stderr)
    return EXIT_OK


def cmd_verify(args) -> int:
    from pdp.base.limits import MAX_BUNDLE_BYTES
    from pdp.io.bundle import BundleError, KeyProblem, load_bundle, load_public_key, open_bundle

    try:
        key = None if args.insecure_unsigned else load_public_key(args.public_key)
    except KeyProblem as error:
        return _usage(str(error))
    try:
        with open(args.file, "rb") as handle:
            archive = handle.read(MAX_BUNDLE_BYTES + 1)
    except OSError as error:
        return _usage(f"cannot read `{args.file}`: {error.strerror or error}")
    try:
        opened = open_bundle(archive, key)
        policy_set = load_bundle(opened)
    except BundleError as error:
        print(f"{args.file}: refused ({error.reason}): {error.message}; {error.hint}", file=sys.stderr)
        for entry in error.errors:
            print(f"  {entry['file']}:{entry['line']}:{entry['col']}: {entry['code']}: {entry['message']}",
                  file=sys.stderr)
        return EXIT_FAIL
    manifest = opened.manifest
    print(f"ok: {args.file}: {policy_set.name} {policy_set.version} ({len(policy_set.rules)} rules), revision "
          f"{manifest.revision}, {len(manifest.files)} files, digest {manifest.digest}, "
          + (f"signed by {opened.signed_by}" if opened.signed_by else "signature NOT checked"))
    return EXIT_OK


def cmd_keygen(args) -> int:
    from pdp.io.bundle import generate_key_pair, key_id, load_public_key

    private, public = generate_key_pair()
    private_path, public_path = Path(f"{args.name}.key.pem"), Path(f"{args.name}.pub.pem")
    try:
        for path, data, mode in ((private_path, private, 0o600), (public_path, public, 0o644)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)  # never overwrite a key
            with os.fdopen(fd, "wb") as out:
                out.write(data)
    except FileExistsError as error:
        return _usage(f"`{error.filename}` exists; a key is never overwritten (choose another NAME)")
    except OSError as error:
        return _usage(f"cannot write `{error.filename}`: {error.strerror or error}")
    print(f"wrote {private_path} (keep it secret: it signs bundles) and {public_path} (give it to the servers), "
          f"key {key_id(load_public_key(public_path))}")
    return EXIT_OK


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` beside `path`, then rename over it: a server polling the file never sees half an archive."""
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def _usage(message: str) -> int:
    print(f"pdp bundle: {message}", file=sys.stderr)
    return EXIT_USAGE
