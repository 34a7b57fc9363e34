import {
  AttachRolePolicyCommand,
  AttachRolePolicyCommandInput,
  CreatePolicyCommand,
  CreatePolicyCommandInput,
  DetachRolePolicyCommand,
  DetachRolePolicyCommandInput,
  TagRoleCommand,
  TagRoleCommandInput,
} from '@aws-sdk/client-iam';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { APPROVAL_TAG } from '../../lib/core/contract';
import { ApprovalRecord } from '../../lib/core/approval-api';
import { APPROVALS_URL_PARAMETER } from '../../lib/core/contract';
import { DryRunPlan } from '../../bin/cli/dry-run';
import {
  AGENT_ROLE_ARN,
  AGENT_SESSION,
  ApprovalsHarness,
  cli,
  FUNCTION_URL,
  GOOD_SCOPE,
  idSequence,
  INSTANCE_ARN,
  ONCALL_SESSION,
  record,
  STANDARD_POLICY_ARNS,
} from './cli-fixture';
import { pendingRequestFields } from '../support/approval-records';

const EXPIRES = '2026-05-01T12:30:00Z';

describe('approve, end to end through the approval function', () => {
  test('a happy approval: exit 0, the id and expiry printed, the role swapped to the approval policies', async () => {
    const h = new ApprovalsHarness();
    const result = await h.run(['approve', ...GOOD_SCOPE]);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('Approval svc0001aaaa is in force until 2026-05-01T12:30:00Z.');
    expect(result.stdout).toMatch(/Approval\s+svc0001aaaa \(approval, active\)/);
    expect(result.stdout).toMatch(/Expires\s+2026-05-01T12:30:00Z \(in 30m\)/);
    // On an instance, ec2:Terminate* is TerminateInstances alone (TerminateClientVpnConnections acts on endpoints).
    expect(result.stdout).toContain('Actions    ec2:TerminateInstances (from ec2:Terminate*)');
    expect(result.stdout).toContain('agent-guard revoke --id svc0001aaaa');

    expect(h.sent).toEqual([
      {
        url: FUNCTION_URL,
        body: {
          op: 'approve',
          roleArn: AGENT_ROLE_ARN,
          actions: ['ec2:Terminate*'],
          resources: [INSTANCE_ARN],
          durationSeconds: 1800,
          reason: 'replace a broken instance',
        },
      },
    ]);
    const created = h.commandInputs<CreatePolicyCommandInput>(CreatePolicyCommand).map((p) => p.PolicyName);
    // one version, standing in for the one standard policy that holds ec2's denies
    expect(created).toEqual([expect.stringMatching(/^AgentGuardApproval-svc0002aaaa-1of1-Deny\d-[0-9a-f]{10}$/)]);
    expect(h.commandInputs<TagRoleCommandInput>(TagRoleCommand)[0].Tags).toEqual([
      { Key: APPROVAL_TAG, Value: 'svc0002aaaa' },
    ]);
    // only that standard policy comes off
    const replaced = `AgentGuardDeny${/-Deny(\d)-[0-9a-f]{10}$/.exec(String(created[0]))![1]}`;
    expect(h.commandInputs<DetachRolePolicyCommandInput>(DetachRolePolicyCommand).map((d) => d.PolicyArn)).toEqual(
      STANDARD_POLICY_ARNS.filter((arn) => arn.endsWith(`/${replaced}`)),
    );
    expect(h.ddb.commandCalls(PutCommand)).toHaveLength(1);
  });

  test('--json prints the approval record', async () => {
    const h = new ApprovalsHarness();
    const result = await h.run(['approve', ...GOOD_SCOPE, '--ticket', 'OPS-1', '--uses', '1', '--json']);

    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as ApprovalRecord;
    expect(printed).toMatchObject({
      approvalId: 'svc0001aaaa',
      kind: 'approval',
      status: 'active',
      roleArn: AGENT_ROLE_ARN,
      requestedActions: ['ec2:Terminate*'],
      actions: ['ec2:TerminateInstances'],
      resources: [INSTANCE_ARN],
      expiresAt: EXPIRES,
      ticket: 'OPS-1',
      uses: 1,
      approvers: [ONCALL_SESSION],
      policySetId: 'svc0002aaaa',
    });
    expect(h.sent[0].body).toMatchObject({ ticket: 'OPS-1', uses: 1 });
  });

  test('--break-glass is sent and shown', async () => {
    const h = new ApprovalsHarness();
    const result = await h.run(['approve', ...GOOD_SCOPE, '--break-glass']);
    expect(result.code).toBe(0);
    expect(h.sent[0].body).toMatchObject({ op: 'approve', breakGlass: true });
    expect(result.stdout).toContain('(break-glass, active)');
    expect(result.stdout).toContain('BREAK-GLASS');
  });

  test('the dry run prints exactly the policies, tag and ARNs the function then writes', async () => {
    const dry = await cli(['approve', ...GOOD_SCOPE, '--dry-run', '--json'], { newId: idSequence('svc') });
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout) as DryRunPlan;

    const h = new ApprovalsHarness({ newId: idSequence('svc') });
    const result = await h.run(['approve', ...GOOD_SCOPE, '--json']);
    expect(result.code).toBe(0);

    const created = h.commandInputs<CreatePolicyCommandInput>(CreatePolicyCommand);
    expect(created.map((p) => ({ name: p.PolicyName, document: JSON.parse(p.PolicyDocument!) as unknown }))).toEqual(
      plan.policies.map((p) => ({ name: p.name, document: p.document })),
    );
    expect(h.commandInputs<AttachRolePolicyCommandInput>(AttachRolePolicyCommand).map((a) => a.PolicyArn)).toEqual(
      plan.policies.map((p) => p.arn),
    );
    const tags = h.commandInputs<TagRoleCommandInput>(TagRoleCommand)[0].Tags!;
    expect(Object.fromEntries(tags.map((t) => [t.Key, t.Value]))).toEqual(plan.tags);
    expect((JSON.parse(result.stdout) as ApprovalRecord).expiresAt).toBe(plan.expiresAt);
    expect((JSON.parse(result.stdout) as ApprovalRecord).approvalId).toBe(plan.approvalId);
  });

  test('a refusal (the caller is the agent role itself): exit 1, the reason on stderr, nothing written', async () => {
    const h = new ApprovalsHarness();
    const result = await h.run(['approve', ...GOOD_SCOPE], { signedInAs: AGENT_SESSION });

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Refused: An agent role may not approve; an on-call engineer must.');
    expect(h.sent).toHaveLength(1);
    expect(h.iam.commandCalls(CreatePolicyCommand)).toHaveLength(0);
    expect(h.ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  test('a refusal with --json still goes to stderr, with exit 1', async () => {
    const h = new ApprovalsHarness({ config: { maxDurationSeconds: 900 } });
    const result = await h.run(['approve', ...GOOD_SCOPE, '--json']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('The duration 30m is over the maximum of 15m; ask for less.');
  });

  test('HTTP 400 from the function (a request it does not understand): exit 2', async () => {
    const h = new ApprovalsHarness();
    // An older function that does not know this request shape.
    const older = (body: unknown) => ({ ...(body as object), op: 'grant' });
    const result = await cli(['approve', ...GOOD_SCOPE], {
      env: { AGENT_GUARD_URL: FUNCTION_URL },
      transport: h.transport(ONCALL_SESSION, older),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('The approval function rejected the request: Invalid request');
    expect(h.iam.commandCalls(CreatePolicyCommand)).toHaveLength(0);
  });

  test('a function error (HTTP 502, plain text): exit 1 with a message, not a crash', async () => {
    const h = new ApprovalsHarness();
    h.ddb.on(PutCommand).rejects(Object.assign(new Error('boom'), { name: 'ValidationException' }));
    const result = await h.run(['approve', ...GOOD_SCOPE]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('answered HTTP 502 with a body that is not JSON: Internal Server Error');
  });

  test('approve --id approves a pending request', async () => {
    const h = new ApprovalsHarness();
    const pending = record({
      approvalId: 'req0001aaaa',
      ...pendingRequestFields(AGENT_SESSION, '2026-05-01T12:45:00Z'),
    });
    h.records([pending]);
    const result = await h.run(['approve', '--id', 'req0001aaaa', '--reason', 'checked the ticket']);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(h.sent[0].body).toEqual({ op: 'approve-pending', approvalId: 'req0001aaaa', reason: 'checked the ticket' });
    expect(result.stdout).toContain('Approval req0001aaaa is in force until 2026-05-01T12:30:00Z.');
    expect(h.ddb.commandCalls(GetCommand)).toHaveLength(1);
    expect(h.iam.commandCalls(CreatePolicyCommand)).toHaveLength(1);
  });

  test('request, run by the agent for itself: pending, with the command on-call runs', async () => {
    const h = new ApprovalsHarness();
    const result = await h.run(['request', ...GOOD_SCOPE], { signedInAs: AGENT_SESSION });

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(h.sent[0].body).toMatchObject({ op: 'request', roleArn: AGENT_ROLE_ARN, durationSeconds: 1800 });
    expect(result.stdout).toContain('Request svc0001aaaa is waiting for on-call (lapses at 2026-05-01T13:00:00Z).');
    expect(result.stdout).toContain('agent-guard approve --id svc0001aaaa');
    expect(h.iam.commandCalls(CreatePolicyCommand)).toHaveLength(0);
  });

  test('request does not take --break-glass or --dry-run', async () => {
    const h = new ApprovalsHarness();
    for (const flag of ['--break-glass', '--dry-run']) {
      const result = await h.run(['request', ...GOOD_SCOPE, flag]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`unknown option '${flag}'`);
    }
    expect(h.sent).toHaveLength(0);
  });
});

describe('finding the approval function', () => {
  test('--url wins over AGENT_GUARD_URL and SSM', async () => {
    const h = new ApprovalsHarness();
    const readParameter = jest.fn(() => Promise.resolve('https://fromssm.lambda-url.us-east-1.on.aws/'));
    const url = 'https://fromflag.lambda-url.eu-west-1.on.aws/';
    const result = await h.run(['list', '--url', url], {
      env: { AGENT_GUARD_URL: 'https://fromenv.lambda-url.us-east-1.on.aws/' },
      readParameter,
    });
    expect(result.code).toBe(0);
    expect(h.sent[0].url).toBe(url);
    expect(readParameter).not.toHaveBeenCalled();
  });

  test('AGENT_GUARD_URL wins over SSM', async () => {
    const h = new ApprovalsHarness();
    const readParameter = jest.fn(() => Promise.resolve('https://fromssm.lambda-url.us-east-1.on.aws/'));
    const result = await h.run(['list'], {
      env: { AGENT_GUARD_URL: 'https://fromenv.lambda-url.us-east-1.on.aws/' },
      readParameter,
    });
    expect(result.code).toBe(0);
    expect(h.sent[0].url).toBe('https://fromenv.lambda-url.us-east-1.on.aws/');
    expect(readParameter).not.toHaveBeenCalled();
  });

  test('otherwise the SSM parameter, read in the region of --region, then AWS_REGION', async () => {
    const h = new ApprovalsHarness();
    const readParameter = jest.fn(() => Promise.resolve(FUNCTION_URL));
    const transport = jest.fn(h.transport());

    let result = await h.run(['list', '--region', 'eu-west-1'], {
      env: { AWS_REGION: 'us-east-1' },
      readParameter,
      transport,
    });
    expect(result.code).toBe(0);
    expect(readParameter).toHaveBeenLastCalledWith(APPROVALS_URL_PARAMETER, { region: 'eu-west-1' });
    expect(transport).toHaveBeenLastCalledWith(FUNCTION_URL, { region: 'eu-west-1' });

    result = await h.run(['list'], { env: { AWS_REGION: 'us-east-1' }, readParameter, transport });
    expect(result.code).toBe(0);
    expect(readParameter).toHaveBeenLastCalledWith('/agent-guard/approvals-url', { region: 'us-east-1' });
  });

  test('no URL anywhere: exit 1, saying how to give one', async () => {
    const result = await cli(['list'], {
      readParameter: () => Promise.resolve(undefined),
      env: { AWS_REGION: 'us-east-1' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('SSM parameter /agent-guard/approvals-url in us-east-1 does not exist');
    expect(result.stderr).toContain('--url');
  });

  test('SSM unreadable (no credentials): exit 1 with the reason', async () => {
    const result = await cli(['list'], {
      readParameter: () => Promise.reject(new Error('Could not load credentials from any providers')),
      env: { AWS_REGION: 'us-east-1' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Could not load credentials from any providers');
    expect(result.stderr).toContain('AGENT_GUARD_URL');
  });

  test('a URL that is not https is a usage error, and nothing is sent', async () => {
    const h = new ApprovalsHarness();
    const result = await h.run(['list', '--url', 'http://abc.lambda-url.us-east-1.on.aws/']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('must be an https:// URL');
    expect(h.sent).toHaveLength(0);
  });
});
