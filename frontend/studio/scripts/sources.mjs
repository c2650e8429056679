// The front end's sources, as the build and tests/test_studio_assets.py hash them: every file under
// frontend/studio but node_modules/ and dist/, by its path relative to it. The digest is the sha256 of
// "<path>\0<sha256 of the file>\n" for each file in path order, so a stale build can be told apart.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";

const SKIPPED = new Set(["node_modules", "dist"]);

export function sourceFiles(root) {
  const out = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (SKIPPED.has(entry.name)) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) out.push(relative(root, path).split(sep).join("/"));
    }
  };
  walk(root);
  return out.sort();
}

export function sourceDigest(root) {
  const files = {};
  const whole = createHash("sha256");
  for (const path of sourceFiles(root)) {
    const digest = createHash("sha256").update(readFileSync(join(root, path))).digest("hex");
    files[path] = digest;
    whole.update(`${path}\0${digest}\n`);
  }
  return { sources_sha256: whole.digest("hex"), files };
}
