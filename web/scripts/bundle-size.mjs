// The console's weight as a browser downloads it, gzipped, from Vite's manifest: the first screen
// (the page, its entry and the sign-in page, with every chunk and stylesheet they import) and
// the workbench after it. The first screen must stay under 1.5 MB (issue 21); the figures are
// printed either way.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), "../dist");
const BUDGET = 1.5 * 1024 * 1024;

/** @type {Record<string, { file: string, imports?: string[], css?: string[], isEntry?: boolean }>} */
const manifest = JSON.parse(readFileSync(join(DIST, ".vite/manifest.json"), "utf-8"));

/** Every file a chunk needs before it runs: itself, its static imports and their styles. */
function closure(/** @type {string[]} */ keys) {
  const files = new Set();
  const seen = new Set();
  const visit = (/** @type {string} */ key) => {
    if (seen.has(key)) return;
    seen.add(key);
    const chunk = manifest[key];
    if (!chunk) throw new Error(`${key} is not in the manifest`);
    files.add(chunk.file);
    for (const css of chunk.css ?? []) files.add(css);
    for (const imported of chunk.imports ?? []) visit(imported);
  };
  keys.forEach(visit);
  return files;
}

function gzipped(/** @type {Set<string>} */ files) {
  let total = 0;
  for (const file of files) total += gzipSync(readFileSync(join(DIST, file)), { level: 9 }).length;
  return total;
}

const kb = (/** @type {number} */ bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const entry = Object.keys(manifest).find((key) => manifest[key]?.isEntry);
if (!entry) throw new Error("no entry in the manifest");
const page = gzipSync(readFileSync(join(DIST, "index.html"))).length;
const first = closure([entry, "src/views/LoginView.vue"]);
const firstBytes = gzipped(first) + page;
const workbench = closure([
  entry,
  "src/layouts/ConsoleLayout.vue",
  "src/views/WorkbenchView.vue",
  "src/components/ScoreChart.vue",
]);
console.log(`first screen (sign-in): ${kb(firstBytes)} gzipped in ${first.size + 1} files`);
console.log(`workbench with its chart: ${kb(gzipped(workbench) + page)} gzipped in ${workbench.size + 1} files`);
if (firstBytes > BUDGET) {
  console.error(`the first screen is over its budget of ${kb(BUDGET)}`);
  process.exit(1);
}
