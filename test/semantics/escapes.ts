import {
  AGENT_POLICY_PATH,
  AGENT_TAG,
  APPROVAL_TAG,
  CDK_BOOTSTRAP_ROLE_TAG,
  COMPONENT_TAG,
} from '../../lib/core/contract';
import { ACCOUNT } from '../support/guarded-role';
import { Request } from '../support/simulate';

const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const policy = (name: string) => `arn:aws:iam::${ACCOUNT}:policy/agent-guard/${name}`;
const agentRole = { [`iam:ResourceTag/${AGENT_TAG}`]: 'true', [`aws:ResourceTag/${AGENT_TAG}`]: 'true' };
const tagKeys = (...keys: string[]) => ({ 'aws:TagKeys': keys });

export interface Escape extends Request {
  readonly threat: number;
  readonly what: string;
}

/** Threat 2: a call that sets the guard boundary itself on what it creates or changes. */
const withGuardBoundary = (what: string, action: string, resource: string): Escape => ({
  threat: 2,
  what,
  action,
  resource,
  context: { 'iam:PermissionsBoundary': policy('AgentGuardBoundary') },
});

const ADMIN = 'arn:aws:iam::aws:policy/AdministratorAccess';
const GROUP = `arn:aws:iam::${ACCOUNT}:group/Admins`;

/** Threat 9: a policy write on a principal without the guard boundary (the request names its boundary, if any). */
const otherRole = (action: string, policyArn?: string): Request => ({
  action,
  resource: role('Workload'),
  context: policyArn ? { 'iam:PolicyARN': policyArn } : {},
});
const otherUser = (action: string, policyArn?: string): Request => ({
  ...otherRole(action, policyArn),
  resource: `arn:aws:iam::${ACCOUNT}:user/admin`,
});

