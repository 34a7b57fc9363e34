import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { AwsCaller } from '../shared/aws-caller';
import { ApprovalRecord, ApprovalStatus } from '../../lib/core/approval-api';
import { APPROVALS_STATUS_INDEX } from '../../lib/core/config';

/** Name of the index by status, sorted by `sortAt`. */

/** The audit table: one item per approval, rewritten as it moves on; agents cannot write it. */
export class ApprovalStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly caller: AwsCaller,
    private readonly tableName: string,
  ) {}

  public async get(approvalId: string): Promise<ApprovalRecord | undefined> {
    const { Item } = await this.caller.call('dynamodb:GetItem', () =>
      this.ddb.send(new GetCommand({ TableName: this.tableName, Key: { approvalId }, ConsistentRead: true })),
    );
    return Item as ApprovalRecord | undefined;
  }

  /** Writes a new record; fails if the id is taken. */
  public async create(record: ApprovalRecord): Promise<void> {
    await this.caller.call('dynamodb:PutItem', () =>
      this.ddb.send(
        new PutCommand({
          TableName: this.tableName,
          Item: record,
          ConditionExpression: 'attribute_not_exists(approvalId)',
        }),
      ),
    );
  }

  /** Replaces a record, only if nobody changed its status meanwhile. */
  public async update(record: ApprovalRecord, expectedStatus: ApprovalStatus): Promise<void> {
    await this.caller.call('dynamodb:PutItem', () =>
      this.ddb.send(
        new PutCommand({
          TableName: this.tableName,
          Item: record,
          ConditionExpression: '#status = :expected',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':expected': expectedStatus },
        }),
      ),
    );
  }

  /** Records in one status, optionally only those whose `sortAt` is at or before `until`. */
  public async byStatus(status: ApprovalStatus, until?: string): Promise<ApprovalRecord[]> {
    const records: ApprovalRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.caller.call('dynamodb:Query', () =>
        this.ddb.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: APPROVALS_STATUS_INDEX,
            KeyConditionExpression: until ? '#status = :status AND sortAt <= :until' : '#status = :status',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: until ? { ':status': status, ':until': until } : { ':status': status },
            ExclusiveStartKey: start,
          }),
        ),
      );
      records.push(...((page.Items ?? []) as ApprovalRecord[]));
      start = page.LastEvaluatedKey;
    } while (start);
    return records;
  }
}
