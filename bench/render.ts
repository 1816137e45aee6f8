/**
 * Re-renders bench/RESULTS.md from the raw readings the last run saved (bench/RESULTS.json), e.g. after
 * changing report.ts: `node --import tsx bench/render.ts [RESULTS.json]`.
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderResults, type RunResults } from "./report.ts";

const input = process.argv[2] ?? fileURLToPath(new URL("./RESULTS.json", import.meta.url));
const results = JSON.parse(readFileSync(input, "utf8")) as RunResults;
writeFileSync(input.replace(/\.json$/, ".md"), renderResults(results));
