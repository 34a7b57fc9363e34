import { iamReference } from '../catalog/iam-reference';
import {
  AGENT_POLICY_PATH,
  AGENT_TAG,
  AGENT_TAG_VALUE,
  APPROVAL_TAG,
  BOUNDARY_POLICY_NAME,
  CDK_BOOTSTRAP_ROLE_TAG,
  CDK_TAG_KEY_PATTERN,
  COMPONENT_TAG,
  CONSTRAINED_TAG,
  CONSTRAINED_TAG_VALUE,
  GUARD_NAME_PREFIX,
  GUARD_PATH,
  GUARD_TAG_KEY_PATTERN,
} from '../contract';
import { PolicyDocumentJson, policyDocument } from '../iam/policy-document';

export interface BoundaryOptions {
  /** The partition, or a token for it. */
  readonly partition: string;
  /** This account's id, or a token for it. */
  readonly account: string;
  /** The stack that holds the guard; agents may not change it. */
  readonly guardStackName: string;
  /** What agent roles may do at most. */
  readonly ceilingActions: readonly string[];
}

/** Services whose guard resources agents may read (Get, List, Describe) but never change. */
const GUARD_SERVICES = [
  'cloudformation',
  'cloudwatch',
  'dynamodb',
  'events',
  'iam',
  'lambda',
  'logs',
  'scheduler',
  'sns',
  'sqs',
  'ssm',
];

/**
 * The permission boundary: the ceiling and the denies of threat-model items 1 to 5, 8, 9 and 12. It holds
 * no state: every statement applies whether the account is locked or open.
 */
