import { CfnParameter, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  Capability,
  DeploymentType,
  StackSet,
  StackSetStack,
  StackSetStackProps,
  StackSetTarget,
  StackSetTemplate,
} from 'cdk-stacksets';
import { Construct } from 'constructs';
import { AgentGuard, AgentGuardProps } from './agent-guard';
import { GuardMode } from './guard-mode';

/**
 * The one region of every stack instance. IAM is global and its CloudTrail events reach EventBridge in
 * us-east-1 only (docs/AWS-BEHAVIOUR.md EB-1), and the guard's IAM names are global, so a second region
 * would collide with the first (CFN-21).
 */
export const STACK_SET_REGION = 'us-east-1';

/** An OU id (`ou-` root part, `-`, OU part) or a root id (`r-`), as Organizations writes them (ORG-20). */
const TARGET_ID_PATTERN = /^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$/;
/** StackSet names: a letter, then letters, digits and hyphens, at most 128 characters (CFN-22). */
const STACK_SET_NAME_PATTERN = /^[a-zA-Z][-a-zA-Z0-9]{0,127}$/;
/** S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit. */
const BUCKET_NAME_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The CloudFormation parameter of the guard's template that each target sets to its mode. */
export const MODE_PARAMETER = 'GuardMode';

/** Some of the organization's accounts, and the mode the guard runs in there. */
export interface OrganizationTarget {
  /**
   * The OUs (`ou-ab12-cdef3456`) or the root (`r-ab12`) whose accounts get the guard, nested OUs and
   * accounts that join later included.
   */
  readonly organizationalUnitIds: string[];

  /**
   * The guard's mode in these accounts. Roll out with `GuardMode.MONITOR` first, then switch an OU to
   * `GuardMode.ENFORCE`: the StackSet updates that OU's stacks in place.
   *
   * @default GuardMode.ENFORCE
   */
  readonly mode?: GuardMode;
}

/** Properties of {@link AgentGuardStackSet}. */
export interface AgentGuardStackSetProps {
  /** Where the guard goes: OUs (or the root), each with its mode. An OU may appear in one target only. */
  readonly targets: OrganizationTarget[];

  /**
   * The guard's settings in every account. `mode` is set per target instead. `agentRoles`,
   * `noticesTopic` and `encryptionKey` cannot be given: they would be resources of this stack, not of the
   * member accounts; tag agent roles `agent-guard:agent=true` in the member accounts and the guard
   * constrains them.
   *
   * @default - the AgentGuard defaults
   */
  readonly guard?: AgentGuardProps;

  /**
   * The prefix of the organization-readable bucket that holds the guard's Lambda code. The bucket is
   * `<prefix>-us-east-1`; it must exist in us-east-1, encrypted with SSE-S3, with a bucket policy that
   * lets principals of your organization read its objects (`aws:PrincipalOrgID`). Member accounts
   * cannot read the CDK bootstrap bucket of this account. The stack copies the code into it at deploy.
   *
   * @default - `agent-guard-assets-<this stack's account>`; this stack must then name its account
   */
  readonly assetBucketPrefix?: string;

  /**
   * The StackSet's name. Its stack in each account is named `StackSet-<name>-<id>`, and the guard's
   * boundary denies agents any change to stacks of that name.
   *
   * @default 'AgentGuard'
   */
  readonly stackSetName?: string;

  /**
   * Whether this stack is deployed in a delegated administrator account for StackSets. Set false when
   * it is deployed in the organization's management account.
   *
   * @default true
   */
  readonly delegatedAdmin?: boolean;
}

/**
 * The guard in every account of some OUs, through a CloudFormation StackSet with service-managed
 * permissions: accounts that join a target OU get it automatically.
 *
 * One stack instance per account, in us-east-1, where IAM's events arrive. Traffic of other regions is
 * read through the guard's `trafficRegions`. An account that leaves the target OUs keeps its guard
 * (`RetainStacksOnAccountRemoval`): removing it would open its agent roles, so that takes a deliberate
 * stack deletion.
 */
