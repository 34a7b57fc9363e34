import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { readRolePolicies } from '../../bin/cli/check';
import { approvalPolicySet } from '../../lib/core/approval/approval-policies';
import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';
import { EXIT } from '../../bin/cli/errors';
import { CheckResult } from '../../lib/core/agent/check';
import { AGENT_ROLE_ARN, cli, okReply, record } from './cli-fixture';
import { BOUNDARY, GUARD_POLICIES, online, STACK_ARN, statementDenies, statusAt, VERIFIED_TAGS } from './check-fixture';

const DELETE_STACK = [
  'check',
  '--action',
  'cloudformation:DeleteStack',
  '--resource',
  STACK_ARN,
  '--role',
  AGENT_ROLE_ARN,
];
const INSTANCE = 'arn:aws:ec2:us-east-1:111122223333:instance/i-0abc';

describe('check, online', () => {
  test('locked: denied by a guard statement, with the reason, the group, undo and the request command (exit 1)', async () => {
    const deps = online();
    const result = await cli([...DELETE_STACK, '--json'], deps);
    expect(result.code).toBe(EXIT.FAILED);
    const answer = answerOf(result.stdout);
    expect(answer).toMatchObject({
      action: 'cloudformation:DeleteStack',
      resource: STACK_ARN,
      role: AGENT_ROLE_ARN,
      verdict: 'denied',
      treatAsDenied: true,
      lock: { locked: true, stale: false, unknown: false },
      group: { name: 'delete', undoable: 'no' },
      approvals: [],
      decidedBy: { kind: 'explicit-deny', policySource: 'attached' },
    });
    expect(answer.lock.reason).toContain('live traffic');
    // The named statement is a Deny in that policy whose own patterns cover the call.
    expect(
      statementDenies(GUARD_POLICIES, answer.decidedBy!.policy, answer.decidedBy!.sid!, answer.action, answer.resource),
    ).toBe(true);
    expect(answer.requestCommand).toBe(
      `agent-guard request --role ${AGENT_ROLE_ARN} --actions cloudformation:DeleteStack --resources '${STACK_ARN}' ` +
        `--duration 30m --reason '<why this is safe now>'`,
    );
    // One status read, one approvals list for this role, one role read.
    expect(deps.parameterReads).toEqual(['/agent-guard/status']);
    expect(deps.sent.map((s) => s.body)).toEqual([{ op: 'list', roleArn: AGENT_ROLE_ARN }]);
    expect(deps.roleReads).toEqual([AGENT_ROLE_ARN]);
  });

  test('the busiest live sources the status names, as of its heartbeat, in JSON and text', async () => {
    const sources = [{ kind: 'ALB', region: 'eu-west-1', name: 'app/prod-api/50dc6c495c0c9188', peakPerMinute: 1240 }];
    const status = { ...statusAt(true, 1), traffic: { ...statusAt(true, 1).traffic, sources } };
    const json = answerOf((await cli([...DELETE_STACK, '--json'], online({ status }))).stdout);
    expect(json.live).toEqual({ asOf: status.evaluatedAt, sources });
    const text = await cli(DELETE_STACK, online({ status }));
    expect(text.stdout).toMatch(/Live\s+ALB app\/prod-api\/50dc6c495c0c9188 in eu-west-1, 1,240 req\/min \(as of /);
    // A status that names none: no line, and null in JSON
    expect(answerOf((await cli([...DELETE_STACK, '--json'], online())).stdout).live).toBeNull();
  });

  test('the text answer says the same for people', async () => {
    const result = await cli(DELETE_STACK, online());
    expect(result.code).toBe(EXIT.FAILED);
    expect(result.stdout).toMatch(
      /^DENIED: cloudformation:DeleteStack on .* is denied by statement \w+ of AgentGuardDeny\d\./,
    );
    expect(result.stdout).toContain('can be undone: no');
    expect(result.stdout).toContain('agent-guard request --role');
    expect(result.stderr).toContain('treat this call as denied');
  });

  test('open and fresh: allowed (exit 0), and no request command', async () => {
    const result = await cli([...DELETE_STACK, '--json'], online({ status: statusAt(false, 1), role: openRole() }));
    expect(result.code).toBe(EXIT.OK);
    expect(answerOf(result.stdout)).toMatchObject({ verdict: 'allowed', treatAsDenied: false, requestCommand: null });
  });

  test('open but stale (older than three schedules): treat as locked, and say why', async () => {
    // Three 5-minute schedules are 15 minutes; the role still carries the open tag.
    const deps = online({ status: statusAt(false, 16), role: openRole() });
    const result = await cli([...DELETE_STACK, '--json'], deps);
    expect(result.code).toBe(EXIT.FAILED);
    const answer = answerOf(result.stdout);
    expect(answer.lock).toMatchObject({ locked: true, stale: true });
    expect(answer.lock.reason).toMatch(/16 minutes ago.*treat it as locked/);
    // A guard on a 10-minute schedule is not stale after 16 minutes.
    const slower = await cli(
      [...DELETE_STACK, '--json', '--schedule-minutes', '10'],
      online({ status: statusAt(false, 16), role: openRole() }),
    );
    expect(answerOf(slower.stdout).verdict).toBe('allowed');
  });

  test('status unreadable: treat as locked, with the read error in the notes', async () => {
    const result = await cli(
      [...DELETE_STACK, '--json'],
      online({ status: new Error('ExpiredToken: the token expired'), role: openRole() }),
    );
    expect(result.code).toBe(EXIT.FAILED);
    const answer = answerOf(result.stdout);
    expect(answer.lock).toMatchObject({ locked: true, unknown: true });
    expect(answer.notes.join(' ')).toContain('ExpiredToken');
  });

  test('an approval in force: the approval versions lift the deny, and the approval is shown as covering the call', async () => {
    const catalog = resolveCatalog();
    const versions = approvalPolicySet(
      catalog,
      'set0001aaaa',
      [
        {
          id: 'abcd0001efgh',
          actions: ['ec2:TerminateInstances'],
          resources: [INSTANCE],
          expiresAt: new Date('2026-05-01T12:20:00Z'),
        },
      ],
      '0a1b2c3d4e',
    );
    const approval = record();
    const deps = online({
      approvals: okReply('1 approval', [approval]),
      role: {
        tags: { ...VERIFIED_TAGS, 'agent-guard:approval': 'set0001aaaa' },
        boundary: BOUNDARY,
        // A complete swap: every standard policy a version stands in for is detached.
        guardPolicies: [...GUARD_POLICIES.filter((p) => !replacedBy(versions).has(p.name)), ...versions],
      },
    });
    const args = [
      'check',
      '--action',
      'ec2:TerminateInstances',
      '--resource',
      INSTANCE,
      '--role',
      AGENT_ROLE_ARN,
      '--json',
    ];
    const result = await cli(args, deps);
    expect(result.code).toBe(EXIT.OK);
    const answer = answerOf(result.stdout);
    expect(answer).toMatchObject({ verdict: 'allowed', approvals: [{ id: approval.approvalId, covers: true }] });
    // Another instance stays denied.
    const other = await cli([...args.slice(0, 4), INSTANCE.replace('0abc', '0def'), ...args.slice(5)], deps);
    expect(answerOf(other.stdout)).toMatchObject({ verdict: 'denied', approvals: [{ covers: false }] });
  });

  test('a read action is not protected: allowed, no group', async () => {
    const result = await cli(
      [
        'check',
        '--action',
        'ec2:DescribeInstanceAttribute',
        '--resource',
        INSTANCE,
        '--role',
        AGENT_ROLE_ARN,
        '--json',
      ],
      online(),
    );
    expect(result.code).toBe(EXIT.OK);
    expect(answerOf(result.stdout)).toMatchObject({ verdict: 'allowed', group: null, requestCommand: null });
  });

  test('a resource it cannot see: unknown, treated as denied (fail closed)', async () => {
    // No resource: the boundary's statements on the guard's own functions might apply to a Lambda action.
    const result = await cli(
      ['check', '--action', 'lambda:DeleteFunction', '--role', AGENT_ROLE_ARN, '--json'],
      online({ status: statusAt(false, 1), role: openRole() }),
    );
    expect(result.code).toBe(EXIT.FAILED);
    const answer = answerOf(result.stdout);
    expect(answer).toMatchObject({ verdict: 'unknown', treatAsDenied: true });
    expect(answer.unknowns[0]).toContain('the resource is not known');
  });

  test('the role cannot be read: the default policy set, with a note', async () => {
    const result = await cli([...DELETE_STACK, '--json'], online({ role: new Error('AccessDenied: iam:GetRole') }));
    const answer = answerOf(result.stdout);
    expect(answer.decidedBy?.policySource).toBe('default');
    expect(answer.notes.join(' ')).toContain('could not read the role');
  });

  test('-- aws cloudformation delete-stack: the action and the stack ARN from the command line', async () => {
    const result = await cli(
      [
        'check',
        '--role',
        AGENT_ROLE_ARN,
        '--json',
        '--',
        'aws',
        'cloudformation',
        'delete-stack',
        '--stack-name',
        'prod-api',
      ],
      online(),
    );
    expect(result.code).toBe(EXIT.FAILED);
    expect(answerOf(result.stdout)).toMatchObject({
      action: 'cloudformation:DeleteStack',
      resource: STACK_ARN,
      verdict: 'denied',
    });
  });

  test('-- aws s3 rb --force: DeleteBucket on the bucket, with a note on the objects', async () => {
    const result = await cli(
      ['check', '--offline', '--json', '--', 'aws', 's3', 'rb', 's3://prod-assets', '--force'],
      {},
    );
    const answer = answerOf(result.stdout);
    expect(answer).toMatchObject({
      action: 's3:DeleteBucket',
      resource: 'arn:aws:s3:::prod-assets',
      verdict: 'denied',
    });
    expect(answer.notes.join(' ')).toContain('s3:DeleteObject');
  });
});

describe('check, offline', () => {
  test('reads nothing: status unknown (locked), the default policy set, no approvals', async () => {
    // The fixture's deps throw if SSM, IAM or the approval function is touched.
    const result = await cli(
      ['check', '--offline', '--json', '--action', 'ec2:TerminateInstances', '--resource', INSTANCE],
      {
        readRole: () => Promise.reject(new Error('IAM must not be read')),
      },
    );
    expect(result.code).toBe(EXIT.FAILED);
    expect(answerOf(result.stdout)).toMatchObject({
      verdict: 'denied',
      lock: { locked: true, unknown: true },
      approvals: null,
      decidedBy: { policySource: 'default' },
      group: { name: 'delete' },
    });
  });
});

describe('check, bad input (exit 2, nothing read)', () => {
  test.each([
    [
      ['check', '--action', 'ec2:TerminateInstancez', '--resource', INSTANCE],
      /--action 'ec2:TerminateInstancez' is not an IAM action/,
    ],
    [['check', '--action', 'ec2:Terminate*', '--resource', INSTANCE], /one exact action/],
    [
      ['check', '--action', 'ec2:TerminateInstances', '--resource', 'i-0abc'],
      /--resource 'i-0abc' is not a resource ARN/,
    ],
    [['check', '--resource', INSTANCE], /check needs --action/],
    [['check', '--action', 'ec2:TerminateInstances', '--role', 'agent'], /--role 'agent' is not an IAM role ARN/],
    [['check', '--', 'terraform', 'destroy'], /After -- give one AWS CLI command/],
    [['check', '--', 'aws', 'cloudformation', 'delete-stacks'], /maps to no IAM action/],
    [['check', '--action', 'ec2:TerminateInstances', '--', 'aws', 'ec2', 'terminate-instances'], /not both/],
    [['check', '--action', 'ec2:TerminateInstances', '--schedule-minutes', '0'], /--schedule-minutes '0'/],
  ])('%j', async (args, message) => {
    const result = await cli(args, { readRole: () => Promise.reject(new Error('IAM must not be read')) });
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  test('a long action is echoed at most 100 characters', async () => {
    const result = await cli(['check', '--action', `ec2:${'X'.repeat(300)}`]);
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain('(304 characters)');
    expect(result.stderr).not.toContain('X'.repeat(101));
  });
});

/** The role of an open account: verified and tagged open. */
function openRole() {
  return { tags: { ...VERIFIED_TAGS, 'agent-guard:state': 'open' }, boundary: BOUNDARY, guardPolicies: GUARD_POLICIES };
}

/** The standard policy names the approval versions stand in for (all of them, for unsuffixed names). */
function replacedBy(versions: { name: string }[]): Set<string> {
  const suffixes = versions.map((v) => /-Deny(\d+)(?:-[0-9a-f]+)?$/.exec(v.name)?.[1]);
  return new Set(
    GUARD_POLICIES.map((p) => p.name).filter(
      (name) =>
        /^AgentGuardDeny\d+$/.test(name) && suffixes.some((s) => s === undefined || name === `AgentGuardDeny${s}`),
    ),
  );
}

function answerOf(stdout: string): CheckResult {
  return JSON.parse(stdout) as CheckResult;
}

describe('check -- aws ...: one AWS CLI command as its IAM action and resource', () => {
  // The IAM action names come from the Service Authorization Reference (iam-data); the ARN formats too.
  test.each([
    [['aws', 'ec2', 'terminate-instances', '--instance-ids', 'i-0abc'], 'ec2:TerminateInstances', INSTANCE],
    [
      ['aws', 'lambda', 'delete-function', '--function-name', 'api'],
      'lambda:DeleteFunction',
      'arn:aws:lambda:us-east-1:111122223333:function:api',
    ],
    [['aws', 's3api', 'delete-bucket', '--bucket', 'prod-assets'], 's3:DeleteBucket', 'arn:aws:s3:::prod-assets'],
    [['aws', 's3', 'rm', 's3://prod-assets/logs', '--recursive'], 's3:DeleteObject', 'arn:aws:s3:::prod-assets/logs'],
    [
      ['aws', '--region', 'eu-west-1', 'rds', 'delete-db-instance', '--db-instance-identifier=prod'],
      'rds:DeleteDBInstance',
      'arn:aws:rds:eu-west-1:111122223333:db:prod',
    ],
    [
      ['aws', 'dynamodb', 'update-time-to-live', '--table-name', 'orders'],
      'dynamodb:UpdateTimeToLive',
      'arn:aws:dynamodb:us-east-1:111122223333:table/orders',
    ],
    [
      ['aws', 'elbv2', 'delete-load-balancer', '--load-balancer-arn', 'x'],
      'elasticloadbalancing:DeleteLoadBalancer',
      '*',
    ],
  ])('%j', async (argv, action, resource) => {
    const result = await cli([
      'check',
      '--offline',
      '--json',
      '--role',
      AGENT_ROLE_ARN,
      '--region',
      'us-east-1',
      '--',
      ...argv,
    ]);
    const answer = answerOf(result.stdout);
    expect({ action: answer.action, resource: answer.resource }).toEqual({ action, resource });
    expect(answer.treatAsDenied).toBe(true);
  });
});

describe('readRolePolicies: the IAM calls of an online check', () => {
  test('GetRole, ListAttachedRolePolicies under /agent-guard/, then GetPolicy and GetPolicyVersion per policy, URL-decoded', async () => {
    const iam = mockClient(IAMClient);
    const boundaryArn = 'arn:aws:iam::111122223333:policy/agent-guard/AgentGuardBoundary';
    const guardArns = GUARD_POLICIES.map((p) => `arn:aws:iam::111122223333:policy/agent-guard/${p.name}`);
    const documents = new Map([
      [boundaryArn, BOUNDARY],
      ...guardArns.map((arn, i) => [arn, GUARD_POLICIES[i]] as const),
    ]);
    iam.on(GetRoleCommand, { RoleName: 'agent' }).resolves({
      Role: {
        RoleName: 'agent',
        Arn: AGENT_ROLE_ARN,
        Path: '/',
        RoleId: 'AROAEXAMPLE',
        CreateDate: new Date(),
        PermissionsBoundary: {
          PermissionsBoundaryArn: boundaryArn,
          PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
        },
        Tags: [
          { Key: 'agent-guard:agent', Value: 'true' },
          { Key: 'team', Value: 'payments' },
        ],
      },
    });
    iam.on(ListAttachedRolePoliciesCommand).resolves({
      AttachedPolicies: guardArns.map((PolicyArn, i) => ({ PolicyArn, PolicyName: GUARD_POLICIES[i].name })),
    });
    iam
      .on(GetPolicyCommand)
      .callsFake(({ PolicyArn }: { PolicyArn: string }) => ({ Policy: { Arn: PolicyArn, DefaultVersionId: 'v3' } }));
    // IAM returns documents URL-encoded (RFC 3986): IAM-106.
    iam.on(GetPolicyVersionCommand).callsFake(({ PolicyArn }: { PolicyArn: string }) => ({
      PolicyVersion: {
        VersionId: 'v3',
        Document: encodeURIComponent(JSON.stringify(documents.get(PolicyArn)!.document)),
      },
    }));
    try {
      const role = await readRolePolicies(AGENT_ROLE_ARN, { region: 'us-east-1' });
      expect(role.tags).toEqual({ 'agent-guard:agent': 'true' });
      expect(role.boundary).toEqual(BOUNDARY);
      expect(role.guardPolicies).toEqual(GUARD_POLICIES);
      expect(iam.commandCalls(ListAttachedRolePoliciesCommand)[0].args[0].input).toMatchObject({
        PathPrefix: '/agent-guard/',
      });
      expect(iam.commandCalls(GetPolicyVersionCommand).every((c) => c.args[0].input.VersionId === 'v3')).toBe(true);
      // 1 GetRole + 1 list + 2 per policy (the boundary and each guard policy).
      expect(iam.calls()).toHaveLength(2 + 2 * (GUARD_POLICIES.length + 1));
    } finally {
      iam.restore();
    }
  });
});