const saml = `arn:aws:iam::${ACCOUNT}:saml-provider/Corp`;
const oidc = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.example.com`;
/** Threat 8: identity-provider writes (threat-model.test.ts checks every one in iam-data). */
const idpWrites: [string, string][] = [
  ['iam:CreateSAMLProvider', saml],
  ['iam:UpdateSAMLProvider', saml],
  ['iam:TagSAMLProvider', saml],
  ['iam:CreateOpenIDConnectProvider', oidc],
  ['iam:AddClientIDToOpenIDConnectProvider', oidc],
  ['iam:UpdateOpenIDConnectProviderThumbprint', oidc],
  ['iam:UntagOpenIDConnectProvider', oidc],
];

/** Threat-model items 1 to 5, 8, 9 and 12 of DESIGN.md: each must be denied in every state, open included. */
export const ALWAYS_DENIED: Escape[] = [
  {
    threat: 1,
    what: 'remove its own boundary',
    action: 'iam:DeleteRolePermissionsBoundary',
    resource: role('ExampleAgentRole'),
    context: agentRole,
  },
  {
    threat: 1,
    what: 'replace its boundary with a weaker policy',
    action: 'iam:PutRolePermissionsBoundary',
    resource: role('ExampleAgentRole'),
    context: { ...agentRole, 'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/Weak` },
  },
  {
    threat: 1,
    what: 'add a version to the boundary',
    action: 'iam:CreatePolicyVersion',
    resource: policy('AgentGuardBoundary'),
  },
  {
    threat: 1,
    what: 'change the default version of a guard policy',
    action: 'iam:SetDefaultPolicyVersion',
    resource: policy('AgentGuardDeny1'),
  },
  {
    threat: 1,
    what: 'delete a guard policy version',
    action: 'iam:DeletePolicyVersion',
    resource: policy('AgentGuardDeny2'),
  },
  {
    threat: 1,
    what: 'forge a guard-named policy',
    action: 'iam:CreatePolicy',
    resource: policy('AgentGuardApproval-forged'),
  },
  {
    threat: 1,
    what: 'detach a guard policy from itself',
    action: 'iam:DetachRolePolicy',
    resource: role('ExampleAgentRole'),
    context: { ...agentRole, 'iam:PolicyARN': policy('AgentGuardDeny1') },
  },
  {
    threat: 1,
    what: 'detach a guard policy from an untagged role',
    action: 'iam:DetachRolePolicy',
    resource: role('Other'),
    context: { 'iam:PolicyARN': policy('AgentGuardDeny2') },
  },
  {
    threat: 1,
    what: 'attach an approval version to itself',
    action: 'iam:AttachRolePolicy',
    resource: role('Other'),
    context: { 'iam:PolicyARN': policy('AgentGuardApproval-x-1') },
  },
  {
    threat: 1,
    what: 'write its own inline policy',
    action: 'iam:PutRolePolicy',
    resource: role('ExampleAgentRole'),
    context: agentRole,
  },
  {
    threat: 1,
    what: 'delete its own inline policy',
    action: 'iam:DeleteRolePolicy',
    resource: role('ExampleAgentRole'),
    context: agentRole,
  },
  {
    threat: 1,
    what: 'attach AdministratorAccess to another agent role',
    action: 'iam:AttachRolePolicy',
    resource: role('OtherAgent'),
    context: { ...agentRole, 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AdministratorAccess' },
  },
  { threat: 2, what: 'create a role without the boundary', action: 'iam:CreateRole', resource: role('Escape') },
  {
    threat: 2,
    what: 'create a role with another boundary',
    action: 'iam:CreateRole',
    resource: role('Escape'),
    context: { 'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/Weak` },
  },
  withGuardBoundary(
    'create a role even with the guard boundary (it could trust an IdP that sets session tags)',
    'iam:CreateRole',
    role('Worker'),
  ),
  withGuardBoundary(
    'create a user even with the guard boundary',
    'iam:CreateUser',
    `arn:aws:iam::${ACCOUNT}:user/worker`,
  ),
  withGuardBoundary('put the guard boundary on a role', 'iam:PutRolePermissionsBoundary', role('Worker')),
  {
    threat: 2,
    what: 'create a user without the boundary',
    action: 'iam:CreateUser',
    resource: `arn:aws:iam::${ACCOUNT}:user/escape`,
  },
  { threat: 2, what: 'assume an unbounded role', action: 'sts:AssumeRole', resource: role('Admin') },
  {
    threat: 2,
    what: 'mint access keys for a user',
    action: 'iam:CreateAccessKey',
    resource: `arn:aws:iam::${ACCOUNT}:user/admin`,
  },
  {
    threat: 2,
    what: 'reactivate an admin access key',
    action: 'iam:UpdateAccessKey',
    resource: `arn:aws:iam::${ACCOUNT}:user/admin`,
  },
  {
    threat: 2,
    what: 'give a user a console password',
    action: 'iam:CreateLoginProfile',
    resource: `arn:aws:iam::${ACCOUNT}:user/admin`,
  },
  {
    threat: 2,
    what: 'trust itself from an unbounded role',
    action: 'iam:UpdateAssumeRolePolicy',
    resource: role('Admin'),
  },
  {
    threat: 3,
    what: 'pass an unbounded role to Lambda',
    action: 'iam:PassRole',
    resource: role('Admin'),
    context: { 'iam:PassedToService': 'lambda.amazonaws.com' },
  },
  {
    threat: 3,
    what: 'pass an unbounded role to CloudFormation',
    action: 'iam:PassRole',
    resource: role('cdk-hnb659fds-cfn-exec-role'),
    context: { 'iam:PassedToService': 'cloudformation.amazonaws.com' },
  },
  {
    threat: 3,
    what: 'assume an agent role that holds an approval',
    action: 'sts:AssumeRole',
    resource: role('ApprovedAgent'),
    context: { ...agentRole, [`iam:ResourceTag/${APPROVAL_TAG}`]: 'a1b2' },
  },
  {
    threat: 3,
    what: 'pass an agent role that holds an approval',
    action: 'iam:PassRole',
    resource: role('ApprovedAgent'),
    context: { ...agentRole, [`iam:ResourceTag/${APPROVAL_TAG}`]: 'a1b2' },
  },
  {
    threat: 4,
    what: 'tag itself open',
    action: 'iam:TagRole',
    resource: role('ExampleAgentRole'),
    context: { ...agentRole, ...tagKeys('agent-guard:state'), 'aws:RequestTag/agent-guard:state': 'open' },
  },
  {
    threat: 4,
    what: 'tag an untagged role constrained, to make it usable',
    action: 'iam:TagRole',
    resource: role('Other'),
    context: { ...tagKeys('agent-guard:constrained'), 'aws:RequestTag/agent-guard:constrained': 'true' },
  },
  {
    threat: 4,
    what: 'set the constrained tag as a session tag when chaining',
    action: 'sts:TagSession',
    resource: role('OtherAgent'),
    context: { ...agentRole, ...tagKeys('agent-guard:constrained') },
  },
  {
    threat: 4,
    what: 'remove the constrained tag from another agent role',
    action: 'iam:UntagRole',
    resource: role('OtherAgent'),
    context: { ...agentRole, ...tagKeys('agent-guard:constrained') },
  },
  {
    threat: 4,
    what: 'tag another role open, in other letter case',
    action: 'iam:TagRole',
    resource: role('Other'),
    context: tagKeys('Agent-Guard:State'),
  },
  {
    threat: 4,
    what: 'remove the agent tag',
    action: 'iam:UntagRole',
    resource: role('ExampleAgentRole'),
    context: { ...agentRole, ...tagKeys('agent-guard:agent') },
  },
  {
    threat: 4,
    what: 'forge an approval marker on a user',
    action: 'iam:TagUser',
    resource: `arn:aws:iam::${ACCOUNT}:user/u`,
    context: tagKeys('agent-guard:approval'),
  },
  {
    threat: 4,
    what: 'set a guard session tag when chaining',
    action: 'sts:TagSession',
    resource: role('OtherAgent'),
    context: { ...tagKeys('agent-guard:state'), 'sts:TransitiveTagKeys': ['agent-guard:state'] },
  },
  {
    threat: 4,
    what: 'create a role with a guard request tag',
    action: 'iam:CreateRole',
    resource: role('Fake'),
    context: { ...tagKeys('agent-guard:agent'), 'iam:PermissionsBoundary': policy('AgentGuardBoundary') },
  },
  {
    threat: 4,
    what: 'make a role look like a CDK bootstrap role',
    action: 'iam:TagRole',
    resource: role('Admin'),
    context: tagKeys(CDK_BOOTSTRAP_ROLE_TAG),
  },
  {
    threat: 4,
    what: 'untag the production marker in Organizations',
    action: 'organizations:UntagResource',
    resource: `arn:aws:organizations::${ACCOUNT}:account/o-abc/${ACCOUNT}`,
  },
  {
    threat: 5,
    what: 'disable the guard rule',
    action: 'events:DisableRule',
    resource: `arn:aws:events:us-east-1:${ACCOUNT}:rule/AgentGuardSchedule`,
  },
  {
    threat: 5,
    what: 'replace the guard function code',
    action: 'lambda:UpdateFunctionCode',
    resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:AgentGuardEvaluator`,
  },
  {
    threat: 5,
    what: 'throttle the guard function to zero',
    action: 'lambda:PutFunctionConcurrency',
    resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:AgentGuardEvaluator`,
  },
  {
    threat: 5,
    what: 'change a tagged guard resource',
    action: 'lambda:UpdateFunctionConfiguration',
    resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:Renamed`,
    context: { [`aws:ResourceTag/${COMPONENT_TAG}`]: 'true' },
  },
  {
    threat: 5,
    what: 'stop CloudTrail',
    action: 'cloudtrail:StopLogging',
    resource: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/org-trail`,
  },
  {
    threat: 5,
    what: 'spoof the traffic signal',
    action: 'cloudwatch:PutMetricData',
    context: { 'cloudwatch:namespace': 'Traffic' },
  },
  {
    threat: 5,
    what: 'delete a guard alarm',
    action: 'cloudwatch:DeleteAlarms',
    resource: `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:AgentGuardTraffic-ALB`,
  },
  {
    threat: 5,
    what: 'overwrite the published status',
    action: 'ssm:PutParameter',
    resource: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/agent-guard/status`,
  },
  {
    threat: 5,
    what: 'delete the guard stack',
    action: 'cloudformation:DeleteStack',
    resource: `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/AgentGuardExample/1234`,
  },
  {
    threat: 5,
    what: 'delete a guard expiry schedule',
    action: 'scheduler:DeleteSchedule',
    resource: `arn:aws:scheduler:us-east-1:${ACCOUNT}:schedule/agent-guard/expire-a1b2`,
  },
  {
    threat: 5,
    what: 'invoke the approval function directly, forging the caller identity',
    action: 'lambda:InvokeFunction',
    resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:AgentGuardApprovals`,
  },
  {
    threat: 5,
    what: 'write its own approval into the audit table',
    action: 'dynamodb:PutItem',
    resource: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/AgentGuardApprovals`,
  },
  {
    threat: 5,
    what: 'delete an approval expiry schedule',
    action: 'scheduler:DeleteSchedule',
    resource: `arn:aws:scheduler:us-east-1:${ACCOUNT}:schedule/agent-guard/AgentGuardExpire-abc123`,
  },
  {
    threat: 5,
    what: 'delete a single-use watch rule',
    action: 'events:DeleteRule',
    resource: `arn:aws:events:us-east-1:${ACCOUNT}:rule/AgentGuardUse-abc123`,
  },
  {
    threat: 5,
    what: 'remove the targets of the IAM event rule',
    action: 'events:RemoveTargets',
    resource: `arn:aws:events:us-east-1:${ACCOUNT}:rule/AgentGuardRoleChanges`,
  },
  {
    threat: 5,
    what: 'stop retries into the dead-letter queue',
    action: 'lambda:DeleteFunctionEventInvokeConfig',
    resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:AgentGuardEvaluator`,
  },
  {
    threat: 5,
    what: 'purge the dead-letter queue',
    action: 'sqs:PurgeQueue',
    resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:AgentGuardDeadLetters`,
  },
  {
    threat: 5,
    what: 'mute the traffic alarm',
    action: 'cloudwatch:DisableAlarmActions',
    resource: `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:AgentGuardErrors`,
  },
  {
    threat: 5,
    what: 'unsubscribe on-call from the notices',
    action: 'sns:SetTopicAttributes',
    resource: `arn:aws:sns:us-east-1:${ACCOUNT}:AgentGuardNotices`,
  },
  {
    threat: 5,
    what: 'schedule deletion of the notices key',
    action: 'kms:ScheduleKeyDeletion',
    resource: `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
    context: { [`aws:ResourceTag/${COMPONENT_TAG}`]: 'true' },
  },
  {
    threat: 5,
    what: 'delete the guard function logs',
    action: 'logs:DeleteLogGroup',
    resource: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/aws/lambda/AgentGuardEvaluator`,
  },
  {
    threat: 5,
    what: "edit the guard's own role",
    action: 'iam:PutRolePolicy',
    resource: role('agent-guard/AgentGuardExample-GuardLiveRole1A2B3C4D'),
  },
  {
    threat: 3,
    what: 'assume another agent role, even one that holds no approval yet',
    action: 'sts:AssumeRole',
    resource: role('OtherAgent'),
    context: agentRole,
  },
  {
    threat: 3,
    what: 'assume another agent role tagged with another value',
    action: 'sts:AssumeRole',
    resource: role('OtherAgent'),
    context: { [`iam:ResourceTag/${AGENT_TAG}`]: 'false', [`aws:ResourceTag/${AGENT_TAG}`]: 'false' },
  },
  ...idpWrites.map(([action, resource]): Escape => ({
    threat: 8,
    what: `open a back door: ${action}`,
    action,
    resource,
  })),
  { threat: 9, what: 'attach AdministratorAccess to a workload role', ...otherRole('iam:AttachRolePolicy', ADMIN) },
  { threat: 9, what: 'put an inline policy on a workload role', ...otherRole('iam:PutRolePolicy') },
  { threat: 9, what: 'detach a policy from a workload role', ...otherRole('iam:DetachRolePolicy', ADMIN) },
  { threat: 9, what: 'delete the inline policy of a workload role', ...otherRole('iam:DeleteRolePolicy') },
  {
    threat: 9,
    what: 'attach AdministratorAccess to a role with another boundary',
    ...otherRole('iam:AttachRolePolicy', ADMIN),
    context: { 'iam:PolicyARN': ADMIN, 'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/Weak` },
  },
  { threat: 9, what: 'attach AdministratorAccess to a user', ...otherUser('iam:AttachUserPolicy', ADMIN) },
  { threat: 9, what: 'put an inline policy on a user', ...otherUser('iam:PutUserPolicy') },
  { threat: 9, what: 'detach a policy from a user', ...otherUser('iam:DetachUserPolicy', ADMIN) },
  { threat: 9, what: "delete a user's inline policy", ...otherUser('iam:DeleteUserPolicy') },
  ...['iam:AttachGroupPolicy', 'iam:DetachGroupPolicy', 'iam:PutGroupPolicy', 'iam:DeleteGroupPolicy'].map(
    (action): Escape => ({ threat: 9, what: `change a group's policies: ${action}`, action, resource: GROUP }),
  ),
  {
    threat: 9,
    what: 'change the policies of a group, even one whose members carry the guard boundary',
    action: 'iam:AttachGroupPolicy',
    resource: GROUP,
    context: { 'iam:PolicyARN': ADMIN, 'iam:PermissionsBoundary': policy('AgentGuardBoundary') },
  },
  { threat: 9, what: 'add a user to an admin group', action: 'iam:AddUserToGroup', resource: GROUP },
  { threat: 9, what: 'remove a user from a group', action: 'iam:RemoveUserFromGroup', resource: GROUP },
  ...['iam:CreatePolicyVersion', 'iam:SetDefaultPolicyVersion', 'iam:DeletePolicyVersion'].map((action): Escape => ({
    threat: 9,
    what: `change a customer policy a workload uses: ${action}`,
    action,
    resource: `arn:aws:iam::${ACCOUNT}:policy/WorkloadAccess`,
  })),
  {
    threat: 9,
    what: 'add a version to a policy on a path that only starts like the agent-made one',
    action: 'iam:CreatePolicyVersion',
    resource: `arn:aws:iam::${ACCOUNT}:policy/agent-made-not/Workload`,
  },
  { threat: 12, what: 'leave the organization', action: 'organizations:LeaveOrganization' },
  {
    threat: 12,
    what: 'close the account',
    action: 'account:CloseAccount',
    resource: `arn:aws:account::${ACCOUNT}:account`,
  },
  {
    threat: 12,
    what: 'close a member account from the management account',
    action: 'organizations:CloseAccount',
    resource: `arn:aws:organizations::${ACCOUNT}:account/o-abc/444455556666`,
  },
  {
    threat: 12,
    what: 'disable a region',
    action: 'account:DisableRegion',
    resource: `arn:aws:account::${ACCOUNT}:account`,
    context: { 'account:TargetRegion': 'eu-south-1' },
  },
];

