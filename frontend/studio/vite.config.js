// Builds the studio into the Python package, so that `pip install` alone serves it (no Node at run time).
// `base: "./"`: index.html names its assets relative to itself, wherever pdp mounts it (/studio/).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const outDir = fileURLToPath(new URL("../../src/pdp/server/studio/static", import.meta.url));

export default defineConfig({
  base: "./",
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    // one script and one stylesheet, nothing to preload: no polyfill of Vite's own goes into the bundle
    modulePreload: { polyfill: false },
  },
});
