"""One adapter per engine.

An adapter turns the shared workload into its engine's own terms:

- ``asks(request)`` is the request of the workload this engine is asked
  (the same one, but for a variant such as pdp asked for broad keys); the
  oracle decides that request too;
- ``to_native(request)`` converts one pdp request (JSON form) into what the
  engine's Python API takes. It runs before timing starts;
- ``compile(extra_rules)`` builds the policy (the benchmark policy plus the
  given extra rules) and returns a ``Compiled``: ``call(native)`` is the one
  thing that is timed, ``decision(result)`` reads "allow"/"deny" from what
  ``call`` returned (not timed);
- ``unavailable()`` says why the engine cannot run here, or ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import importlib
from importlib import metadata
from typing import Any, Callable, Sequence

from bench.workload import Rule


@dataclass
class Compiled:
    call: Callable[[Any], Any]
    decision: Callable[[Any], str]
    close: Callable[[], None] = field(default=lambda: None)


class Adapter:
    key: str = ""
    label: str = ""
    packages: tuple[str, ...] = ()
    supports_extra_rules: bool = True

    def unavailable(self) -> str | None:
        """Why the engine cannot run here (a package that does not import), or None."""
        for name in self.packages:
            try:
                importlib.import_module(name)
            except ImportError as exc:
                return str(exc)
        return None

    def asks(self, request: dict) -> dict:
        return request

    def to_native(self, request: dict) -> Any:
        raise NotImplementedError

    def compile(self, extra_rules: Sequence[Rule] = ()) -> Compiled:
        raise NotImplementedError

    def versions(self) -> dict[str, str]:
        out = {}
        for name in self.packages:
            try:
                out[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                out[name] = "not installed"
        return out

    def title(self) -> str:
        """The row label, with the package version."""
        return self.label.format(**{k.replace("-", "_"): v for k, v in self.versions().items()})


def single_category(request: dict) -> str:
    cats = request["data_categories"]
    if len(cats) != 1:
        raise ValueError("this adapter takes requests with exactly one data category")
    return cats[0]


def all_adapters() -> list[Adapter]:
    from bench.engines.casbin_abac import CasbinEvalAdapter, CasbinMatcherAdapter
    from bench.engines.cedar_engine import CedarAdapter
    from bench.engines.pdp_engine import PdpAdapter
    from bench.engines.python_floor import PythonFloorAdapter
    from bench.engines.rego_engine import RegoAdapter

    return [
        PdpAdapter(index=True),
        PdpAdapter(index=False),
        PdpAdapter(index=True, broad=True),
        CedarAdapter(),
        RegoAdapter(),
        CasbinMatcherAdapter(),
        CasbinEvalAdapter(),
        PythonFloorAdapter(),
    ]
