import { CfnElement, CfnResource, CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IConstruct } from 'constructs';
import {
  AGENT_TAG,
  AGENT_TAG_VALUE,
  APPROVAL_POLICY_PREFIX,
  APPROVAL_TAG,
  CONSTRAINED_TAG,
  GUARD_NAME_PREFIX,
  GUARD_PATH,
  GUARD_SCHEDULE_RULE_NAME,
  STATE_TAG,
} from './core/contract';
import { UNINSTALL_CONFIG_ENV, UninstallConfig } from './core/config';
import { acknowledgeOutsideVpc, guardNodejsFunction } from './guard-nodejs-function';

/** What can re-constrain a role or swap its policies while it runs: gone before the clean-up starts. */
const TRIGGER_TYPES = ['AWS::Events::Rule', 'AWS::Lambda::Function', 'AWS::Scheduler::ScheduleGroup'];

export interface UninstallFunctionProps {
  readonly boundary: iam.ManagedPolicy;
  readonly guardPolicies: readonly iam.ManagedPolicy[];
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The clean-up that makes `cdk destroy` of the guard's stack succeed: a custom resource whose Delete takes
 * the guard off every principal (boundary, guard and approval policies, guard tags, the trust-policy
 * deny) and deletes the approval policies made at run time. See docs/UNINSTALL.md.
 *
 * Order on delete (a resource that depends on another is deleted before it): whatever could re-constrain
 * a role is made to depend on {@link resource} with {@link runAfter}, so it is gone first; the resource
 * depends on the boundary and the guard policies, so they are deleted after the clean-up.
 */
export class UninstallFunction extends Construct {
  public readonly function: lambda.IFunction;
  public readonly role: iam.Role;
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: UninstallFunctionProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { function: fn, role } = guardNodejsFunction(this, 'Function', {
      functionName: `${GUARD_NAME_PREFIX}Uninstall`,
      description: 'agent-guard: on stack delete, takes the guard off every principal and deletes approval policies',
      roleDescription: 'agent-guard: the clean-up function; removes only guard parts from principals',
      handler: 'uninstall',
      // The provider framework waits up to 15 minutes for its handler.
      timeout: Duration.minutes(14),
      logRetention: props.logRetention,
      logEncryptionKey: props.encryptionKey,
      environment: {
        [UNINSTALL_CONFIG_ENV]: stack.toJsonString({
          stackId: stack.stackId,
          boundaryArn: props.boundary.managedPolicyArn,
          guardPolicyArns: props.guardPolicies.map((p) => p.managedPolicyArn),
          guardRuleName: GUARD_SCHEDULE_RULE_NAME,
          concurrency: 4,
        } satisfies UninstallConfig),
        POWERTOOLS_SERVICE_NAME: 'agent-guard-uninstall',
      },
    });
    this.function = fn;
    this.role = role;
    this.grantCleanUp(role, props);

