/**
 * A matcher for the subset of EventBridge event-pattern syntax the guard's rules use: value lists,
 * `prefix`, `wildcard`, `anything-but` (a value or a list), `exists`, nested objects and `$or`.
 * Anything else in a pattern throws, so a rule that grows new syntax fails its test instead of
 * matching by accident.
 */
export function matches(pattern: unknown, event: unknown): boolean {
  if (Array.isArray(pattern)) return matchesValue(pattern, event);
  if (typeof pattern !== 'object' || pattern === null)
    throw new Error(`unsupported pattern ${JSON.stringify(pattern)}`);
  const fields = typeof event === 'object' && event !== null && !Array.isArray(event) ? event : {};
  return Object.entries(pattern).every(([key, sub]) => {
    if (key === '$or') return (sub as unknown[]).some((alternative) => matches(alternative, event));
    return matches(sub, (fields as Record<string, unknown>)[key]);
  });
}

function matchesValue(alternatives: readonly unknown[], value: unknown): boolean {
  const exists = alternatives.find((a) => typeof a === 'object' && a !== null && 'exists' in a) as
    { exists: boolean } | undefined;
  if (exists) return (value !== undefined) === exists.exists;
  if (value === undefined || value === null) return false;
  // A list in the event matches when any of its elements does.
  if (Array.isArray(value)) return value.some((v) => matchesValue(alternatives, v));
  return alternatives.some((a) => matchesOne(a, value));
}

function matchesOne(alternative: unknown, value: unknown): boolean {
  if (typeof alternative !== 'object' || alternative === null) return alternative === value;
  const [[operator, operand], ...rest] = Object.entries(alternative);
  if (rest.length > 0) throw new Error(`unsupported pattern ${JSON.stringify(alternative)}`);
  switch (operator) {
    case 'prefix':
      return typeof value === 'string' && typeof operand === 'string' && value.startsWith(operand);
    case 'wildcard':
      return typeof value === 'string' && typeof operand === 'string' && wildcard(operand).test(value);
    case 'anything-but':
      return Array.isArray(operand) ? !operand.includes(value) : operand !== value;
    default:
      throw new Error(`unsupported pattern operator ${operator}`);
  }
}

/**
 * EventBridge's `wildcard`: `*` matches zero or more characters (EB-12). Escapes (a backslash) are
 * not implemented, so a pattern with one throws rather than matching by accident.
 */
function wildcard(pattern: string): RegExp {
  if (pattern.includes('\\')) throw new Error(`unsupported wildcard escape in ${pattern}`);
  const escaped = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`, 's');
}
