import { ConditionalCheckFailedException, DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

type Item = Record<string, unknown>;
type Values = Record<string, unknown>;

function validation(message: string): DynamoDBServiceException {
  return new DynamoDBServiceException({
    name: 'ValidationException',
    $fault: 'client',
    message,
    $metadata: { httpStatusCode: 400 },
  });
}

/**
 * A condition expression of DynamoDB's grammar, as far as leases use it: `attribute_exists(p)`,
 * `attribute_not_exists(p)`, comparisons (`= <> < <= > >=`) of paths and `:values`, `AND`, `OR`, `NOT`
 * and parentheses. Names and values must be supplied and all be used, and a comparison with a
 * missing attribute is false (DDB-6, DDB-8).
 */
export function evaluateCondition(expression: string, item: Item | undefined, names: Values, values: Values): boolean {
  const tokens = expression.match(/\(|\)|<>|<=|>=|=|<|>|,|[#:]?[A-Za-z_][A-Za-z0-9_]*/g) ?? [];
  if (tokens.join('').length !== expression.replace(/\s+/g, '').length) {
    throw validation(`Invalid ConditionExpression: ${expression}`);
  }
  const usedNames = new Set<string>();
  const usedValues = new Set<string>();
  let at = 0;
  const peek = () => tokens[at];
  const take = (expected?: string) => {
    const token = tokens[at++];
    if (token === undefined || (expected !== undefined && token.toUpperCase() !== expected)) {
      throw validation(`Invalid ConditionExpression: expected ${expected ?? 'more'} in ${expression}`);
    }
    return token;
  };
  const path = (token: string): string => {
    if (token.startsWith('#')) {
      usedNames.add(token);
      const name = names[token];
      if (typeof name !== 'string') throw validation(`An expression attribute name used is not defined: ${token}`);
      return name;
    }
    if (token.startsWith(':')) throw validation(`A value cannot stand where a path must: ${token}`);
    return token;
  };
  const operand = (): { value: unknown; present: boolean } => {
    const token = take();
    if (token.startsWith(':')) {
      usedValues.add(token);
      if (!(token in values)) throw validation(`An expression attribute value used is not defined: ${token}`);
      return { value: values[token], present: true };
    }
    const name = path(token);
    return { value: item?.[name], present: item !== undefined && name in item };
  };
  const primary = (): boolean => {
    const token = peek();
    if (token === '(') {
      take('(');
      const inner = or();
      take(')');
      return inner;
    }
    if (token?.toUpperCase() === 'NOT') {
      take('NOT');
      return !primary();
    }
    if (token === 'attribute_exists' || token === 'attribute_not_exists') {
      take();
      take('(');
      const name = path(take());
      take(')');
      const exists = item !== undefined && name in item;
      return token === 'attribute_exists' ? exists : !exists;
    }
    const left = operand();
    const op = take();
    const right = operand();
    if (!left.present || !right.present) return false;
    const [a, b] = [left.value, right.value] as [number | string, number | string];
    if (typeof a !== typeof b) return op === '<>';
    switch (op) {
      case '=':
        return a === b;
      case '<>':
        return a !== b;
      case '<':
        return a < b;
      case '<=':
        return a <= b;
      case '>':
        return a > b;
      case '>=':
        return a >= b;
      default:
        throw validation(`Invalid ConditionExpression: unknown operator ${op}`);
    }
  };
  const and = (): boolean => {
    let result = primary();
    while (peek()?.toUpperCase() === 'AND') {
      take('AND');
      const right = primary();
      result = result && right;
    }
    return result;
  };
  const or = (): boolean => {
    let result = and();
    while (peek()?.toUpperCase() === 'OR') {
      take('OR');
      const right = and();
      result = result || right;
    }
    return result;
  };
  const result = or();
  if (at !== tokens.length) throw validation(`Invalid ConditionExpression: trailing ${tokens[at]}`);
  const unusedName = Object.keys(names).find((n) => !usedNames.has(n));
  if (unusedName) throw validation(`Value provided in ExpressionAttributeNames unused in expressions: ${unusedName}`);
  const unusedValue = Object.keys(values).find((v) => !usedValues.has(v));
  if (unusedValue)
    throw validation(`Value provided in ExpressionAttributeValues unused in expressions: ${unusedValue}`);
  return result;
}

/**
 * The guard's lease table: partition key `pk`, with DynamoDB's conditional-write semantics for
 * `PutItem` and `DeleteItem` (a false condition is a `ConditionalCheckFailedException` and writes
 * nothing) and strongly consistent `GetItem`. Every call waits for `delay()` first, so tests can hold a
 * call and let another invocation run meanwhile.
 */
export class FakeLeaseTable {
  public readonly items = new Map<string, Item>();
  /** Every call, in order, by command name and key. */
  public readonly log: { command: string; pk: string; ok: boolean }[] = [];
  /** Awaited before each call; replace to slow calls down or to hold them. */
  public delay: (command: string, pk: string) => Promise<void> = () => Promise.resolve();

  constructor(public readonly tableName = 'AgentGuardRoleLeases') {}

  /** A DynamoDB document client whose calls reach this table. */
  public client(): DynamoDBDocumentClient {
    return { send: (command: unknown) => this.send(command) } as unknown as DynamoDBDocumentClient;
  }

  public async send(command: unknown): Promise<unknown> {
    const { input } = command as { input: { TableName?: string; Key?: Item; Item?: Item } };
    if (input.TableName !== this.tableName) throw new Error(`fake DynamoDB: no table ${input.TableName}`);
    const key = input.Item ?? input.Key ?? {};
    if (typeof key.pk !== 'string' || key.pk === '') throw validation('The key pk must be a non-empty string');
    if (input.Key && Object.keys(input.Key).length !== 1) throw validation('The key has attributes beyond pk');
    const pk = key.pk;
    const name = (command as object).constructor.name.replace(/Command$/, '');
    await this.delay(name, pk);
    const existing = this.items.get(pk);
    if (command instanceof GetCommand) {
      this.log.push({ command: name, pk, ok: true });
      return { Item: existing && { ...existing } };
    }
    if (!(command instanceof PutCommand) && !(command instanceof DeleteCommand)) {
      throw new Error(`fake DynamoDB does not implement ${name}`);
    }
    const { ConditionExpression, ExpressionAttributeNames = {}, ExpressionAttributeValues = {} } = command.input;
    const holds =
      ConditionExpression === undefined ||
      evaluateCondition(ConditionExpression, existing, ExpressionAttributeNames, ExpressionAttributeValues);
    this.log.push({ command: name, pk, ok: holds });
    if (!holds) {
      throw new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: { httpStatusCode: 400 },
      });
    }
    if (command instanceof PutCommand) this.items.set(pk, { ...command.input.Item });
    else this.items.delete(pk);
    return {};
  }
}
