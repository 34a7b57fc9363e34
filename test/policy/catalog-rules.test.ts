import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActionGroup } from '../../lib/action-group';
import { auditCatalog, IamAction, VerbRule } from '../../scripts/catalog-rules/audit';
import { GROUPS } from '../../scripts/catalog-rules/groups';
import { catalogMarkdown } from '../../scripts/catalog-rules/markdown';
import { VERB_RULES } from '../../scripts/catalog-rules/verbs';
import { allIamActions } from '../support/iam-data-actions';

const write = (service: string, name: string): IamAction => ({ service, name, accessLevel: 'Write' });
const read = (service: string, name: string): IamAction => ({ service, name, accessLevel: 'Read' });

// A tiny catalog: two services, a lower-case verb, an HTTP-verb action and a Read action that starts with a
// destructive verb.
const FAKE: IamAction[] = [
  write('svc', 'DeleteThing'),
  write('api', 'DELETE'),
  read('svc', 'DeleteThingPreview'),
  write('svc', 'UpdateThing'),
  write('svc', 'UpdateThingCapacity'),
  read('svc', 'GetThing'),
  write('other', 'startJob'),
];
const GROUP = { gone: { description: 'Gone.' }, down: { description: 'Down.' } };
const RULES: Record<string, VerbRule> = {
  Delete: {
    group: 'gone',
    reason: 'Deletes.',
    actions: [{ match: ['svc:DeleteThingPreview'], group: null, reason: 'A dry run.' }],
  },
  Update: {
    reason: 'Updates.',
    actions: [{ match: ['svc:updatethingcapacity'], group: 'down', reason: 'Can set capacity to zero.' }],
  },
  Get: { reason: 'Reads.' },
  Start: { reason: 'Starts.' },
};

