/**
 * The checks every config resolver shares: one error format (key, expectation, value), a log-safe
 * rendering of untrusted values, and strict keys — a key the plugin does not know is an error that names
 * its path and the closest known key, never a silent default.
 *
 * @module
 */

/** Formats a config error the same way everywhere: key, expectation, offending value. */
export function fail(key: string, expected: string, got: unknown): never {
  throw new TypeError(`strapi-io: '${key}' must be ${expected}, got ${describe(got)}`);
}

/**
 * A short, log-safe rendering of any value, trusted or not: strings quoted and truncated, objects and
 * arrays named by kind. It never walks into a value, so a hostile payload (deep, huge, cyclic, with
 * throwing getters) costs nothing to describe.
 */
export function describe(value: unknown): string {
  if (typeof value === "string") {
    return `'${value.length > 60 ? `${value.slice(0, 57)}...` : value}'`;
  }
  if (
    value === null || value === undefined || typeof value === "number" || typeof value === "boolean"
  ) return String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

/** `value` when it is an integer of at least `min`; otherwise a config error naming `key`. */
export function integerAtLeast(value: unknown, min: number, key: string, what: string): number {
  if (!Number.isInteger(value) || (value as number) < min) {
    fail(key, min > 1 ? `${what}, at least ${min}` : what, value);
  }
  return value as number;
}

/** Throws unless `value` is a plain object (not null, not an array). */
export function expectPlainObject(value: unknown, key: string): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(key, "an object", value);
  }
}

/**
 * Throws on the first key of `value` that is not in `known`, naming its full path, its value and the
 * closest known key: `strapi-io: unknown option 'transport.prot' (did you mean 'transport.port'?)`.
 * `path` is the dotted path of `value` itself (`""` at the top level).
 */
export function expectKnownKeys(value: object, known: readonly string[], path: string): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    const hint = near === undefined
      ? `known keys here: ${known.join(", ")}`
      : `did you mean '${join(path, near)}'?`;
    throw new TypeError(
      `strapi-io: unknown option '${join(path, key)}' (${hint}), got ${
        describe((value as Record<string, unknown>)[key])
      }`,
    );
  }
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** The known key a typo most likely meant: same letters ignoring case, or within a small edit distance. */
function closest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = candidate.toLowerCase() === lower
      ? 0
      : editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Levenshtein distance; config keys are short, so the quadratic table is fine. */
function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Infinity;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