/** Denied while locked, allowed while open: threat 7 and the CDK deploy roles. */
export const DENIED_WHILE_LOCKED: Escape[] = [
  {
    threat: 3,
    what: 'assume the CDK deploy role',
    action: 'sts:AssumeRole',
    resource: role('cdk-hnb659fds-deploy-role'),
    context: { [`iam:ResourceTag/${CDK_BOOTSTRAP_ROLE_TAG}`]: 'deploy' },
  },
  {
    threat: 3,
    what: 'assume the CDK file-publishing role',
    action: 'sts:AssumeRole',
    resource: role('cdk-hnb659fds-file-publishing-role'),
    context: { [`iam:ResourceTag/${CDK_BOOTSTRAP_ROLE_TAG}`]: 'file-publishing' },
  },
  {
    threat: 6,
    what: 'delete a DNS record',
    action: 'route53:ChangeResourceRecordSets',
    resource: 'arn:aws:route53:::hostedzone/Z1',
    context: { 'route53:ChangeResourceRecordSetsActions': ['UPSERT', 'DELETE'] },
  },
  {
    threat: 6,
    what: 'schedule key deletion',
    action: 'kms:ScheduleKeyDeletion',
    resource: `arn:aws:kms:us-east-1:${ACCOUNT}:key/k`,
  },
  {
    threat: 6,
    what: 'turn off RDS deletion protection',
    action: 'rds:ModifyDBInstance',
    resource: `arn:aws:rds:us-east-1:${ACCOUNT}:db:prod`,
  },
  {
    threat: 6,
    what: 'scale an ECS service to zero',
    action: 'ecs:UpdateService',
    resource: `arn:aws:ecs:us-east-1:${ACCOUNT}:service/prod/web`,
  },
  {
    threat: 6,
    what: 'expire a bucket with a lifecycle rule',
    action: 's3:PutLifecycleConfiguration',
    resource: 'arn:aws:s3:::prod-data',
  },
  { threat: 7, what: 'open a bucket policy', action: 's3:PutBucketPolicy', resource: 'arn:aws:s3:::prod-data' },
  {
    threat: 7,
    what: 'rewrite a key policy',
    action: 'kms:PutKeyPolicy',
    resource: `arn:aws:kms:us-east-1:${ACCOUNT}:key/k`,
  },
  {
    threat: 7,
    what: 'let another account invoke a function',
    action: 'lambda:AddPermission',
    resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:api`,
  },
];

/** Ordinary work an agent must keep doing in every state. */
export const ALWAYS_ALLOWED: Escape[] = [
  {
    threat: 0,
    what: 'ask for an approval through the approval function URL',
    action: 'lambda:InvokeFunctionUrl',
    resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:AgentGuardApprovals`,
    context: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' },
  },
  {
    threat: 0,
    what: 'invoke the approval function through its URL (a URL needs lambda:InvokeFunction too)',
    action: 'lambda:InvokeFunction',
    resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:AgentGuardApprovals`,
    context: { 'lambda:InvokedViaFunctionUrl': 'true' },
  },
  {
    threat: 0,
    what: 'read the account status',
    action: 'ssm:GetParameter',
    resource: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/agent-guard/status`,
  },
  {
    threat: 0,
    what: 'launch an instance',
    action: 'ec2:RunInstances',
    resource: `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/*`,
  },
  { threat: 0, what: 'write an object', action: 's3:PutObject', resource: 'arn:aws:s3:::prod-data/key' },
  {
    threat: 0,
    what: 'invoke a workload function, which runs the code the pipeline shipped',
    action: 'lambda:InvokeFunction',
    resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:api`,
  },
  {
    threat: 0,
    what: 'tag a role with ordinary tags',
    action: 'iam:TagRole',
    resource: role('Worker'),
    context: tagKeys('team'),
  },
  {
    threat: 0,
    what: 'pass an agent role to Lambda',
    action: 'iam:PassRole',
    resource: role('OtherAgent'),
    context: { ...agentRole, 'iam:PassedToService': 'lambda.amazonaws.com' },
  },
  {
    threat: 0,
    what: 'attach a policy to a role that carries the guard boundary',
    action: 'iam:AttachRolePolicy',
    resource: role('BoundedWorker'),
    context: { 'iam:PolicyARN': ADMIN, 'iam:PermissionsBoundary': policy('AgentGuardBoundary') },
  },
  {
    threat: 0,
    what: 'put an inline policy on a user that carries the guard boundary',
    action: 'iam:PutUserPolicy',
    resource: `arn:aws:iam::${ACCOUNT}:user/bounded`,
    context: { 'iam:PermissionsBoundary': policy('AgentGuardBoundary') },
  },
  {
    threat: 0,
    what: 'add a version to a policy it made, on the agent-made path',
    action: 'iam:CreatePolicyVersion',
    resource: `arn:aws:iam::${ACCOUNT}:policy${AGENT_POLICY_PATH}team/Worker`,
  },
  {
    threat: 0,
    what: 'set the default version of a policy it made',
    action: 'iam:SetDefaultPolicyVersion',
    resource: `arn:aws:iam::${ACCOUNT}:policy${AGENT_POLICY_PATH}Worker`,
  },
  {
    threat: 0,
    what: 'read a workload policy version',
    action: 'iam:GetPolicyVersion',
    resource: `arn:aws:iam::${ACCOUNT}:policy/WorkloadAccess`,
  },
  { threat: 0, what: 'read a group', action: 'iam:GetGroup', resource: GROUP },
  {
    threat: 0,
    what: 'check whether a region is enabled',
    action: 'account:GetRegionOptStatus',
    resource: `arn:aws:account::${ACCOUNT}:account`,
  },
  {
    threat: 0,
    what: 'assume a role in another account',
    action: 'sts:AssumeRole',
    resource: 'arn:aws:iam::444455556666:role/ReadOnly',
  },
  {
    threat: 0,
    what: 'assume the CDK lookup role',
    action: 'sts:AssumeRole',
    resource: role('cdk-hnb659fds-lookup-role'),
    context: { [`iam:ResourceTag/${CDK_BOOTSTRAP_ROLE_TAG}`]: 'lookup' },
  },
  {
    threat: 0,
    what: 'read the published guard status',
    action: 'ssm:GetParameter',
    resource: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/agent-guard/status`,
  },
  { threat: 0, what: 'read a guard policy', action: 'iam:GetPolicyVersion', resource: policy('AgentGuardDeny1') },
  {
    threat: 0,
    what: 'upsert a DNS record',
    action: 'route53:ChangeResourceRecordSets',
    resource: 'arn:aws:route53:::hostedzone/Z1',
    context: { 'route53:ChangeResourceRecordSetsActions': ['UPSERT'] },
  },
];

