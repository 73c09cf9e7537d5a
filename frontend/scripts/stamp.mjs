// Writes dist/build-stamp.json: the SHA-256 of every source the build reads. The Django test
// tests/frontend/test_build.py recomputes it from the sources and fails when the committed
// build is stale (a source changed and `npm run build` was not run). Keep the file list and
// the hashing identical to that test's (frontend/build_sources.txt names the inputs).
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const entries = readFileSync(join(root, "build_sources.txt"), "utf8")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith("#"));

function walk(path) {
  const full = join(root, path);
  if (statSync(full).isDirectory()) {
    return readdirSync(full).flatMap((name) => walk(join(path, name)));
  }
  return [relative(root, full).split(sep).join("/")];
}

const files = entries.flatMap(walk).sort();
const hash = createHash("sha256");
for (const file of files) {
  hash.update(file + "\0");
  hash.update(readFileSync(join(root, file)));
  hash.update("\0");
}
const stamp = { sources: hash.digest("hex"), files: files.length };
writeFileSync(join(root, "dist", "build-stamp.json"), JSON.stringify(stamp, null, 2) + "\n");
console.log(`build stamp ${stamp.sources.slice(0, 12)} over ${stamp.files} files`);