    const providerName = `${GUARD_NAME_PREFIX}UninstallProvider`;
    const providerRole = new iam.Role(this, 'ProviderRole', {
      path: GUARD_PATH,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'agent-guard: the custom resource framework of the clean-up; invokes the clean-up function',
    });
    const fnLogicalId = stack.getLogicalId(fn.node.defaultChild as CfnElement);
    Validations.of(providerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${fnLogicalId}.Arn>:*]`,
      reason: 'The custom resource framework may invoke any version of the clean-up function, as CDK grants it.',
    });
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: fn,
      providerFunctionName: providerName,
      frameworkOnEventRole: providerRole,
      logGroup: new logs.LogGroup(this, 'ProviderLogs', {
        logGroupName: `/aws/lambda/${providerName}`,
        retention: props.logRetention,
        encryptionKey: props.encryptionKey,
        removalPolicy: RemovalPolicy.RETAIN,
      }),
    });
    acknowledgeOutsideVpc(provider);
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::AgentGuardUninstall',
    });
    this.resource.node.addDependency(props.boundary, ...props.guardPolicies);
  }

  /**
   * Makes whatever in `scopes` could re-constrain a role (rules, functions, the schedule group) deleted
   * before the clean-up runs: they depend on it. Only those: the rest of a scope, such as the key that
   * also encrypts the clean-up's own logs, must outlive it.
   */
  public runAfter(...scopes: IConstruct[]): void {
    for (const part of scopes.flatMap((scope) => scope.node.findAll())) {
      if (part instanceof CfnResource && TRIGGER_TYPES.includes(part.cfnResourceType)) {
        part.node.addDependency(this.resource);
      }
    }
  }

  private grantCleanUp(role: iam.Role, props: UninstallFunctionProps): void {
    const stack = Stack.of(this);
    const arn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'iam', region: '', resource, resourceName });
    const approvalPolicies = arn('policy', `${GUARD_PATH.slice(1)}${APPROVAL_POLICY_PREFIX}-*`);
    const guardOwned = {
      ArnLike: { 'iam:PolicyARN': [...props.guardPolicies.map((p) => p.managedPolicyArn), approvalPolicies] },
    };
    const guardBoundary = { ArnEquals: { 'iam:PermissionsBoundary': props.boundary.managedPolicyArn } };
    const roles = arn('role', '*');
    const statements = [
      new iam.PolicyStatement({ sid: 'ListGuardPath', actions: ['iam:ListPolicies'], resources: ['*'] }),
      new iam.PolicyStatement({
        sid: 'FindHolders',
        actions: ['iam:ListEntitiesForPolicy'],
        resources: [arn('policy', `${GUARD_PATH.slice(1)}*`)],
      }),
      new iam.PolicyStatement({
        sid: 'ReadRoles',
        actions: ['iam:GetRole', 'iam:ListAttachedRolePolicies'],
        resources: [roles],
      }),
      new iam.PolicyStatement({
        sid: 'RemoveGuardTagsOnly',
        actions: ['iam:UntagRole'],
        resources: [roles],
        conditions: {
          'ForAllValues:StringEqualsIgnoreCase': { 'aws:TagKeys': [STATE_TAG, APPROVAL_TAG, CONSTRAINED_TAG] },
          Null: { 'aws:TagKeys': 'false' },
        },
      }),
      new iam.PolicyStatement({
        sid: 'TrustOfGuardedRoles',
        actions: ['iam:UpdateAssumeRolePolicy'],
        resources: [roles],
        conditions: guardBoundary,
      }),
      new iam.PolicyStatement({
        sid: 'TrustOfAgentRoles',
        actions: ['iam:UpdateAssumeRolePolicy'],
        resources: [roles],
        conditions: { StringEquals: { [`iam:ResourceTag/${AGENT_TAG}`]: AGENT_TAG_VALUE } },
      }),
      new iam.PolicyStatement({
        sid: 'DetachGuardPoliciesOnly',
        actions: ['iam:DetachRolePolicy', 'iam:DetachUserPolicy', 'iam:DetachGroupPolicy'],
        resources: [roles, arn('user', '*'), arn('group', '*')],
        conditions: guardOwned,
      }),
      new iam.PolicyStatement({
        sid: 'RemoveGuardBoundaryOnly',
        actions: ['iam:DeleteRolePermissionsBoundary', 'iam:DeleteUserPermissionsBoundary'],
        resources: [roles, arn('user', '*')],
        conditions: guardBoundary,
      }),
      new iam.PolicyStatement({
        sid: 'DeleteApprovalPolicies',
        actions: ['iam:ListPolicyVersions', 'iam:DeletePolicyVersion', 'iam:DeletePolicy'],
        resources: [approvalPolicies],
      }),
      new iam.PolicyStatement({
        sid: 'IsTheGuardGone',
        actions: ['events:DescribeRule'],
        resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: GUARD_SCHEDULE_RULE_NAME })],
      }),
    ];
    const policy = new iam.Policy(this, 'Permissions', { statements });
    policy.attachToRole(role);
    const why =
      'ListPolicies supports no resource ARN. Principals holding the guard have any name, so the writes name ' +
      'role/*, user/* and group/* but are held by conditions: only the guard tags, only guard and approval ' +
      'policies, only the guard boundary, only the trust of guarded or agent roles.';
    const findings = [
      'Resource::*',
      ...['role', 'user', 'group'].map((r) => `arn:<AWS::Partition>:iam::<AWS::AccountId>:${r}/*`),
    ];
    for (const finding of findings) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[${finding.startsWith('arn') ? `Resource::${finding}` : finding}]`,
        reason: why,
      });
    }
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/agent-guard/*]`,
      reason:
        'Listing the holders of the guard policies, the approval policies among them, which are named at run time.',
    });
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/agent-guard/${APPROVAL_POLICY_PREFIX}-*]`,
      reason: 'The approval policies are created at run time, one set per approval, under this name prefix.',
    });
  }
}