const ofThreat = (threat: number, escapes: Omit<Escape, 'threat'>[]): Escape[] =>
  escapes.map((e) => ({ threat, ...e }));
const arn = (service: string, resource: string) => `arn:aws:${service}:us-east-1:${ACCOUNT}:${resource}`;
const INSTANCE = arn('ec2', 'instance/i-0abc');
const ACCESS_ENTRY = arn('eks', `access-entry/prod/role/${ACCOUNT}/Agent/8ac8f5a2-2d6b-4b2f-9a6c-0f2e1d3c4b5a`);

/**
 * Threat 10: code that runs as the resource's existing, stronger role, with no `iam:PassRole` (the
 * ledger, IAM-80 to IAM-86). Denied while locked, as the remote-execution group, which teams may exempt.
 */
export const REMOTE_EXECUTION: Escape[] = ofThreat(10, [
  { what: 'run a shell command on an instance', action: 'ssm:SendCommand', resource: INSTANCE },
  { what: 'open a shell on an instance', action: 'ssm:StartSession', resource: INSTANCE },
  {
    what: 'run an automation document',
    action: 'ssm:StartAutomationExecution',
    resource: arn('ssm', 'automation-definition/AWS-RunShellScript:$DEFAULT'),
  },
  {
    what: 'exec into a running container',
    action: 'ecs:ExecuteCommand',
    resource: arn('ecs', 'task/prod/0123456789abcdef0'),
    context: { 'ecs:cluster': arn('ecs', 'cluster/prod') },
  },
  {
    what: 'push an SSH key to an instance',
    action: 'ec2-instance-connect:SendSSHPublicKey',
    resource: INSTANCE,
  },
  {
    what: "push an SSH key to an instance's serial console",
    action: 'ec2-instance-connect:SendSerialConsoleSSHPublicKey',
    resource: INSTANCE,
  },
  { what: "replace a function's code", action: 'lambda:UpdateFunctionCode', resource: arn('lambda', 'function:api') },
  {
    what: "change a function's handler, layers or environment",
    action: 'lambda:UpdateFunctionConfiguration',
    resource: arn('lambda', 'function:api'),
    context: { 'lambda:Layer': [arn('lambda', 'layer:shell:1')] },
  },
  {
    what: 'start a build with a buildspec override',
    action: 'codebuild:StartBuild',
    resource: arn('codebuild', 'project/deploy'),
    context: { 'codebuild:source.buildspec': 'version: 0.2' },
  },
  {
    what: 'start a batch build with a buildspec override',
    action: 'codebuild:StartBuildBatch',
    resource: arn('codebuild', 'project/deploy'),
  },
  {
    what: 'run a task with a command override',
    action: 'ecs:RunTask',
    resource: arn('ecs', 'task-definition/migrate:3'),
    context: { 'ecs:cluster': arn('ecs', 'cluster/prod') },
  },
  {
    what: 'start a task on a container instance with a command override',
    action: 'ecs:StartTask',
    resource: arn('ecs', 'task-definition/migrate:3'),
    context: { 'ecs:cluster': arn('ecs', 'cluster/prod') },
  },
  { what: 'associate a document with instances', action: 'ssm:CreateAssociation', resource: INSTANCE },
  {
    what: 'associate documents with instances in a batch',
    action: 'ssm:CreateAssociationBatch',
    resource: arn('ssm', 'document/RunShell'),
  },
  {
    what: 'point an association at another document',
    action: 'ssm:UpdateAssociation',
    resource: arn('ssm', 'association/fa2ad2d1-4a1f-4b73-9b1d-3c2f1a0e9d8c'),
  },
  {
    what: 'register a maintenance-window task',
    action: 'ssm:RegisterTaskWithMaintenanceWindow',
    resource: arn('ssm', 'maintenancewindow/mw-0c50858d01EXAMPLE'),
  },
  {
    what: 'change a maintenance-window task',
    action: 'ssm:UpdateMaintenanceWindowTask',
    resource: arn('ssm', 'windowtask/4d5e6f70-1a2b-3c4d-5e6f-7a8b9c0d1e2f'),
  },
  { what: 'point a Glue job at another script', action: 'glue:UpdateJob', resource: arn('glue', 'job/nightly-etl') },
  {
    what: 'add an EKS access entry for itself',
    action: 'eks:CreateAccessEntry',
    resource: arn('eks', 'cluster/prod'),
    context: { 'eks:principalArn': role('Agent') },
  },
  { what: 'change an EKS access entry', action: 'eks:UpdateAccessEntry', resource: ACCESS_ENTRY },
  {
    what: 'associate cluster-admin with an EKS access entry',
    action: 'eks:AssociateAccessPolicy',
    resource: ACCESS_ENTRY,
    context: { 'eks:policyArn': 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy' },
  },
]);

/** Turning off the account's detection counts as destruction while locked (issue 10). */
export const DETECTION_OFF: Escape[] = ofThreat(6, [
  {
    what: 'disable GuardDuty',
    action: 'guardduty:UpdateDetector',
    resource: arn('guardduty', 'detector/12abc34d567e8fa901bc2d34e56789f0'),
  },
  { what: 'stop GuardDuty monitoring member accounts', action: 'guardduty:StopMonitoringMembers' },
  { what: 'disassociate GuardDuty members', action: 'guardduty:DisassociateMembers' },
  {
    what: 'redirect GuardDuty findings',
    action: 'guardduty:UpdatePublishingDestination',
    resource: arn('guardduty', 'detector/12abc34d567e8fa901bc2d34e56789f0/publishingdestination/a1b2c3'),
  },
  {
    what: 'disable Security Hub',
    action: 'securityhub:DisableSecurityHub',
    resource: arn('securityhub', 'hub/default'),
  },
  {
    what: 'disable Security Hub standards',
    action: 'securityhub:BatchDisableStandards',
    resource: arn('securityhub', 'hub/default'),
  },
  {
    what: 'stop importing findings from a product',
    action: 'securityhub:DisableImportFindingsForProduct',
    resource: arn('securityhub', 'hub/default'),
  },
  {
    what: 'stop the Config recorder',
    action: 'config:StopConfigurationRecorder',
    resource: arn('config', 'configuration-recorder/default/abcd1234efgh5678'),
  },
  { what: 'delete the Config delivery channel', action: 'config:DeleteDeliveryChannel' },
  { what: 'disable Macie', action: 'macie2:DisableMacie' },
  { what: 'pause Macie', action: 'macie2:UpdateMacieSession' },
  {
    what: 'delete an Access Analyzer analyzer',
    action: 'access-analyzer:DeleteAnalyzer',
    resource: arn('access-analyzer', 'analyzer/account'),
  },
  {
    what: 'auto-archive Access Analyzer findings',
    action: 'access-analyzer:CreateArchiveRule',
    resource: arn('access-analyzer', 'analyzer/account/archive-rule/all'),
  },
]);