export class AgentGuardStackSet extends Construct {
  /** The guard's template: one env-agnostic stack, deployed to every target account. */
  public readonly guardStack: Stack;
  /** The guard as it is in each account. */
  public readonly guard: AgentGuard;
  /** The bucket that member accounts read the guard's Lambda code from. */
  public readonly assetBucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: AgentGuardStackSetProps) {
    super(scope, id);
    const stackSetName = props.stackSetName ?? 'AgentGuard';
    if (Token.isUnresolved(stackSetName) || !STACK_SET_NAME_PATTERN.test(stackSetName)) {
      throw new Error(
        `stackSetName '${stackSetName}' is not a StackSet name: a letter, then letters, digits and hyphens, ` +
          'at most 128 characters.',
      );
    }
    const targets = validateTargets(props.targets);
    const guardProps = validateGuardProps(props.guard ?? {});
    const bucketPrefix = props.assetBucketPrefix ?? defaultBucketPrefix(Stack.of(this));
    const bucketName = validateBucketName(bucketPrefix);
    this.assetBucket = s3.Bucket.fromBucketName(this, 'AssetBucket', bucketName);

    const guardStack = new GuardStackSetStack(this, 'Template', stackSetName, {
      assetBuckets: [this.assetBucket],
      assetBucketPrefix: bucketPrefix,
    });
    this.guardStack = guardStack;
    const mode = new CfnParameter(guardStack, MODE_PARAMETER, {
      type: 'String',
      allowedValues: [GuardMode.ENFORCE.name, GuardMode.MONITOR.name],
      default: GuardMode.ENFORCE.name,
      description: 'agent-guard: ENFORCE locks agent roles while the account is protected; MONITOR only reports.',
    });
    this.guard = new AgentGuard(guardStack, 'Guard', {
      ...guardProps,
      mode: GuardMode._deployTime(mode.valueAsString),
    });

    const [first, ...rest] = targets.map((target) =>
      StackSetTarget.fromOrganizationalUnits({
        regions: [STACK_SET_REGION],
        organizationalUnits: target.organizationalUnitIds,
        parameterOverrides: { [MODE_PARAMETER]: (target.mode ?? GuardMode.ENFORCE).name },
      }),
    );
    const stackSet = new StackSet(this, 'StackSet', {
      stackSetName,
      description: 'agent-guard: stops AI-agent roles from destroying production that serves traffic',
      template: StackSetTemplate.fromStackSetStack(guardStack),
      target: first,
      deploymentType: DeploymentType.serviceManaged({
        autoDeployEnabled: true,
        autoDeployRetainStacks: true,
        delegatedAdmin: props.delegatedAdmin ?? true,
      }),
      // The guard names its IAM roles and policies (CFN-23).
      capabilities: [Capability.NAMED_IAM],
      // StackSets deploys to one account at a time by default: a quarter at once rolls 1,000 accounts out in
      // hours, and a tenth failing stops the operation before a broken template reaches the rest (CFN-24).
      operationPreferences: { maxConcurrentPercentage: 25, failureTolerancePercentage: 10 },
    });
    rest.forEach((target) => stackSet.addTarget(target));
    acknowledgeAssetCopy(Stack.of(this));
  }
}

/**
 * The guard's StackSet template. StackSets names each account's stack `StackSet-<StackSet name>-<id>`
 * (CFN-20), so the boundary's anti-tamper statement names that pattern instead of a CDK stack name.
 */
class GuardStackSetStack extends StackSetStack {
  private readonly instanceStackName: string;

  constructor(scope: Construct, id: string, stackSetName: string, props: StackSetStackProps) {
    super(scope, id, props);
    this.instanceStackName = `StackSet-${stackSetName}-*`;
  }

  public override get stackName(): string {
    // Stack's constructor reads stackName before this class has set its own.
    return this.instanceStackName ?? super.stackName;
  }
}

function validateTargets(targets: OrganizationTarget[]): OrganizationTarget[] {
  if (targets.length === 0) throw new Error('targets is empty: name at least one OU or the root.');
  const seen = new Set<string>();
  for (const target of targets) {
    if (target.organizationalUnitIds.length === 0) {
      throw new Error('A target names no OU: give organizationalUnitIds, such as ou-ab12-cdef3456 or the root r-ab12.');
    }
    for (const ou of target.organizationalUnitIds) {
      if (Token.isUnresolved(ou) || !TARGET_ID_PATTERN.test(ou)) {
        throw new Error(
          `'${ou}' is not an OU id (ou-ab12-cdef3456) or a root id (r-ab12): StackSets deploy to OUs, not to names.`,
        );
      }
      if (seen.has(ou)) {
        throw new Error(`${ou} is in two targets: each account runs one guard, in one mode. Name it once.`);
      }
      seen.add(ou);
    }
  }
  return targets;
}

