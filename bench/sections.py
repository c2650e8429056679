"""Several scripts write docs/benchmarks.md: each owns a section between markers and keeps the others."""

from __future__ import annotations

import re
from pathlib import Path


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- section:{name}:start -->", f"<!-- section:{name}:end -->"


def sections_of(text: str) -> dict[str, str]:
    found = {}
    for match in re.finditer(r"<!-- section:(\w+):start -->\n(.*?)<!-- section:\1:end -->", text, re.S):
        found[match.group(1)] = match.group(2)
    return found


def write_section(path: Path, name: str, body: str) -> None:
    """Put `body` in section `name` of the file, replacing the section or appending it."""
    start, end = _markers(name)
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def keep_sections(path: Path, new_text: str, owned: str) -> str:
    """`new_text` with the other scripts' sections of the existing file carried over."""
    if not path.exists():
        return new_text
    for name, body in sections_of(path.read_text(encoding="utf-8")).items():
        if name != owned and f"section:{name}:start" not in new_text:
            start, end = _markers(name)
            new_text = new_text.rstrip() + f"\n\n{start}\n{body.rstrip()}\n{end}\n"
    return new_text


def publish(lines: list[str], script: str, out: Path | None, name: str) -> None:
    """A section's table: `lines`, then the line naming the script that writes it; printed, and written to `out`'s
    section `name` when given."""
    text = "\n".join([*lines, "", f"`{script}` writes this section."]) + "\n"
    print(text)
    if out:
        write_section(out, name, text)
