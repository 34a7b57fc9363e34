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
 * in `all` outside them. A prefix is shortened only while every action of the service that starts
 * with it is a target, so the proof is the catalog itself.
 *
 * @param all every action name of the service, as the catalog spells them
 * @param targets the action names to match (a subset of `all`, any case)
 * @param minPrefix never shorten a prefix below this many characters, so that a new AWS action is
 *   less likely to fall under a pattern by accident
 */
export function compressService(
  service: string,
  all: readonly string[],
  targets: ReadonlySet<string>,
  minPrefix: number,
): string[] {
  const lowerTargets = new Set([...targets].map((t) => t.toLowerCase()));
  const lowerAll = all.map((a) => a.toLowerCase());
  const covered = new Set<string>();
  const patterns: string[] = [];
  for (const name of [...all].sort()) {
    const lower = name.toLowerCase();
    if (!lowerTargets.has(lower) || covered.has(lower)) continue;
    let pattern = `${service}:${name}`;
    for (let len = Math.min(minPrefix, lower.length); len <= lower.length; len++) {
      const prefix = lower.slice(0, len);
      const matched = lowerAll.filter((a) => a.startsWith(prefix));
      if (matched.every((a) => lowerTargets.has(a))) {
        matched.forEach((a) => covered.add(a));
        pattern =
          len === lower.length && matched.length === 1 ? `${service}:${name}` : `${service}:${name.slice(0, len)}*`;
        break;
      }
    }
    covered.add(lower);
    patterns.push(pattern);
  }
  return patterns;
}
