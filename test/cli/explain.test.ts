import { EXIT } from '../../bin/cli/errors';
import { CheckResult } from '../../lib/core/agent/check';
import { ParsedDenial } from '../../lib/core/agent/explain';
import { AGENT_ROLE_ARN, AGENT_SESSION, cli } from './cli-fixture';
import { BOUNDARY, GUARD_POLICIES, online, statementDenies, statusAt } from './check-fixture';

/*
 * Messages in the shapes AWS documents (docs/AWS-BEHAVIOUR.md IAM-100 to IAM-104), as the AWS CLI prints
 * them: "An error occurred (<code>) when calling the <Operation> operation: <message>".
 */
const STACK = 'arn:aws:cloudformation:us-east-1:111122223333:stack/prod-api/6d2f8c10-1a2b-11ef-9a3c-0a1b2c3d4e5f';
const INSTANCE = 'arn:aws:ec2:us-east-1:111122223333:instance/i-0abc';
const denied = (action: string, resource: string, tail: string, operation = 'DeleteStack') =>
  `An error occurred (AccessDenied) when calling the ${operation} operation: User: ${AGENT_SESSION} is not authorized ` +
  `to perform: ${action} on resource: ${resource} ${tail}`;

const GUARD_DENY = denied(
  'cloudformation:DeleteStack',
  STACK,
  'with an explicit deny in an identity-based policy: arn:aws:iam::111122223333:policy/agent-guard/AgentGuardDeny1',
);

type Explained = CheckResult & { explanation: string; denial: ParsedDenial };
const explained = (stdout: string) => JSON.parse(stdout) as Explained;