describe('the verb audit, on a tiny catalog', () => {
  test('decides every action by its verb without case, and named actions by their own rule', () => {
    const result = auditCatalog(FAKE, RULES, GROUP);
    expect(result.errors).toEqual([]);
    expect(result.groups.gone.actions).toEqual(['api:DELETE', 'svc:DeleteThing']);
    expect(result.groups.down.actions).toEqual(['svc:UpdateThingCapacity']);
    expect(result.verbs.map((row) => [row.verb, row.decision, row.total])).toEqual([
      ['Delete', 'destructive', 3],
      ['Get', 'not destructive', 1],
      ['Start', 'not destructive', 1],
      ['Update', 'by action', 2],
    ]);
  });

  test('a verb of iam-data without a rule fails, naming the verb and an action of it', () => {
    const rules = Object.fromEntries(Object.entries(RULES).filter(([verb]) => verb !== 'Start'));
    expect(auditCatalog(FAKE, rules, GROUP).errors).toEqual([
      expect.stringMatching(/^Verb 'start' \(1 actions, such as other:startJob\) has no rule\./),
    ]);
  });

  test('a verb rule that matches no action fails', () => {
    const rules = { ...RULES, Purge: { group: 'gone', reason: 'Purges.' } };
    expect(auditCatalog(FAKE, rules, GROUP).errors).toEqual([
      "The rule for verb 'Purge' matches no action of iam-data. Remove it.",
    ]);
  });

  test('a named action that is not in iam-data fails', () => {
    const rules: Record<string, VerbRule> = {
      ...RULES,
      Update: { reason: 'Updates.', actions: [{ match: ['svc:UpdateThingz'], group: 'down', reason: 'Typo.' }] },
    };
    expect(auditCatalog(FAKE, rules, GROUP).errors).toContainEqual(
      expect.stringContaining("'svc:UpdateThingz' matches no 'Update' action of iam-data"),
    );
  });

  test('a destructive rule that catches a Read action fails, unless it says why', () => {
    const rules = { ...RULES, Delete: { group: 'gone', reason: 'Deletes.' } };
    expect(auditCatalog(FAKE, rules, GROUP).errors).toEqual([
      expect.stringMatching(/^svc:DeleteThingPreview is a Read action, but verb 'Delete' puts it in group 'gone'\./),
    ]);

    const allowed: Record<string, VerbRule> = {
      ...RULES,
      Delete: {
        group: 'gone',
        reason: 'Deletes.',
        actions: [{ match: ['svc:DeleteThingPreview'], group: 'gone', reason: 'Preview.', readDenied: 'On purpose.' }],
      },
    };
    const result = auditCatalog(FAKE, allowed, GROUP);
    expect(result.errors).toEqual([]);
    expect(result.groups.gone.actions).toContain('svc:DeleteThingPreview');
  });

  test('an unknown group, a group with no action, and two rules on one action fail', () => {
    const rules: Record<string, VerbRule> = {
      ...RULES,
      Update: {
        reason: 'Updates.',
        actions: [
          { match: ['svc:Update*'], group: 'nosuchgroup', reason: 'A.' },
          { match: ['svc:UpdateThing'], group: 'gone', reason: 'B.' },
        ],
      },
    };
    expect(auditCatalog(FAKE, rules, GROUP).errors).toEqual([
      "Verb 'Update', rule 'A.': group 'nosuchgroup' is not in scripts/catalog-rules/groups.ts.",
      "Verb 'Update', rule 'B.': svc:UpdateThing is matched by rule 'A.' as well.",
      "Group 'down' has no action. Give it a rule or remove it from scripts/catalog-rules/groups.ts.",
    ]);
  });

  test('a rule scoped to resources becomes a conditional entry with those resources', () => {
    const rules: Record<string, VerbRule> = {
      ...RULES,
      Delete: {
        group: 'gone',
        reason: 'Deletes.',
        actions: [
          { match: ['svc:DeleteThingPreview'], group: null, reason: 'A dry run.' },
          { match: ['api:delete'], group: 'gone', reason: 'Only APIs.', resources: ['arn:*:api:*::/apis/*'] },
        ],
      },
    };
    const { groups, errors } = auditCatalog(FAKE, rules, GROUP);
    expect(errors).toEqual([]);
    expect(groups.gone.actions).toEqual(['svc:DeleteThing']);
    expect(groups.gone.conditional).toEqual([
      { why: 'Only APIs.', actions: ['api:DELETE'], condition: {}, resources: ['arn:*:api:*::/apis/*'] },
    ]);
  });
});

describe('the verb audit of iam-data', () => {
  let catalog: IamAction[];
  beforeAll(async () => {
    catalog = (await allIamActions()).map(({ action, accessLevel }) => {
      const [service, name] = action.split(':');
      return { service, name, accessLevel };
    });
  });
  const ROOT = join(__dirname, '..', '..');
  const committed = JSON.parse(readFileSync(join(ROOT, 'lib/core/catalog/destructive-actions.json'), 'utf-8')) as {
    source: string;
    groups: unknown;
  };

  test('has a rule for every verb, and the committed catalog and docs/CATALOG.md are what it generates', () => {
    const result = auditCatalog(catalog, VERB_RULES, GROUPS);
    expect(result.errors).toEqual([]);
    // If this fails: run `npm run catalog` and commit the catalog and docs/CATALOG.md.
    expect(committed.groups).toEqual(result.groups);
    const formatted = spawnSync(
      join(ROOT, 'node_modules', '.bin', 'prettier'),
      ['--stdin-filepath', 'docs/CATALOG.md'],
      { cwd: ROOT, input: catalogMarkdown(result, committed.source), encoding: 'utf-8' },
    );
    expect(formatted.status).toBe(0);
    expect(readFileSync(join(ROOT, 'docs', 'CATALOG.md'), 'utf-8')).toBe(formatted.stdout);
  });

  test('every built-in group has an ActionGroup constant', () => {
    const constants = Object.values(ActionGroup).filter((v): v is ActionGroup => v instanceof ActionGroup);
    expect(constants.map((g) => g.name).sort()).toEqual(Object.keys(GROUPS).sort());
  });
});