function validateGuardProps(props: AgentGuardProps): AgentGuardProps {
  const refused: Array<[keyof AgentGuardProps, string]> = [
    ['mode', 'set the mode of each target instead'],
    ['agentRoles', "roles of this stack are not in the member accounts: tag theirs 'agent-guard:agent=true'"],
    ['noticesTopic', 'a topic of this stack cannot serve member accounts: each guard creates its own'],
    ['encryptionKey', 'a key of this stack cannot serve member accounts: each guard creates its own'],
  ];
  for (const [prop, why] of refused) {
    if (props[prop] !== undefined) throw new Error(`AgentGuardStackSet: guard.${prop} cannot be given: ${why}.`);
  }
  return props;
}

function defaultBucketPrefix(stack: Stack): string {
  if (Token.isUnresolved(stack.account)) {
    throw new Error(
      "AgentGuardStackSet needs assetBucketPrefix, or a stack with a literal account for the default 'agent-guard-assets-<account>'.",
    );
  }
  return `agent-guard-assets-${stack.account}`;
}

function validateBucketName(prefix: string): string {
  const name = `${prefix}-${STACK_SET_REGION}`;
  if (Token.isUnresolved(prefix) || !BUCKET_NAME_PATTERN.test(name) || name.includes('..')) {
    throw new Error(
      `assetBucketPrefix '${prefix}' does not make a valid S3 bucket name '${name}': 3-63 lowercase letters, ` +
        'digits, dots and hyphens, starting and ending with a letter or digit.',
    );
  }
  return name;
}

/**
 * cdk-stacksets copies the guard's code to the asset bucket with CDK's BucketDeployment, a function of
 * this stack. Its role and runtime are CDK's, not ours; acknowledge their findings with that reason. The
 * function is a singleton of the stack, so other BucketDeployments of the stack share these acknowledgements.
 */
function acknowledgeAssetCopy(stack: Stack): void {
  const reason =
    "CDK's BucketDeployment copies the guard's code from the bootstrap bucket to the organization's asset " +
    'bucket; its role, managed policy and runtime are set by aws-cdk-lib.';
  for (const copier of stack.node.children.filter((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'))) {
    Validations.of(copier).acknowledge({ id: 'AwsSolutions-L1', reason });
    Validations.of(copier).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason,
    });
    const policy = copier.node.tryFindChild('ServiceRole')?.node.tryFindChild('DefaultPolicy');
    if (policy instanceof iam.Policy) {
      for (const finding of wildcardFindings(stack, policy)) {
        Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
      }
    }
  }
}

/** The wildcards of a policy's Allow statements, written as cdk-nag names its IAM5 findings. */
function wildcardFindings(stack: Stack, policy: iam.Policy): string[] {
  const document = stack.resolve(policy.document.toJSON()) as {
    Statement?: Array<{ Effect: string; Action: unknown; Resource: unknown }>;
  };
  const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);
  return (document.Statement ?? [])
    .filter((statement) => statement.Effect === 'Allow')
    .flatMap((statement) => [
      ...list(statement.Action).map((action) => `Action::${flatten(action)}`),
      ...list(statement.Resource).map((resource) => `Resource::${flatten(resource)}`),
    ])
    .filter((finding) => finding.includes('*'));
}

/** A CloudFormation value flattened the way cdk-nag writes it in finding ids: `${X}` and `Ref X` as `<X>`. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const node = value as Record<string, unknown>;
  if (Array.isArray(node['Fn::Join'])) {
    const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
    return items.map(flatten).join(delimiter);
  }
  if (node['Fn::Sub'] !== undefined) return flatten(node['Fn::Sub']);
  if (node.Ref !== undefined) return `<${flatten(node.Ref)}>`;
  if (Array.isArray(node['Fn::GetAtt'])) {
    const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
    return `<${flatten(resource)}.${flatten(attribute)}>`;
  }
  return JSON.stringify(value);
}
