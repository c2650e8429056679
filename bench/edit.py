"""A one-rule edit of a generated policy set (bench/generate.py), for measuring `pdp diff` at scale (issue 10).

    python -m bench.generate --rules 5000 --variant random --seed 1 --out /tmp/set
    python -m bench.edit /tmp/set /tmp/set-edited
    /usr/bin/time -v pdp diff /tmp/set /tmp/set-edited

copies the set and raises the threshold of one test (`context.level_NN >= K` becomes `>= K+1`, the first
in file order), the edit a reviewer sees most: one condition of one rule. It prints the file and the line.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

THRESHOLD = re.compile(r"context\.level_(\d+) >= (\d+)")


def edit(source: Path, target: Path) -> tuple[Path, int]:
    """Copy `source` to `target` (replacing it) with one threshold raised; the file and line edited."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    for path in sorted(target.rglob("*.pdp")):
        text = path.read_text(encoding="utf-8")
        found = THRESHOLD.search(text)
        if found:
            raised = f"context.level_{found.group(1)} >= {int(found.group(2)) + 1}"
            path.write_text(text[:found.start()] + raised + text[found.end():], encoding="utf-8")
            return path, text.count("\n", 0, found.start()) + 1
    raise ValueError(f"no `context.level_NN >= K` test in {source}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a generated policy directory")
    parser.add_argument("target", type=Path, help="where the edited copy is written (replaced)")
    args = parser.parse_args(argv)
    try:
        path, line = edit(args.source, args.target)
    except ValueError as error:
        print(f"bench.edit: {error}", file=sys.stderr)
        return 2
    print(f"edited {path}:{line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
