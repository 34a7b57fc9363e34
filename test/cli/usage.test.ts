import { AGENT_ROLE_ARN, cli, FUNCTION_URL, GOOD_SCOPE, INSTANCE_ARN } from './cli-fixture';

/** GOOD_SCOPE with one flag's value replaced, or the flag dropped (value undefined). */
function scopeWith(flag: string, value: string | undefined): string[] {
  const args = [...GOOD_SCOPE];
  const at = args.indexOf(flag);
  if (value === undefined) args.splice(at, 2);
  else args[at + 1] = value;
  return args;
}

interface UsageCase {
  readonly name: string;
  readonly args: readonly string[];
  /** What the message must say, so the user knows what to change. */
  readonly says: RegExp;
}

const CASES: UsageCase[] = [
  { name: 'missing --reason', args: ['approve', ...scopeWith('--reason', undefined)], says: /needs --reason TEXT/ },
  {
    name: 'missing every scope flag',
    args: ['approve'],
    says: /needs --role ARN, --actions GROUP\|ACTION\.\.\., --resources ARN\.\.\., --duration D, --reason TEXT \(or only --id ID/,
  },
  { name: 'blank --reason', args: ['approve', ...scopeWith('--reason', '   ')], says: /--reason must not be blank/ },
  {
    name: "--duration '10x'",
    args: ['approve', ...scopeWith('--duration', '10x')],
    says: /--duration: '10x' is not a duration\. Write it like 30m, 1h, 1h30m or 90s\./,
  },
  {
    name: "--duration '0m'",
    args: ['approve', ...scopeWith('--duration', '0m')],
    says: /--duration '0m' is shorter than 1m\. Write at least 1m/,
  },
  {
    name: "--duration ''",
    args: ['approve', ...scopeWith('--duration', '')],
    says: /--duration: '' is not a duration\. Write it like 30m/,
  },
  { name: '--duration 59s', args: ['approve', ...scopeWith('--duration', '59s')], says: /shorter than 1m/ },
  { name: '--duration 32d', args: ['approve', ...scopeWith('--duration', '32d')], says: /over 31d/ },
  {
    name: 'a role ARN that is not one',
    args: ['approve', ...scopeWith('--role', 'arn:aws:iam::1234:role/agent')],
    says: /--role 'arn:aws:iam::1234:role\/agent' is not an IAM role ARN\. Write it like arn:aws:iam::111122223333:role\/my-agent/,
  },
  {
    name: 'a session ARN for --role',
    args: ['approve', ...scopeWith('--role', 'arn:aws:sts::111122223333:assumed-role/agent/s1')],
    says: /is a session ARN\. Give the role ARN instead: arn:aws:iam::111122223333:role\/agent/,
  },
  {
    name: 'an unknown action',
    args: ['approve', ...scopeWith('--actions', 'ec2:TerminateEverything')],
    says: /--actions: 'ec2:TerminateEverything' matches no protected action, so it needs no approval\. Check the spelling\./,
  },
  {
    name: 'an unknown group',
    args: ['approve', ...scopeWith('--actions', 'destroy')],
    says: /--actions: 'destroy' is neither a protected group \(.*delete.*\) nor an action such as ec2:TerminateInstances\./,
  },
  {
    name: "a bare '*' resource",
    args: ['approve', ...scopeWith('--resources', '*')],
    says: /--resources: A bare '\*' would lift the deny on every resource\. Name the resources/,
  },
  {
    name: 'a resource that is not an ARN',
    args: ['approve', ...scopeWith('--resources', 'i-0abc')],
    says: /--resources: 'i-0abc' is not a resource ARN\. For example .*arn:aws:ec2:[a-z0-9-]+:\d{12}:instance\/example \(ec2:TerminateInstances\)/,
  },
  {
    name: '--uses 2',
    args: ['approve', ...GOOD_SCOPE, '--uses', '2'],
    says: /only single-use approvals exist\. Write --uses 1/,
  },
  {
    name: '--id together with --role',
    args: ['approve', '--id', 'abcd0001efgh', '--role', AGENT_ROLE_ARN],
    says: /--id approves a pending request as it was asked for, so leave out --role\./,
  },
  {
    name: '--id together with the whole scope and --dry-run',
    args: ['approve', '--id', 'abcd0001efgh', ...GOOD_SCOPE, '--dry-run'],
    says: /leave out --role, --actions, --resources, --duration, --dry-run\./,
  },
  { name: 'a malformed --id', args: ['approve', '--id', 'ABC'], says: /--id 'ABC' is not an approval id/ },
  { name: 'revoke without --id', args: ['revoke'], says: /revoke needs --id ID/ },
  { name: 'list with a bad --role', args: ['list', '--role', 'agent'], says: /--role 'agent' is not an IAM role ARN/ },
  { name: 'an unknown command', args: ['destroy'], says: /error: unknown command 'destroy'/ },
  { name: 'an unknown option', args: ['approve', ...GOOD_SCOPE, '--force'], says: /error: unknown option '--force'/ },
  {
    name: 'an option without its value',
    args: ['approve', '--duration'],
    says: /option '--duration <duration>' argument missing/,
  },
  { name: 'an extra argument', args: ['list', 'everything'], says: /too many arguments/ },
  { name: 'no command at all', args: [], says: /Usage: agent-guard/ },
  {
    name: 'a --url that is not a URL',
    args: ['approve', ...GOOD_SCOPE, '--url', 'lambda'],
    says: /--url 'lambda' is not a URL/,
  },
];

describe('usage errors: exit 2, nothing sent, a message that says what to change', () => {
  test.each(CASES)('$name', async ({ args, says }) => {
    const transport = jest.fn(() => () => Promise.reject(new Error('sent')));
    const readParameter = jest.fn(() => Promise.resolve(FUNCTION_URL));
    const result = await cli(args, { transport, readParameter, env: {} });

    expect(result.stderr).toMatch(says);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(transport).not.toHaveBeenCalled();
    expect(readParameter).not.toHaveBeenCalled();
  });

  test('the same scope, valid, does reach the transport (so the cases above fail for their own reason)', async () => {
    const transport = jest.fn(() => () => Promise.resolve({ statusCode: 200, body: '{"ok":true,"message":"fine"}' }));
    const result = await cli(['approve', ...GOOD_SCOPE], { transport, env: { AGENT_GUARD_URL: FUNCTION_URL } });
    expect(result.code).toBe(0);
    expect(transport).toHaveBeenCalledTimes(1);
  });

  test('actions may be given as several words or comma-separated', async () => {
    const sent: unknown[] = [];
    const transport = () => (body: unknown) => {
      sent.push(body);
      return Promise.resolve({ statusCode: 200, body: '{"ok":true,"message":"fine"}' });
    };
    const args = scopeWith('--actions', 'ec2:TerminateInstances,rds:DeleteDBInstance');
    const result = await cli(['approve', ...args, '--actions', 'delete'], {
      transport,
      env: { AGENT_GUARD_URL: FUNCTION_URL },
    });
    expect(result.code).toBe(0);
    expect(sent[0]).toMatchObject({ actions: ['ec2:TerminateInstances', 'rds:DeleteDBInstance', 'delete'] });
    expect(sent[0]).toMatchObject({ resources: [INSTANCE_ARN] });
  });
});
