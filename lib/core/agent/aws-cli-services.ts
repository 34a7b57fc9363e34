/**
 * AWS CLI service names (`aws <service> ...`) whose IAM service prefix is spelled differently. Every
 * other CLI service name is its IAM prefix (`ec2`, `lambda`, `rds`, `cloudformation`, ...). Each pair
 * is from the service's IAM reference page ("Actions, resources, and condition keys for <service>",
 * which names the prefix) and the AWS CLI command reference.
 */
export const CLI_SERVICE_PREFIXES: Readonly<Record<string, string>> = {
  s3api: 's3',
  s3control: 's3',
  elbv2: 'elasticloadbalancing',
  elb: 'elasticloadbalancing',
  apigatewayv2: 'apigateway',
  stepfunctions: 'states',
  opensearch: 'es',
  sesv2: 'ses',
  configservice: 'config',
  deploy: 'codedeploy',
  emr: 'elasticmapreduce',
  efs: 'elasticfilesystem',
  // DocumentDB and Neptune are managed through RDS's API and IAM actions.
  docdb: 'rds',
  neptune: 'rds',
  dynamodbstreams: 'dynamodb',
  kinesisanalyticsv2: 'kinesisanalytics',
  'lexv2-models': 'lex',
  'lex-models': 'lex',
  mwaa: 'airflow',
  pinpoint: 'mobiletargeting',
  'sso-admin': 'sso',
  'timestream-write': 'timestream',
  cloudhsmv2: 'cloudhsm',
  resourcegroupstaggingapi: 'tag',
  // Cloud Control's DeleteResource is authorised as cloudformation:DeleteResource.
  cloudcontrol: 'cloudformation',
  'bedrock-agent': 'bedrock',
  'iot-data': 'iot',
};

/**
 * CLI operations whose IAM action is not the operation's own name (kebab-case to PascalCase). S3's
 * sub-resource deletes are authorised by the matching `Put` action, and a multi-object delete by
 * `s3:DeleteObject` (S3 API reference, "DeleteObjects", "DeleteBucketLifecycle", ...). The CLI's
 * `emr terminate-clusters` calls the TerminateJobFlows API.
 */
export const CLI_OPERATION_ACTIONS: Readonly<Record<string, string>> = {
  'elasticmapreduce:terminate-clusters': 'elasticmapreduce:TerminateJobFlows',
  's3:delete-objects': 's3:DeleteObject',
  's3:delete-bucket-lifecycle': 's3:PutLifecycleConfiguration',
  's3:delete-bucket-cors': 's3:PutBucketCORS',
  's3:delete-bucket-encryption': 's3:PutEncryptionConfiguration',
  's3:delete-bucket-replication': 's3:PutReplicationConfiguration',
  's3:delete-bucket-tagging': 's3:PutBucketTagging',
  's3:delete-public-access-block': 's3:PutBucketPublicAccessBlock',
  's3:delete-bucket-ownership-controls': 's3:PutBucketOwnershipControls',
};
