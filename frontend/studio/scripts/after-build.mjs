// After `vite build`: write static/build-info.json (the digest of the sources the build was made from, which
// tests/test_studio_assets.py compares with the sources in the repository) and static/THIRD-PARTY-NOTICES.txt
// (the licence of every package the bundle may include: the runtime dependencies in package-lock.json).
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sourceDigest } from "./sources.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = fileURLToPath(new URL("../../../src/pdp/server/studio/static", import.meta.url));

const info = { ...sourceDigest(root), note: "written by `npm run build` in frontend/studio; do not edit" };
writeFileSync(join(out, "build-info.json"), `${JSON.stringify(info, null, 2)}\n`);

const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
const bundled = Object.entries(lock.packages)
  .filter(([path, entry]) => path.startsWith("node_modules/") && !entry.dev)
  .map(([path]) => path)
  .sort();
const parts = [
  "pdp studio: third-party notices",
  "",
  "The studio's built assets (index.html, assets/*) include code from the packages below, each under its own",
  "licence, reproduced here.",
];
for (const path of bundled) {
  const meta = JSON.parse(readFileSync(join(root, path, "package.json"), "utf8"));
  const licenceFile = readdirSync(join(root, path)).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
  parts.push("", "=".repeat(78), `${meta.name} ${meta.version} (${meta.license || "see below"})`,
    meta.repository?.url ? `source: ${meta.repository.url.replace(/^git\+/, "")}` : "", "=".repeat(78), "");
  if (licenceFile && existsSync(join(root, path, licenceFile))) parts.push(readFileSync(join(root, path, licenceFile), "utf8").trim());
  else parts.push(`Licensed under ${meta.license}.`);
}
writeFileSync(join(out, "THIRD-PARTY-NOTICES.txt"), `${parts.join("\n")}\n`);
console.log(`build-info.json: ${info.sources_sha256}; notices for ${bundled.length} packages`);
