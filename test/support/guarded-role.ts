import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { createExampleApp, EXAMPLE_STACK_NAME, exampleContext } from '../../examples/example-app';
import { AgentGuard, AgentGuardProps } from '../../lib';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';

export const ACCOUNT = '111122223333';
export const PARTITION = 'aws';
export const REGION = 'us-east-1';

type Cfn = unknown;
export type Resources = Record<string, { Type: string; Properties: Record<string, Cfn> }>;

/** Resolves the intrinsics the guard's templates use, as CloudFormation would in one account. */
export function resolveIntrinsics(value: Cfn, resources: Resources): Cfn {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, resources));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, Cfn>;
  if ('Ref' in obj) {
    const ref = obj.Ref as string;
    if (ref === 'AWS::Partition') return PARTITION;
    if (ref === 'AWS::AccountId') return ACCOUNT;
    if (ref === 'AWS::Region') return REGION;
    const target = resources[ref];
    if (target?.Type === 'AWS::IAM::ManagedPolicy') {
      const path = target.Properties.Path as string;
      return `arn:${PARTITION}:iam::${ACCOUNT}:policy${path}${target.Properties.ManagedPolicyName as string}`;
    }
    if (target?.Type === 'AWS::SSM::Parameter') return target.Properties.Name;
    if (target?.Type === 'AWS::DynamoDB::Table') return target.Properties.TableName;
    if (target?.Type === 'AWS::SNS::Topic') {
      return `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${target.Properties.TopicName as string}`;
    }
    throw new Error(`cannot resolve Ref ${ref}`);
  }
  if ('Fn::GetAtt' in obj) {
    const [id, attribute] = obj['Fn::GetAtt'] as [string, string];
    const target = resources[id];
    if (target?.Type === 'AWS::IAM::Role' && attribute === 'Arn') {
      return `arn:${PARTITION}:iam::${ACCOUNT}:role${(target.Properties.Path as string | undefined) ?? '/'}${id}`;
    }
    if (target?.Type === 'AWS::Lambda::Function' && attribute === 'Arn') {
      return `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:${target.Properties.FunctionName as string}`;
    }
    if (target?.Type === 'AWS::KMS::Key' && attribute === 'Arn')
      return `arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/${id}`;
    if (target?.Type === 'AWS::Logs::LogGroup' && attribute === 'Arn') {
      return `arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:${target.Properties.LogGroupName as string}:*`;
    }
    if (target?.Type === 'AWS::SQS::Queue' && attribute === 'Arn') {
      return `arn:${PARTITION}:sqs:${REGION}:${ACCOUNT}:${target.Properties.QueueName as string}`;
    }
    if (target?.Type === 'AWS::DynamoDB::Table' && attribute === 'Arn') {
      return `arn:${PARTITION}:dynamodb:${REGION}:${ACCOUNT}:table/${target.Properties.TableName as string}`;
    }
    throw new Error(`cannot resolve Fn::GetAtt ${id}.${attribute}`);
  }
  if ('Fn::Join' in obj) {
    const [sep, parts] = obj['Fn::Join'] as [string, Cfn[]];
    return parts.map((p) => resolveIntrinsics(p, resources)).join(sep);
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolveIntrinsics(v, resources)]));
}

export interface GuardedRole {
  /** The role's managed policies by ARN, AdministratorAccess included. */
  readonly identityPolicies: { name: string; policy: PolicyDocumentJson }[];
  readonly boundary: { name: string; policy: PolicyDocumentJson };
  readonly trustPolicy: PolicyDocumentJson;
  /** The role's tags in the template, as `aws:PrincipalTag/...` context. */
  readonly principalTags: Record<string, string>;
  readonly template: Template;
}

const ADMINISTRATOR_ACCESS: PolicyDocumentJson = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

/** The example app's agent role, with its policies resolved as IAM would hold them. */
export function exampleGuardedRole(): GuardedRole {
  return guardedRole(Template.fromStack(createExampleApp().stack));
}

/** The example app's stack and agent role with other guard props: the same names, so the same ARNs. */
export function guardedRoleWith(props: AgentGuardProps): GuardedRole {
  const stack = new Stack(new App({ context: exampleContext() }), EXAMPLE_STACK_NAME);
  const agentRole = new iam.Role(stack, 'ExampleAgentRole', {
    assumedBy: new iam.AccountRootPrincipal(),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')],
  });
  new AgentGuard(stack, 'Guard', { trafficRegions: ['us-east-1'], ...props, agentRoles: [agentRole] });
  return guardedRole(Template.fromStack(stack));
}

/** The agent role of `template` (the one role with the agent tag), with its policies resolved as IAM would hold them. */
export function guardedRole(template: Template): GuardedRole {
  const resources = template.toJSON().Resources as Resources;
  const policiesByArn = new Map<string, { name: string; policy: PolicyDocumentJson }>();
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const name = resource.Properties.ManagedPolicyName as string;
    const arn = `arn:${PARTITION}:iam::${ACCOUNT}:policy${resource.Properties.Path as string}${name}`;
    policiesByArn.set(arn, {
      name,
      policy: resolveIntrinsics(resource.Properties.PolicyDocument, resources) as PolicyDocumentJson,
    });
  }
  policiesByArn.set(`arn:${PARTITION}:iam::aws:policy/AdministratorAccess`, {
    name: 'AdministratorAccess',
    policy: ADMINISTRATOR_ACCESS,
  });
  const role = Object.values(resources).find(
    (r) =>
      r.Type === 'AWS::IAM::Role' &&
      JSON.stringify(r.Properties.Tags ?? []).includes('"Key":"agent-guard:agent","Value":"true"'),
  )!;
  const props = resolveIntrinsics(role.Properties, resources) as Record<string, Cfn>;
  const lookup = (arn: string) => {
    const found = policiesByArn.get(arn);
    if (!found) throw new Error(`policy ${arn} is attached but not in the template`);
    return found;
  };
  return {
    identityPolicies: (props.ManagedPolicyArns as string[]).map(lookup),
    boundary: lookup(props.PermissionsBoundary as string),
    trustPolicy: props.AssumeRolePolicyDocument as PolicyDocumentJson,
    principalTags: Object.fromEntries(
      (props.Tags as { Key: string; Value: string }[])
        .filter((t) => t.Key.startsWith('agent-guard:'))
        .map((t) => [`aws:PrincipalTag/${t.Key}`, t.Value]),
    ),
    template,
  };
}

/** The Lambda function of the template named `name`: its logical id and resource. */
export function functionNamed(resources: Resources, name: string): [string, Resources[string]] {
  const found = Object.entries(resources).find(
    ([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName === name,
  );
  if (!found) throw new Error(`The template has no function named ${name}.`);
  return found;
}

/** Every identity policy attached to the role of the function named `name`, resolved as IAM would see it. */
export function functionRolePolicies(
  resources: Resources,
  name: string,
): { name: string; policy: PolicyDocumentJson }[] {
  const roleId = (functionNamed(resources, name)[1].Properties.Role as { 'Fn::GetAtt': [string, string] })[
    'Fn::GetAtt'
  ][0];
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy')
    .filter(([, r]) => (r.Properties.Roles as { Ref: string }[]).some((role) => role.Ref === roleId))
    .map(([id, r]) => ({
      name: id,
      policy: resolveIntrinsics(r.Properties.PolicyDocument, resources) as PolicyDocumentJson,
    }));
}