describe('explain a pasted AccessDenied message', () => {
  test('a guard denial: the guard policy and statement, why, and the request command (exit 0)', async () => {
    const result = await cli(['explain', '--json', GUARD_DENY], online());
    expect(result.code).toBe(EXIT.OK);
    const answer = explained(result.stdout);
    expect(answer.denial).toMatchObject({
      roleArn: AGENT_ROLE_ARN,
      action: 'cloudformation:DeleteStack',
      resource: STACK,
      explicit: true,
      policyType: 'identity-based policy',
      source: 'guard-policy',
    });
    expect(answer.explanation).toMatch(/^A GUARD DENIAL: the agent-guard deny policy \(.*AgentGuardDeny1\)/);
    expect(answer.explanation).toContain(`statement ${answer.decidedBy!.sid} of ${answer.decidedBy!.policy}`);
    expect(
      statementDenies(GUARD_POLICIES, answer.decidedBy!.policy, answer.decidedBy!.sid!, answer.action, STACK),
    ).toBe(true);
    expect(answer.lock.reason).toContain('live traffic');
    expect(answer.requestCommand).toContain(`--actions cloudformation:DeleteStack --resources ${STACK}`);
  });

  test('the text form leads with the kind of denial', async () => {
    const result = await cli(['explain', GUARD_DENY], online());
    expect(result.stdout.split('\n')[0]).toMatch(/^A GUARD DENIAL/);
    expect(result.stdout).toContain('agent-guard request --role');
  });

  test('names what is live, from the status: what the denied call could have taken down', async () => {
    const sources = [{ kind: 'ALB', region: 'eu-west-1', name: 'app/prod-api/50dc6c495c0c9188', peakPerMinute: 1240 }];
    const status = { ...statusAt(true, 1), traffic: { ...statusAt(true, 1).traffic, sources } };
    const json = explained((await cli(['explain', '--json', GUARD_DENY], online({ status }))).stdout);
    expect(json.live?.sources).toEqual(sources);
    const text = await cli(['explain', GUARD_DENY], online({ status }));
    expect(text.stdout).toMatch(/Live\s+ALB app\/prod-api\/50dc6c495c0c9188 in eu-west-1, 1,240 req\/min/);
  });

  test('read from stdin when no message is given', async () => {
    const result = await cli(['explain', '--json'], {
      ...online(),
      readStdin: () => Promise.resolve(`${GUARD_DENY}\n`),
    });
    expect(explained(result.stdout).denial.source).toBe('guard-policy');
  });

  test("the guard's boundary, implicit: a role the guard has not verified; no approval lifts it", async () => {
    const message = denied(
      'ec2:TerminateInstances',
      INSTANCE,
      'because no permissions boundary allows the ec2:TerminateInstances action',
      'TerminateInstances',
    );
    // The account is open (while locked, IAM would report the guard's explicit deny first), and the role
    // carries the boundary but not the constrained tag: the boundary's ceiling allows nothing.
    const deps = online({
      status: statusAt(false, 1),
      role: {
        tags: { 'agent-guard:agent': 'true', 'agent-guard:state': 'open' },
        boundary: BOUNDARY,
        guardPolicies: GUARD_POLICIES,
      },
    });
    const answer = explained((await cli(['explain', '--json', message], deps)).stdout);
    expect(answer.denial).toMatchObject({
      explicit: false,
      policyType: 'permissions boundary',
      source: 'guard-boundary',
    });
    expect(answer.explanation).toMatch(
      /^A GUARD DENIAL by its permission boundary.*not verified.*No approval lifts it/,
    );
    expect(answer.decidedBy).toMatchObject({ policy: BOUNDARY.name, kind: 'boundary-no-allow' });
    expect(answer.requestCommand).toBeNull();
  });

  test.each([
    [
      'an SCP',
      'with an explicit deny in a service control policy: arn:aws:organizations::999988887777:policy/o-a1b2c3d4e5/service_control_policy/p-abcd1234',
      { explicit: true, policyType: 'service control policy', source: 'other' },
      /^NOT A GUARD DENIAL: an explicit deny in a service control policy \(arn:aws:organizations::/,
    ],
    [
      "another team's deny policy",
      'with an explicit deny in an identity-based policy: arn:aws:iam::111122223333:policy/TeamDenyList',
      { explicit: true, policyType: 'identity-based policy', source: 'other' },
      /^NOT A GUARD DENIAL: an explicit deny in an identity-based policy \(.*TeamDenyList\)/,
    ],
    [
      'no Allow at all',
      'because no identity-based policy allows the rds:DeleteDBInstance action',
      { explicit: false, policyType: 'identity-based policy', source: 'other' },
      /^NOT A GUARD DENIAL: no identity-based policy of the role allows rds:DeleteDBInstance/,
    ],
  ])('%s is not a guard denial', async (_name, tail, denial, explanation) => {
    const message = denied(
      'rds:DeleteDBInstance',
      'arn:aws:rds:us-east-1:111122223333:db:prod',
      tail,
      'DeleteDBInstance',
    );
    const answer = explained((await cli(['explain', '--json', message], online())).stdout);
    expect(answer.denial).toMatchObject(denial);
    expect(answer.explanation).toMatch(explanation);
  });

  test("EC2's encoded message: how to decode it, without echoing the blob", async () => {
    const blob = 'AbCd-_'.repeat(200);
    const message =
      'An error occurred (UnauthorizedOperation) when calling the TerminateInstances operation: You are not authorized ' +
      `to perform this operation. Encoded authorization failure message: ${blob}`;
    const result = await cli(['explain', message], {});
    expect(result.code).toBe(EXIT.OK);
    expect(result.stdout).toContain('aws sts decode-authorization-message');
    expect(result.stdout).not.toContain(blob.slice(0, 101));
  });

  test('the decoded message (JSON) of sts decode-authorization-message', async () => {
    const decoded = JSON.stringify({
      allowed: false,
      explicitDeny: true,
      matchedStatements: { items: [{ statementId: 'DenyLocked1', effect: 'DENY' }] },
      failures: { items: [] },
      context: {
        principal: { id: 'AROAEXAMPLE:agent-session', arn: AGENT_SESSION },
        action: 'ec2:TerminateInstances',
        resource: INSTANCE,
        conditions: { items: [] },
      },
    });
    const answer = explained((await cli(['explain', '--json', decoded], online())).stdout);
    expect(answer.denial).toMatchObject({ action: 'ec2:TerminateInstances', resource: INSTANCE, explicit: true });
    expect(answer.verdict).toBe('denied');
  });

  test('--action, --resource and --role instead of a message', async () => {
    const result = await cli(
      ['explain', '--json', '--action', 'cloudformation:DeleteStack', '--resource', STACK, '--role', AGENT_ROLE_ARN],
      online(),
    );
    expect(result.code).toBe(EXIT.OK);
    expect(explained(result.stdout).explanation).toMatch(
      /^agent-guard would deny this now: statement \w+ of AgentGuardDeny\d/,
    );
  });
});

describe('explain, bad input (exit 2)', () => {
  test('an empty message', async () => {
    const result = await cli(['explain'], { readStdin: () => Promise.resolve('  \n') });
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain('explain needs an AccessDenied message');
  });

  test('text that is not an AccessDenied message, echoed at most 100 characters', async () => {
    const text = `Throttling: Rate exceeded ${'x'.repeat(300)}`;
    const result = await cli(['explain', text]);
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain('is not an AccessDenied message');
    expect(result.stderr).toContain(`(${text.length} characters)`);
    expect(result.stderr).not.toContain('x'.repeat(101));
  });

  test('a message and --action together', async () => {
    const result = await cli(['explain', '--action', 'ec2:TerminateInstances', GUARD_DENY]);
    expect(result.code).toBe(EXIT.USAGE);
  });
});
