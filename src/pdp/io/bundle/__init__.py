"""Policy bundles: a checked policy set as one signed, content-addressed archive, as OPA ships its policies.

`build_bundle` packs the files a policy set was built from with a manifest
(revision, content digest, every file's sha256) and an ed25519 signature of
the manifest; `open_bundle` verifies an archive (bounded, no path tricks, the
signature, every digest) before anything in it is trusted; `load_bundle`
builds the verified files into a PolicySet with the loader, as `pdp check`
would read them from a directory.
"""

from .archive import MANIFEST, SIGNATURES
from .bundle import Built, Opened, build_bundle, load_bundle, open_bundle, set_files
from .errors import BundleError, KeyProblem
from .keys import generate_key_pair, key_id, load_private_key, load_public_key
from .manifest import Manifest

__all__ = ["MANIFEST", "SIGNATURES", "Built", "BundleError", "KeyProblem", "Manifest", "Opened", "build_bundle",
           "generate_key_pair", "key_id", "load_bundle", "load_private_key", "load_public_key", "open_bundle",
           "set_files"]
