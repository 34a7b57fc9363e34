/**
 * The catalog groups that a verb rule cannot find. Every action named here is checked against the IAM
 * catalog when `npm run catalog` runs; a name the catalog does not know fails the generation.
 */
export interface CuratedGroup {
  readonly description: string;
  /** Action names matched by verb, in every service of the catalog. */
  readonly verbs?: readonly string[];
  /** Exact actions, `service:Action`. */
  readonly actions?: readonly string[];
  /** Actions that are destructive only under an extra condition; each gets a statement of its own. */
  readonly conditional?: readonly {
    readonly actions: readonly string[];
    readonly condition: Record<string, Record<string, string | string[]>>;
    readonly why: string;
  }[];
}

export const CURATED_GROUPS: Record<string, CuratedGroup> = {
  delete: {
    description: 'Delete, terminate, remove, purge, destroy and deregister actions of every service.',
    verbs: ['Delete', 'Terminate', 'Remove', 'Purge', 'Destroy', 'Deregister'],
  },
  'protection-off': {
    description: 'Turning deletion or termination protection off, or weakening what protects data from deletion.',
    actions: [
      'rds:ModifyDBInstance',
      'rds:ModifyDBCluster',
      'rds:ModifyGlobalCluster',
      'ec2:ModifyInstanceAttribute',
      'cloudformation:UpdateTerminationProtection',
      'cloudformation:SetStackPolicy',
      'elasticloadbalancing:ModifyLoadBalancerAttributes',
      'dynamodb:UpdateTable',
      'dynamodb:UpdateContinuousBackups',
      'autoscaling:SetInstanceProtection',
      'cognito-idp:UpdateUserPool',
      'qldb:UpdateLedger',
      'redshift:ModifyCluster',
      's3:PutBucketVersioning',
      's3:PutBucketObjectLockConfiguration',
      'ecr:PutImageTagMutability',
      'kms:DisableKey',
    ],
  },
  'stack-replace': {
    description: 'Stack updates and teardown, which is how a "recreate" usually arrives, and the CDK deploy roles.',
    actions: [
      'cloudformation:UpdateStack',
      'cloudformation:ExecuteChangeSet',
      'cloudformation:UpdateStackSet',
      'cloudformation:UpdateStackInstances',
      'cloudformation:ContinueUpdateRollback',
      'cloudformation:RollbackStack',
    ],
    conditional: [
      {
        why: 'Assuming a CDK bootstrap role (deploy, file and image publishing; not lookup) hands the agent an unbounded deployment.',
        actions: ['sts:AssumeRole'],
        condition: {
          StringLike: { 'iam:ResourceTag/aws-cdk:bootstrap-role': '*' },
          StringNotEquals: { 'iam:ResourceTag/aws-cdk:bootstrap-role': 'lookup' },
        },
      },
    ],
  },
  'scale-to-zero': {
    description: 'Scaling serving capacity to zero, stopping it, or detaching it from traffic.',
    actions: [
      'autoscaling:UpdateAutoScalingGroup',
      'autoscaling:SetDesiredCapacity',
      'autoscaling:DetachInstances',
      'autoscaling:DetachLoadBalancers',
      'autoscaling:DetachLoadBalancerTargetGroups',
      'autoscaling:DetachTrafficSources',
      'autoscaling:SuspendProcesses',
      'application-autoscaling:RegisterScalableTarget',
      'ecs:UpdateService',
      'eks:UpdateNodegroupConfig',
      'lambda:PutFunctionConcurrency',
      'ec2:StopInstances',
      'ec2:DetachVolume',
      'ec2:DetachInternetGateway',
      'ec2:DetachNetworkInterface',
      'ec2:DisassociateAddress',
      'rds:StopDBInstance',
      'rds:StopDBCluster',
      'redshift:PauseCluster',
      'sagemaker:UpdateEndpointWeightsAndCapacities',
      'apprunner:PauseService',
      'cloudfront:UpdateDistribution',
      'elasticloadbalancing:SetSubnets',
    ],
  },
  'data-expiry': {
    description: 'Rules that expire or destroy data later: lifecycle, retention, TTL and key deletion.',
    actions: [
      's3:PutLifecycleConfiguration',
      'kms:ScheduleKeyDeletion',
      'backup:PutBackupVaultAccessPolicy',
      'backup:UpdateRecoveryPointLifecycle',
      'backup:UpdateBackupPlan',
      'logs:PutRetentionPolicy',
      'dynamodb:UpdateTimeToLive',
      'ecr:PutLifecyclePolicy',
      'dlm:UpdateLifecyclePolicy',
      'kinesis:DecreaseStreamRetentionPeriod',
      'timestream:UpdateTable',
    ],
  },
  'dns-delete': {
    description: 'Route 53 change batches that DELETE records.',
    conditional: [
      {
        why: 'ChangeResourceRecordSets is destructive only when a change in the batch is a DELETE.',
        actions: ['route53:ChangeResourceRecordSets'],
        condition: { 'ForAnyValue:StringEquals': { 'route53:ChangeResourceRecordSetsActions': 'DELETE' } },
      },
    ],
  },
  'resource-policy': {
    description: 'Resource-based policy and ACL writes, which a permission boundary does not cap (threat 7).',
    actions: [
      's3:PutBucketPolicy',
      's3:PutBucketAcl',
      's3:PutObjectAcl',
      's3:PutAccessPointPolicy',
      's3:PutBucketPublicAccessBlock',
      's3:PutAccountPublicAccessBlock',
      'kms:PutKeyPolicy',
      'kms:CreateGrant',
      'lambda:AddPermission',
      'lambda:AddLayerVersionPermission',
      'lambda:CreateFunctionUrlConfig',
      'lambda:UpdateFunctionUrlConfig',
      'sns:AddPermission',
      'sns:SetTopicAttributes',
      'sqs:AddPermission',
      'sqs:SetQueueAttributes',
      'secretsmanager:PutResourcePolicy',
      'ecr:SetRepositoryPolicy',
      'glacier:SetVaultAccessPolicy',
      'events:PutPermission',
      'logs:PutResourcePolicy',
      'glue:PutResourcePolicy',
      'dynamodb:PutResourcePolicy',
      'elasticfilesystem:PutFileSystemPolicy',
      'kinesis:PutResourcePolicy',
      'ram:CreateResourceShare',
      'ram:AssociateResourceShare',
      'apigateway:UpdateRestApiPolicy',
      'codeartifact:PutRepositoryPermissionsPolicy',
    ],
  },
  'remote-execution': {
    description: "Running commands inside existing compute, which acts with that compute's role, not the agent's.",
    actions: [
      'ssm:SendCommand',
      'ssm:StartSession',
      'ssm:StartAutomationExecution',
      'ecs:ExecuteCommand',
      'ec2-instance-connect:SendSSHPublicKey',
      'ec2-instance-connect:SendSerialConsoleSSHPublicKey',
    ],
  },
};
