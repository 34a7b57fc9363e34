import { Match, Template } from 'aws-cdk-lib/assertions';
import { createExampleApp } from '../../examples/example-app';
import { loadApprovalsConfig } from '../../lambda/approvals/config';
import { loadConfig } from '../../lambda/guard/config';
import { APPROVALS_CONFIG_ENV, GUARD_CONFIG_ENV } from '../../lib/core/config';
import { ACCOUNT, functionNamed, functionRolePolicies, resolveIntrinsics, Resources } from '../support/guarded-role';
import { decide } from '../support/simulate';

const template = Template.fromStack(createExampleApp().stack);
const resources = template.toJSON().Resources as Resources;
const LEASES = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/AgentGuardRoleLeases`;
const APPROVALS = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/AgentGuardApprovals`;

function environment(name: string, variable: string): string {
  const [, fn] = functionNamed(resources, name);
  const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  return resolveIntrinsics(variables[variable], resources) as string;
}

describe('no guard function reserves concurrency', () => {
  // Lambda keeps 100 executions of an account unreserved and new accounts have lower quotas
  // (AWS-BEHAVIOUR LAM-9, LAM-10): any reservation fails the deploy in a fresh account.
  test('no AWS::Lambda::Function has ReservedConcurrentExecutions', () => {
    const reserving = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && 'ReservedConcurrentExecutions' in r.Properties)
      .map(([id]) => id);
    expect(reserving).toEqual([]);
  });
});

describe('the role lease table', () => {
  test('is keyed by pk, pay per request, encrypted with the guard key, with TTL on expiresAt, and named for the boundary', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: {
        TableName: 'AgentGuardRoleLeases',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: {
          SSEEnabled: true,
          SSEType: 'KMS',
          KMSMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('Key'), 'Arn'] },
        },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
    });
  });

  test('both functions are configured with its name, and their own validation accepts it', () => {
    const guard = loadConfig({ [GUARD_CONFIG_ENV]: environment('AgentGuardEvaluator', GUARD_CONFIG_ENV) });
    const approvals = loadApprovalsConfig({
      [APPROVALS_CONFIG_ENV]: environment('AgentGuardApprovals', APPROVALS_CONFIG_ENV),
    });
    expect(guard.leaseTableName).toBe('AgentGuardRoleLeases');
    expect(approvals.leaseTableName).toBe('AgentGuardRoleLeases');
  });
});

describe('the lease grants are least privilege (IAM evaluation)', () => {
  const role = (key: string) => ({ 'dynamodb:LeadingKeys': [key] });
  const both = ['AgentGuardEvaluator', 'AgentGuardApprovals'];

  test.each(
    both.flatMap((fn) => [
      [fn, 'dynamodb:PutItem', LEASES, role('role#agent'), 'Allowed'],
      [fn, 'dynamodb:DeleteItem', LEASES, role('role#agent'), 'Allowed'],
      [fn, 'dynamodb:PutItem', LEASES, role('other#agent'), 'ImplicitlyDenied'],
      [fn, 'dynamodb:DeleteItem', LEASES, role('decision#lock'), 'ImplicitlyDenied'],
      [fn, 'dynamodb:UpdateItem', LEASES, role('role#agent'), 'ImplicitlyDenied'],
      [fn, 'dynamodb:Scan', LEASES, {}, 'ImplicitlyDenied'],
      [fn, 'dynamodb:DeleteTable', LEASES, {}, 'ImplicitlyDenied'],
      [fn, 'dynamodb:UpdateTimeToLive', LEASES, {}, 'ImplicitlyDenied'],
    ]),
  )('%s: %s on %s with %j → %s', async (fn, action, resource, context, expected) => {
    await expect(
      decide(
        { identityPolicies: functionRolePolicies(resources, fn), principalTags: {} },
        { action, resource, context },
      ),
    ).resolves.toBe(expected);
  });

  test.each([
    ['AgentGuardEvaluator', 'dynamodb:PutItem', 'Allowed'],
    ['AgentGuardEvaluator', 'dynamodb:GetItem', 'Allowed'],
    ['AgentGuardApprovals', 'dynamodb:PutItem', 'ImplicitlyDenied'],
    ['AgentGuardApprovals', 'dynamodb:GetItem', 'ImplicitlyDenied'],
  ])('%s: %s on the lock decision → %s', async (fn, action, expected) => {
    await expect(
      decide(
        { identityPolicies: functionRolePolicies(resources, fn), principalTags: {} },
        { action, resource: LEASES, context: role('decision#lock') },
      ),
    ).resolves.toBe(expected);
  });

  test('the guard gets nothing on the approvals table', async () => {
    for (const action of ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:DeleteItem']) {
      await expect(
        decide(
          { identityPolicies: functionRolePolicies(resources, 'AgentGuardEvaluator'), principalTags: {} },
          { action, resource: APPROVALS },
        ),
      ).resolves.toBe('ImplicitlyDenied');
    }
  });
});
