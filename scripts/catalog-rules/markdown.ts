import { AuditResult } from './audit';

const cell = (text: string): string => text.replace(/\|/g, '\\|');

/** Every action the catalog protects, plain or conditional. */
export function catalogActions(result: AuditResult): Set<string> {
  return new Set(
    Object.values(result.groups).flatMap((g) => [...g.actions, ...g.conditional.flatMap((rule) => rule.actions)]),
  );
}

/** docs/CATALOG.md before prettier formats it: the decisions of the verb audit and their counts. */
export function catalogMarkdown(result: AuditResult, source: string): string {
  const groupRows = Object.entries(result.groups).map(([name, group]) => {
    const conditional = group.conditional.reduce((n, rule) => n + rule.actions.length, 0);
    return `| \`${name}\` | ${group.actions.length} | ${conditional} | ${cell(group.description)} |`;
  });
  const counts = (byGroup: Record<string, number>): string =>
    Object.keys(result.groups)
      .filter((group) => group in byGroup)
      .map((group) => `\`${group}\` ${byGroup[group]}`)
      .join(', ');
  const verbRows = result.verbs.map(
    (row) => `| ${row.verb} | ${row.total} | ${row.decision} | ${counts(row.byGroup)} | ${cell(row.reason)} |`,
  );
  const actionRows = result.verbs.flatMap((row) =>
    row.actionRules.map(({ rule, matched }) => {
      const scope = [
        rule.condition ? `when ${cell(JSON.stringify(rule.condition))}` : '',
        rule.resources ? `on ${rule.resources.map((r) => `\`${r}\``).join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      const group = rule.group === null ? 'not destructive' : `\`${rule.group}\``;
      const match = rule.match.map((m) => `\`${m}\``).join(', ');
      return `| ${row.verb} | ${match} | ${matched} | ${group} | ${cell(rule.reason)}${scope ? ` (${scope})` : ''} |`;
    }),
  );
  return [
    '# The destructive catalog: verb audit',
    '',
    `Generated from \`${source}\` by \`npm run catalog\`, with the rules in \`scripts/catalog-rules/\`.`,
    'Do not edit it: change the rules and run it again. The generation fails when iam-data has a verb without',
    'a rule, when a rule or a named action matches nothing, and when a destructive rule catches a Read or List',
    'action without a stated reason. `npx tsx scripts/catalog-rules/measure.ts` prints what the catalog costs',
    'in guard policies.',
    '',
    `The catalog holds ${catalogActions(result).size.toLocaleString('en-US')} actions. While a role is locked, the guard denies every one of them.`,
    '',
    '## Groups',
    '',
    '| group | actions | conditional | what |',
    '| --- | --- | --- | --- |',
    ...groupRows,
    '',
    '## Verbs',
    '',
    'The verb is the first word of the action name, without case (`DELETE` and `Delete` are one verb).',
    '"destructive": every action of the verb, but for the exceptions below; "by action": only the actions',
    'named below; "not destructive": none.',
    '',
    '| verb | actions | decision | denied, by group | reason |',
    '| --- | --- | --- | --- | --- |',
    ...verbRows,
    '',
    '## Named actions and exceptions',
    '',
    '| verb | actions | matched | group | reason |',
    '| --- | --- | --- | --- | --- |',
    ...actionRows,
    '',
  ].join('\n');
}
