/**
 * IAM action names and patterns. IAM matches actions case-insensitively; `*` matches any run of
 * characters and `?` exactly one.
 */

/** True if the IAM action pattern `pattern` (for example `ec2:Delete*`) matches `action`. */
export function actionMatches(pattern: string, action: string): boolean {
  return patternRegExp(pattern).test(action);
}

/** True if the IAM ARN pattern `pattern` matches `arn`: the same wildcards, but ARNs keep their case. */
export function arnMatches(pattern: string, arn: string): boolean {
  return wildcardRegExp(pattern, '').test(arn);
}

const regExpCache = new Map<string, RegExp>();

function patternRegExp(pattern: string): RegExp {
  let re = regExpCache.get(pattern);
  if (!re) {
    re = wildcardRegExp(pattern, 'i');
    regExpCache.set(pattern, re);
  }
  return re;
}

function wildcardRegExp(pattern: string, flags: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, flags);
}

/** Splits `svc:Action` into its service prefix and action name. */
export function splitAction(action: string): { service: string; name: string } {
  const colon = action.indexOf(':');
  return { service: action.slice(0, colon), name: action.slice(colon + 1) };
}

/**
 * The shortest list of patterns for one service that matches every action in `targets` and no action
 * in `all` outside them. A candidate pattern is kept only if no action of the service outside the
 * targets matches it, so the proof is the catalog itself. Candidates are a prefix (`Delete*`), and
 * the first one or two words of a target's name (its verb, `Delete` or `BatchDelete`) anywhere in a
 * name (`*Delete*`) or at its end. Only verbs stand after a leading `*`: a future read action
 * (`GetX`, `DescribeX`) is then unlikely to match, and other words saved almost nothing (37 of
 * 10,560 characters on the catalog). A greedy set cover picks the candidates with the fewest
 * characters per action matched. Results are cached: the approval function compiles the same
 * services again.
 *
 * @param all every action name of the service, as the catalog spells them
 * @param targets the action names to match (a subset of `all`, any case)
 * @param minPrefix never shorten a prefix below this many characters, nor use fewer literal
 *   characters around a leading `*`, so that a new AWS action is less likely to fall under a
 *   pattern by accident
 */
export function compressService(
  service: string,
  all: readonly string[],
  targets: ReadonlySet<string>,
  minPrefix: number,
): string[] {
  const key = [service, minPrefix, ...[...targets].map((t) => t.toLowerCase()).sort()].join('\u0000');
  const cache = compressCache.get(all) ?? new Map<string, readonly string[]>();
  compressCache.set(all, cache);
  let patterns = cache.get(key);
  if (!patterns) {
    patterns = coverTargets(service, all, targets, minPrefix);
    cache.set(key, patterns);
  }
  return [...patterns];
}

/** By the list of all actions (the catalog keeps one list per service), then by the request. */
const compressCache = new WeakMap<readonly string[], Map<string, readonly string[]>>();

interface Candidate {
  readonly pattern: string;
  /** Indexes into the target list. */
  readonly covers: readonly number[];
}

/** Camel-case words of an action name: `DeleteDBInstance` is `Delete`, `DB`, `Instance`. */
const WORD = /[A-Z]+(?![a-z])|[A-Z][a-z0-9]*|[a-z0-9]+/g;

function coverTargets(service: string, all: readonly string[], targets: ReadonlySet<string>, minPrefix: number) {
  const lowerTargets = new Set([...targets].map((t) => t.toLowerCase()));
  const names = [...new Set(all)].sort();
  const goal = names.filter((n) => lowerTargets.has(n.toLowerCase()));
  const lowerGoal = goal.map((n) => n.toLowerCase());
  const others = names
    .map((n) => n.toLowerCase())
    .filter((n) => !lowerTargets.has(n))
    .sort();
  const cost = (pattern: string) => pattern.length + 3; // quotes and comma in the policy's JSON
  const candidates = new Map<string, Candidate>();
  const add = (pattern: string, covers: readonly number[]) => {
    if (!candidates.has(pattern.toLowerCase())) candidates.set(pattern.toLowerCase(), { pattern, covers });
  };
  const coverWhere = (test: (name: string) => boolean) => lowerGoal.flatMap((n, i) => (test(n) ? [i] : []));

  // One string of the other actions, each between newlines, makes each infix proof a single search.
  const otherText = `\n${others.join('\n')}\n`;
  const runsSeen = new Set<string>();
  goal.forEach((name, i) => {
    add(`${service}:${name}`, [i]);
    const lower = lowerGoal[i];
    // Shorter prefixes match a superset for fewer characters: only the shortest proven one matters.
    for (let len = Math.min(minPrefix, lower.length); len <= lower.length; len++) {
      const prefix = lower.slice(0, len);
      if (startsAny(others, prefix)) continue;
      const covers = coverWhere((n) => n.startsWith(prefix));
      if (covers.length > 1 || len < lower.length) add(`${service}:${name.slice(0, len)}*`, covers);
      break;
    }
    // The verb, alone or with the next word (`Delete`, `BatchDelete`), anywhere in a name or at its end.
    const words = name.match(WORD) ?? [name];
    for (let count = 1; count <= Math.min(words.length, 2); count++) {
      const run = words.slice(0, count).join('');
      const lowerRun = run.toLowerCase();
      if (run.length < minPrefix || runsSeen.has(lowerRun)) continue;
      runsSeen.add(lowerRun);
      if (!otherText.includes(lowerRun)) {
        add(
          `${service}:*${run}*`,
          coverWhere((n) => n.includes(lowerRun)),
        );
      } else if (lowerGoal.some((n) => n.endsWith(lowerRun)) && !otherText.includes(`${lowerRun}\n`)) {
        add(
          `${service}:*${run}`,
          coverWhere((n) => n.endsWith(lowerRun)),
        );
      }
    }
  });

  // Greedy weighted set cover: the candidate with the fewest characters per newly matched action.
  const covered = new Array<boolean>(goal.length).fill(false);
  let left = goal.length;
  const chosen: Candidate[] = [];
  const pool = [...candidates.values()].sort((a, b) => (a.pattern < b.pattern ? -1 : 1));
  while (left > 0) {
    let best: Candidate | undefined;
    let bestGain = 0;
    for (const candidate of pool) {
      const gain = candidate.covers.reduce((n, i) => n + (covered[i] ? 0 : 1), 0);
      if (gain === 0) continue;
      if (!best || cost(candidate.pattern) * bestGain < cost(best.pattern) * gain) {
        best = candidate;
        bestGain = gain;
      }
    }
    chosen.push(best!);
    for (const i of best!.covers) {
      if (!covered[i]) left--;
      covered[i] = true;
    }
  }
  // A pattern picked early may be wholly matched by later ones.
  const count = new Array<number>(goal.length).fill(0);
  chosen.forEach((c) => c.covers.forEach((i) => count[i]++));
  const kept = chosen.filter((c) => {
    if (c.covers.every((i) => count[i] > 1)) {
      c.covers.forEach((i) => count[i]--);
      return false;
    }
    return true;
  });
  return kept.map((c) => c.pattern).sort();
}

/** True if a name in `sorted` starts with `prefix`: the first name not below it is the only candidate. */
function startsAny(sorted: readonly string[], prefix: string): boolean {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid] < prefix) low = mid + 1;
    else high = mid;
  }
  return low < sorted.length && sorted[low].startsWith(prefix);
}