export function boundaryDocument(options: BoundaryOptions): PolicyDocumentJson {
  const { partition: p, account: a } = options;
  const iamArn = `arn:${p}:iam::${a}:`;
  const guardPolicies = `${iamArn}policy${GUARD_PATH}*`;
  const guardFunctions = `arn:${p}:lambda:*:${a}:function:${GUARD_NAME_PREFIX}*`;
  const agentTagged = { Null: { [`iam:ResourceTag/${AGENT_TAG}`]: 'false' } };
  return policyDocument([
    {
      // Fail closed in IAM: only agents the guard has verified (boundary, complete deny set, trust-policy
      // session-tag deny) carry the constrained tag, so any other principal with this boundary is inert.
      Sid: 'Ceiling',
      Effect: 'Allow',
      Action: [...options.ceilingActions],
      Resource: '*',
      Condition: {
        StringEquals: {
          [`aws:PrincipalTag/${AGENT_TAG}`]: AGENT_TAG_VALUE,
          [`aws:PrincipalTag/${CONSTRAINED_TAG}`]: CONSTRAINED_TAG_VALUE,
        },
      },
    },
    {
      // aws:PrincipalTag merges role and session tags (a session tag wins), and CreateRole cannot be
      // conditioned on the new trust policy: a role an agent made could trust an identity provider that
      // supplies the guard's tags as session tags. New principals come through IaC deploy roles.
      // Leaving the organization, closing the account or disabling a region drops every SCP.
      Sid: 'NoNewPrincipalsOrExits',
      Effect: 'Deny',
      Action: [
        'iam:CreateRole',
        'iam:CreateUser',
        'iam:*PermissionsBoundary',
        'organizations:LeaveOrganization',
        'organizations:CloseAccount',
        'account:CloseAccount',
        'account:DisableRegion',
      ],
      Resource: '*',
    },
    {
      // Groups: no condition key names the boundary of a group's members. Identity providers: a back door
      // for sessions that carry the guard's tags.
      Sid: 'ReadOnlyIamResources',
      Effect: 'Deny',
      NotAction: ['iam:Get*', 'iam:List*'],
      Resource: [guardPolicies, `${iamArn}group/*`, `${iamArn}oidc-provider/*`, `${iamArn}saml-provider/*`],
    },
    {
      // The delegated-administrator pattern: policy writes only on principals that carry this boundary. The
      // group forms match too and lack the key, so they are denied as well.
      Sid: 'BoundedPrincipalsOnly',
      Effect: 'Deny',
      Action: ['iam:*tach*Policy', 'iam:Put*Policy', 'iam:DeleteRolePolicy', 'iam:DeleteUserPolicy'],
      Resource: '*',
      Condition: {
        StringNotEquals: { 'iam:PermissionsBoundary': `${iamArn}policy${GUARD_PATH}${BOUNDARY_POLICY_NAME}` },
      },
    },
    {
      // Policy versions have no condition key: any other customer policy may be attached outside the boundary.
      // The catalog expands the patterns to Create, Delete and SetDefaultPolicyVersion.
      Sid: 'AgentMadeVersionsOnly',
      Effect: 'Deny',
      Action: ['iam:*tePolicyVersion', 'iam:SetDefault*'],
      NotResource: `${iamArn}policy${AGENT_POLICY_PATH}*`,
    },
    {
      Sid: 'NoGuardPolicyAttachments',
      Effect: 'Deny',
      Action: ['iam:Attach*', 'iam:Detach*'],
      Resource: '*',
      Condition: { ArnLike: { 'iam:PolicyARN': guardPolicies } },
    },
    {
      // No chaining into another agent role: a session assumed before an approval lands would keep it.
      Sid: 'AgentRolesOffLimits',
      Effect: 'Deny',
      Action: [
        'sts:AssumeRole',
        'iam:AttachRolePolicy',
        'iam:DetachRolePolicy',
        'iam:PutRole*',
        'iam:DeleteRole*',
        'iam:TagRole',
        'iam:UntagRole',
        'iam:UpdateRole*',
      ],
      Resource: '*',
      Condition: agentTagged,
    },
    {
      Sid: 'NoTrustOrCredentialChanges',
      Effect: 'Deny',
      Action: [
        'iam:UpdateAssumeRolePolicy',
        'iam:CreateAccessKey',
        'iam:UpdateAccessKey',
        'iam:CreateLoginProfile',
        'iam:UpdateLoginProfile',
        'iam:CreateServiceSpecificCredential',
        'iam:ResetServiceSpecificCredential',
        'iam:UploadSSHPublicKey',
        'iam:UploadSigningCertificate',
      ],
      Resource: '*',
    },
    {
      Sid: 'NoGuardTags',
      Effect: 'Deny',
      Action: ['iam:Tag*', 'iam:Untag*', 'sts:TagSession'],
      Resource: '*',
      Condition: { 'ForAnyValue:StringLike': { 'aws:TagKeys': [GUARD_TAG_KEY_PATTERN, CDK_TAG_KEY_PATTERN] } },
    },
    {
      Sid: 'NoPassingApprovedAgents',
      Effect: 'Deny',
      Action: 'iam:PassRole',
      Resource: '*',
      Condition: { Null: { [`iam:ResourceTag/${APPROVAL_TAG}`]: 'false' } },
    },
    {
      // With AgentRolesOffLimits: no same-account role but the CDK bootstrap roles, which are left to the
      // guard policies (denied while locked).
      Sid: 'NoUnboundedRoles',
      Effect: 'Deny',
      Action: 'sts:AssumeRole',
      Resource: `${iamArn}role/*`,
      Condition: { Null: { [`iam:ResourceTag/${CDK_BOOTSTRAP_ROLE_TAG}`]: 'true' } },
    },
    {
      Sid: 'PassAgentRolesOnly',
      Effect: 'Deny',
      Action: 'iam:PassRole',
      Resource: '*',
      Condition: { Null: { [`iam:ResourceTag/${AGENT_TAG}`]: 'true' } },
    },
    {
      Sid: 'GuardResourcesByTag',
      Effect: 'Deny',
      NotAction: guardReadActions(),
      Resource: '*',
      Condition: { Null: { [`aws:ResourceTag/${COMPONENT_TAG}`]: 'false' } },
    },
    {
      Sid: 'GuardResourcesByName',
      Effect: 'Deny',
      NotAction: guardReadActions(),
      Resource: [
        `arn:${p}:cloudformation:*:${a}:stack/${options.guardStackName}/*`,
        `arn:${p}:cloudwatch:*:${a}:alarm:${GUARD_NAME_PREFIX}*`,
        `arn:${p}:dynamodb:*:${a}:table/${GUARD_NAME_PREFIX}*`,
        `arn:${p}:events:*:${a}:rule/${GUARD_NAME_PREFIX}*`,
        `${iamArn}role${GUARD_PATH}*`,
        guardFunctions,
        `arn:${p}:logs:*:${a}:log-group:/aws/lambda/${GUARD_NAME_PREFIX}*`,
        `arn:${p}:scheduler:*:${a}:schedule${GUARD_PATH}*`,
        `arn:${p}:sns:*:${a}:${GUARD_NAME_PREFIX}*`,
        `arn:${p}:sqs:*:${a}:${GUARD_NAME_PREFIX}*`,
        `arn:${p}:ssm:*:${a}:parameter${GUARD_PATH}*`,
      ],
    },
    {
      // Guard functions run through their URL only (today the approval function's, which the boundary lets
      // agents call): function URLs created since October 2025 need lambda:InvokeFunction as well as
      // lambda:InvokeFunctionUrl. A direct invoke lacks lambda:InvokedViaFunctionUrl, so BoolIfExists
      // keeps it denied: its event, so the caller identity, is forgeable.
      Sid: 'GuardFunctionsByUrlOnly',
      Effect: 'Deny',
      Action: 'lambda:InvokeFunction',
      Resource: guardFunctions,
      Condition: { BoolIfExists: { 'lambda:InvokedViaFunctionUrl': 'false' } },
    },
    {
      Sid: 'TaggedGuardFunctionsByUrlOnly',
      Effect: 'Deny',
      Action: 'lambda:InvokeFunction',
      Resource: '*',
      Condition: {
        Null: { [`aws:ResourceTag/${COMPONENT_TAG}`]: 'false' },
        BoolIfExists: { 'lambda:InvokedViaFunctionUrl': 'false' },
      },
    },
    {
      // Blinding: trails feed the guard's events; custom metrics could fake or hide traffic; the
      // production markers live in Organizations.
      Sid: 'NoBlindingTheGuard',
      Effect: 'Deny',
      Action: [
        'cloudtrail:StopLogging',
        'cloudtrail:DeleteTrail',
        'cloudtrail:UpdateTrail',
        'cloudtrail:PutEventSelectors',
        'cloudwatch:PutMetricData',
        'organizations:TagResource',
        'organizations:UntagResource',
        'organizations:MoveAccount',
      ],
      Resource: '*',
    },
  ]);
}

/**
 * What agents may do to guard resources: read them, and call the approval function's URL, where the
 * function itself decides (an agent may only request). A URL call needs `lambda:InvokeFunction` too; the
 * `*ByUrlOnly` statements deny it unless it comes through a function URL, because a direct invocation
 * could forge the caller identity that the URL's IAM auth proves.
 */
function guardReadActions(): string[] {
  return [
    ...GUARD_SERVICES.flatMap((svc) => [`${svc}:Get*`, `${svc}:List*`, `${svc}:Describe*`]).filter(
      (pattern) => iamReference.expand(pattern).length > 0,
    ),
    'lambda:InvokeFunctionUrl',
    'lambda:InvokeFunction',
  ];
}
