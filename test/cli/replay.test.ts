import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { run } from '../../bin/cli/cli';
import { defaultPolicies } from '../../bin/cli/check';
import { iamReference } from '../../lib/core/catalog/iam-reference';
import { iamActionOfEvent, iamServiceOfEventSource } from '../../lib/core/cloudtrail/event-names';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';
import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';
import { templatePolicies } from '../../lib/core/replay/template-policies';
import { ACCOUNT, exampleGuardedRole } from '../support/guarded-role';
import { decide, Principal, STATES } from '../support/simulate';

/*
 * Golden runs of `agent-guard replay` over test/fixtures/cloudtrail: a trail's S3 layout with plain and
 * gzipped logs (one named .json.gz but plain, so gzip is found by its bytes), a digest folder, and
 * assumed-role (with and without sessionIssuer), IAM user, federated user, AWS service and root callers,
 * an errored call and Lambda's versioned event names. Verdicts on named resources are checked against the
 * IAM engine; broken inputs must be reported and skipped, never end the run.
 */

const FIXTURES = join(__dirname, '../fixtures/cloudtrail');
const LOGS = join(FIXTURES, 'AWSLogs');
const BROKEN = join(FIXTURES, 'broken');
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/ExampleAgentRole`;

interface Line {
  eventID: string;
  eventTime: string;
  eventName: string;
  action: string | null;
  principal: string;
  verdict: 'would-block' | 'allowed' | 'not-agent';
  reason: string;
}

async function replay(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(['node', 'agent-guard', 'replay', ...args], {
    stdout: (text) => void (out += text),
    stderr: (text) => void (err += text),
    terminal: { stdout: false, stderr: false },
    env: {},
  });
  return { code, out, err };
}

async function replayJson(...args: string[]): Promise<Line[]> {
  const { code, out, err } = await replay(...args, '--json');
  expect({ code, err }).toEqual({ code: 0, err: '' });
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
}

/** The fixture records by eventID, read whole with zlib and JSON.parse (not the streaming reader). */
function fixtureRecords(dir: string): Map<string, Record<string, unknown>> {
  const records = new Map<string, Record<string, unknown>>();
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, name);
    if (!statSync(path).isFile() || name.includes('CloudTrail-Digest')) continue;
    const bytes = readFileSync(path);
    const text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
    for (const r of (JSON.parse(text) as { Records: Record<string, unknown>[] }).Records) {
      records.set(r.eventID as string, r);
    }
  }
  return records;
}

const RECORDS = fixtureRecords(LOGS);
const ADMIN: PolicyDocumentJson = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

function resourcesOf(eventID: string): string[] {
  const resources = (RECORDS.get(eventID)?.resources ?? []) as { ARN?: string }[];
  return resources.flatMap((r) => (r.ARN ? [r.ARN] : []));
}

/**
 * The IAM engine's answer for an agent line on named resources: a call goes through only when every one
 * of its resources is allowed. CloudTrail lists related resources too (a GetObject names its bucket),
 * which IAM does not authorize the action on: the engine refuses those, and they are passed over.
 */
async function engineAllows(principal: Principal, line: Line): Promise<boolean> {
  let evaluated = 0;
  for (const resource of resourcesOf(line.eventID)) {
    let decision;
    try {
      decision = await decide(principal, { action: line.action!, resource });
    } catch (error) {
      if (String(error).includes('no.resource.types')) continue;
      throw error;
    }
    evaluated++;
    if (decision !== 'Allowed') return false;
  }
  expect(evaluated).toBeGreaterThan(0);
  return true;
}

describe('replay: golden run over a trail folder', () => {
  let lines: Line[];
  beforeAll(async () => {
    lines = await replayJson(LOGS, '--agent-role', 'ExampleAgentRole');
  });
  const byId = (id: number) => lines.find((l) => l.eventID.startsWith(String(id).padStart(9, '0')))!;

  test('every record of every log file, gzipped or not, is reported once with exactly the documented fields', () => {
    expect(lines.map((l) => l.eventID).sort()).toEqual([...RECORDS.keys()].sort());
    for (const line of lines) {
      expect(Object.keys(line)).toEqual([
        'eventID',
        'eventTime',
        'eventName',
        'action',
        'principal',
        'verdict',
        'reason',
      ]);
    }
  });

  test('only role sessions of the agent role are agents: users, federated users, services, root and other roles are not', () => {
    for (const id of [7, 8, 9, 10, 11]) expect(byId(id).verdict).toBe('not-agent');
    expect(byId(7).principal).toBe(`arn:aws:iam::${ACCOUNT}:user/alice`);
    expect(byId(8).principal).toBe(`arn:aws:sts::${ACCOUNT}:federated-user/bob`);
    expect(byId(9).principal).toBe('AWSService cloudformation.amazonaws.com');
    expect(byId(11).reason).toContain('matches no --agent-role');
    for (const id of [1, 2, 3, 4, 5, 6, 12, 13, 14, 15]) expect(byId(id).principal).toBe(ROLE_ARN);
  });

  test("Lambda's versioned event names and CloudWatch's monitoring source map to their IAM actions", () => {
    expect(byId(5)).toMatchObject({ eventName: 'DeleteFunction20150331', action: 'lambda:DeleteFunction' });
    expect(byId(6)).toMatchObject({ eventName: 'UpdateFunctionCode20150331v2', action: 'lambda:UpdateFunctionCode' });
    expect(byId(12).action).toBe('cloudwatch:DeleteAlarms');
    // The IAM reference is the oracle: the mapped actions exist there.
    for (const id of [5, 6, 12, 15]) expect(iamReference.expand(byId(id).action!)).toEqual([byId(id).action]);
  });

  test('an errored call is still decided, and says it failed; a call without resource ARN says so', () => {
    expect(byId(4).verdict).toBe('would-block');
    expect(byId(4).reason).toContain('AccessDenied');
    expect(byId(4).reason).toContain('names no resource ARN');
  });

  test('the verdicts on named resources agree with the IAM engine, with the default policies, locked', async () => {
    const policies = defaultPolicies(resolveCatalog(), 'aws', ACCOUNT);
    const principal: Principal = {
      identityPolicies: [
        ...policies.identity.map((p) => ({ name: p.name, policy: p.document })),
        { name: 'AdministratorAccess', policy: ADMIN },
      ],
      boundary: { name: policies.boundary.name, policy: policies.boundary.document },
    };
    const checked = lines.filter((l) => l.verdict !== 'not-agent' && resourcesOf(l.eventID).length > 0);
    expect(new Set(checked.map((l) => l.verdict))).toEqual(new Set(['would-block', 'allowed']));
    for (const line of checked) {
      expect({ id: line.eventID, allowed: await engineAllows(principal, line) }).toEqual({
        id: line.eventID,
        allowed: line.verdict === 'allowed',
      });
    }
  });

  test('the text summary counts by group and role', async () => {
    const { code, out } = await replay(LOGS, '--agent-role', 'ExampleAgentRole');
    expect(code).toBe(0);
    const agent = lines.filter((l) => l.verdict !== 'not-agent');
    const blocked = agent.filter((l) => l.verdict === 'would-block').length;
    expect(out).toContain(`Replayed ${lines.length} calls from 3 log file(s), locked`);
    expect(out).toContain(
      `Agent calls: ${agent.length} (would block ${blocked}, allowed ${agent.length - blocked}); other callers: ${lines.length - agent.length}.`,
    );
    expect(out).toContain('Passed over 1 digest file(s)');
    expect(out).toMatch(
      /Would block, by group and role:\n {2}delete +arn:aws:iam::111122223333:role\/ExampleAgentRole/,
    );
  });
});

describe('replay --template: the policies of a synthesized template', () => {
  const role = exampleGuardedRole();
  let dir: string;
  let templateFile: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'replay-template-'));
    templateFile = join(dir, 'template.json');
    writeFileSync(templateFile, JSON.stringify(role.template.toJSON()));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each(['locked', 'open'] as const)(
    'verdicts agree with the IAM engine on the role as deployed, %s',
    async (state) => {
      const lines = await replayJson(LOGS, '--agent-role', ROLE_ARN, '--template', templateFile, '--state', state);
      const principal: Principal = {
        identityPolicies: role.identityPolicies,
        boundary: role.boundary,
        principalTags: { ...role.principalTags, ...STATES[state] },
      };
      const checked = lines.filter((l) => l.verdict !== 'not-agent' && resourcesOf(l.eventID).length > 0);
      expect(checked.length).toBeGreaterThan(5);
      for (const line of checked) {
        expect({ id: line.eventID, allowed: await engineAllows(principal, line) }).toEqual({
          id: line.eventID,
          allowed: line.verdict === 'allowed',
        });
      }
      if (state === 'open') expect(checked.filter((l) => l.verdict === 'allowed').length).toBeGreaterThan(1);
    },
  );

  test('pseudo parameters are filled in from the call: Fn::Sub, Fn::Join, ${!Literal}', () => {
    const template = {
      Resources: {
        Deny: {
          Type: 'AWS::IAM::ManagedPolicy',
          Properties: {
            ManagedPolicyName: 'AgentGuardDeny1',
            Path: '/agent-guard/',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Deny',
                  Action: 's3:DeleteBucket',
                  Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${AWS::AccountId}-${AWS::Region}-${!x}' },
                },
                {
                  Effect: 'Deny',
                  Action: 'sqs:DeleteQueue',
                  Resource: {
                    'Fn::Join': [
                      ':',
                      ['arn', { Ref: 'AWS::Partition' }, 'sqs', { Ref: 'AWS::Region' }, { Ref: 'AWS::AccountId' }, 'q'],
                    ],
                  },
                },
              ],
            },
          },
        },
      },
    };
    const policies = templatePolicies(template)({ partition: 'aws-cn', account: '444455556666', region: 'cn-north-1' });
    expect(policies.identity[0].document.Statement.map((s) => s.Resource)).toEqual([
      'arn:aws-cn:s3:::444455556666-cn-north-1-${x}',
      'arn:aws-cn:sqs:cn-north-1:444455556666:q',
    ]);
  });

  test('a template it cannot fill in, or without guard policies, is a usage error that says what to give', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: {} } } }));
    let result = await replay(LOGS, '--agent-role', 'x', '--template', bad);
    expect(result.code).toBe(2);
    expect(result.err).toContain('has no guard policies');
    const unresolved = role.template.toJSON() as { Resources: Record<string, { Properties: Record<string, unknown> }> };
    const id = Object.keys(unresolved.Resources).find(
      (k) => unresolved.Resources[k].Properties?.ManagedPolicyName === 'AgentGuardDeny1',
    )!;
    unresolved.Resources[id].Properties.PolicyDocument = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Action: '*', Resource: { Ref: 'SomeParameter' } }],
    };
    writeFileSync(bad, JSON.stringify(unresolved));
    result = await replay(LOGS, '--agent-role', 'x', '--template', bad);
    expect(result.code).toBe(2);
    expect(result.err).toContain('cannot fill in offline');
  });
});

describe('replay: agent roles, --since, --state', () => {
  test("an ARN with a path matches a session without sessionIssuer on the role's name only, and says so", async () => {
    const lines = await replayJson(LOGS, '--agent-role', `arn:aws:iam::${ACCOUNT}:role/team/ExampleAgentRole`);
    const agents = lines.filter((l) => l.verdict !== 'not-agent');
    // Only the record without sessionIssuer (12): the others carry the role's real path, which is /.
    expect(agents.map((l) => l.eventID.slice(0, 9))).toEqual(['000000012']);
    expect(agents[0].reason).toContain("on the role's name");
  });

  test('--since leaves out earlier calls; --state open lets protected calls through', async () => {
    const since = await replayJson(LOGS, '--agent-role', 'ExampleAgentRole', '--since', '2026-11-03');
    expect(since.every((l) => l.eventTime >= '2026-11-03')).toBe(true);
    expect(since.length).toBe([...RECORDS.values()].filter((r) => (r.eventTime as string) >= '2026-11-03').length);
    const open = await replayJson(LOGS, '--agent-role', 'ExampleAgentRole', '--state', 'open');
    const byId = (l: Line[]) => l.find((x) => x.eventID.startsWith('000000001'))!.verdict;
    expect(byId(open)).toBe('allowed');
  });

  test.each([
    [['--agent-role', 'a'], '--since', 'yesterday', 'is not a date'],
    [[], '--state', 'paused', 'Allowed choices are locked, open'],
    [['--agent-role', 'arn:aws:iam::1:user/x'], '--json', undefined, 'is not a role ARN or name'],
    [[], '--json', undefined, 'replay needs --agent-role'],
  ])('usage error: %j %s %s', async (roles, flag, value, message) => {
    const { code, err } = await replay(LOGS, ...roles, flag, ...(value !== undefined ? [value] : []));
    expect(code).toBe(2);
    expect(err).toContain(message);
  });
});

describe('replay: broken input is reported and skipped; the run goes on', () => {
  test('truncated gzip, cut JSON, not a log, bad records, a missing path: exit 3, each named on stderr', async () => {
    const missing = join(FIXTURES, 'no-such-folder');
    const { code, out, err } = await replay(
      BROKEN,
      join(BROKEN, 'cut.json.part'),
      missing,
      '--agent-role',
      'ExampleAgentRole',
      '--json',
    );
    expect(code).toBe(3);
    expect(err).toContain(`${missing}: ENOENT`);
    expect(err).toContain(`${join(BROKEN, 'truncated.json.gz')}: the gzip stream is cut short`);
    expect(err).toContain(`${join(BROKEN, 'cut.json.part')}: not valid JSON, or cut short`);
    expect(err).toContain(`${join(BROKEN, 'not-cloudtrail.json')}: no Records array`);
    const bad = join(BROKEN, 'bad-records.json');
    expect(err).toContain(`${bad}: record 1: the record is not an object; skipped.`);
    expect(err).toContain(`${bad}: record 2: no eventTime`);
    expect(err).toContain(`${bad}: record 3: eventSource example.invalid names no IAM service prefix`);
    expect(err).toMatch(/exit 3/);
    // The good records around the bad ones are replayed.
    const ids = out
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as Line).eventID.slice(0, 9));
    expect(ids).toEqual(expect.arrayContaining(['000000022', '000000024']));
  });
});

describe('event sources whose host is not the IAM prefix', () => {
  test.each([
    ['monitoring.amazonaws.com', 'DeleteAlarms', 'cloudwatch:DeleteAlarms'],
    ['email.amazonaws.com', 'DeleteIdentity', 'ses:DeleteIdentity'],
    ['elb.amazonaws.com', 'DeleteLoadBalancer', 'elasticloadbalancing:DeleteLoadBalancer'],
    ['elasticloadbalancing.amazonaws.com', 'DeleteTargetGroup', 'elasticloadbalancing:DeleteTargetGroup'],
    ['es.amazonaws.com', 'DeleteDomain', 'es:DeleteDomain'],
  ])('%s %s is %s, an action IAM knows', (source, name, action) => {
    expect(iamActionOfEvent(source, name)).toBe(action);
    expect(iamReference.expand(action)).toEqual([action]);
  });

  test('the hosts mapped are not IAM prefixes themselves; a source of another form has none', () => {
    for (const host of ['monitoring', 'email', 'elb']) expect(iamReference.hasService(host)).toBe(false);
    expect(iamServiceOfEventSource('example.invalid')).toBeUndefined();
    expect(iamServiceOfEventSource('models.lex.amazonaws.com')).toBeUndefined();
  });
});
