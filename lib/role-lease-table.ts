import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { GUARD_NAME_PREFIX, LOCK_DECISION_KEY, ROLE_LEASE_PREFIX } from './core/contract';

/** Partition key of the lease table: an item per role (`role#<name>`), and the lock decision. */
const LEASE_KEY = 'pk';
/** Epoch seconds after which a lease is free; DynamoDB's TTL deletes the item some time later. */
const LEASE_EXPIRY = 'expiresAt';

/**
 * The table of per-role leases that serialise the writes of the guard and the approval function to
 * one role (lambda/shared/role-lease.ts). Its name starts with the guard prefix, so the boundary keeps
 * agents from writing it: an agent that held its own role's lease could keep the guard off the role.
 * It holds nothing worth keeping (a lease lasts under a minute), so it goes with the stack.
 */
export function roleLeaseTable(scope: Construct, id: string, key: kms.IKey): dynamodb.Table {
  return new dynamodb.Table(scope, id, {
    tableName: `${GUARD_NAME_PREFIX}RoleLeases`,
    partitionKey: { name: LEASE_KEY, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: key,
    timeToLiveAttribute: LEASE_EXPIRY,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

/**
 * Lets `role` take and release role leases, and nothing else on the table: `PutItem` and `DeleteItem`
 * on role items only (`dynamodb:LeadingKeys`), and the table's key through DynamoDB only. With
 * `lockDecisions` (the guard), also record and read the latest lock decision.
 */
export function grantRoleLeases(
  table: dynamodb.ITable,
  key: kms.IKey,
  role: iam.IRole,
  options: { readonly lockDecisions: boolean },
): void {
  const onKeys = (keys: string[]) => ({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': keys } });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'RoleLeases',
      actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resources: [table.tableArn],
      conditions: onKeys([`${ROLE_LEASE_PREFIX}*`]),
    }),
  );
  if (options.lockDecisions) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'LockDecisions',
        actions: ['dynamodb:PutItem', 'dynamodb:GetItem'],
        resources: [table.tableArn],
        conditions: onKeys([LOCK_DECISION_KEY]),
      }),
    );
  }
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'RoleLeasesKey',
      actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(table).region}.amazonaws.com` } },
    }),
  );
}
