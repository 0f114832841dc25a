// The lock file names no package registry (the project's files never do), and every dependency
// is pinned to one exact version. `tests/test_console_package.py` checks the same from Python.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const lock = readFileSync(join(WEB, "package-lock.json"), "utf-8");
const manifest = JSON.parse(readFileSync(join(WEB, "package.json"), "utf-8"));
const problems = [];
if (/registry/i.test(lock)) problems.push("package-lock.json names a registry");
if (/"resolved"\s*:/.test(lock)) problems.push("package-lock.json records download addresses (resolved)");
for (const group of ["dependencies", "devDependencies"]) {
  for (const [name, version] of Object.entries(manifest[group] ?? {})) {
    if (!/^\d+\.\d+\.\d+$/.test(String(version))) problems.push(`${name} is not pinned: ${version}`);
  }
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log("package-lock.json names no registry; every dependency is pinned");
