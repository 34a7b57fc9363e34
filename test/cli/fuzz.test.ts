import fc from 'fast-check';
import {
  builtInGroupNames,
  resolveApprovalActions,
  validateApprovalResources,
} from '../../lib/core/approval/approval-scope';
import { formatDuration, parseDuration } from '../../lib/core/approval/duration';
import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';
import { apiRequestSchema } from '../../lib/core/approval-api';
import { DryRunPlan } from '../../bin/cli/dry-run';
import { AGENT_ROLE_ARN, APPROVE_FLAGS, cli, COMMANDS, FUNCTION_URL, INSTANCE_ARN, NOW, okReply } from './cli-fixture';

const catalog = resolveCatalog();
/** The approval function's own rule for role ARNs: the CLI must accept exactly what it accepts. */
const isRoleArn = (value: string) => apiRequestSchema.safeParse({ op: 'list', roleArn: value }).success;

interface Scope {
  role: string;
  actions: string[];
  resources: string[];
  duration: string;
}

const GOOD: Scope = {
  role: AGENT_ROLE_ARN,
  actions: ['ec2:TerminateInstances'],
  resources: [INSTANCE_ARN],
  duration: '30m',
};

/** `--flag=value` keeps a value that starts with `-` a value. */
function argsOf(scope: Scope): string[] {
  return [
    `--role=${scope.role}`,
    ...scope.actions.map((a) => `--actions=${a}`),
    ...scope.resources.map((r) => `--resources=${r}`),
    `--duration=${scope.duration}`,
    '--reason=fuzzing',
  ];
}

/** What the CLI must accept, decided independently of it. */
function isValid(scope: Scope): boolean {
  try {
    const seconds = parseDuration(scope.duration);
    if (seconds < 60 || seconds > 31 * 86400) return false;
    if (!isRoleArn(scope.role)) return false;
    const actions = scope.actions.flatMap((a) => a.split(/[\s,]+/)).filter((a) => a !== '');
    if (actions.length === 0 || actions.length > 50 || actions.some((a) => a.length > 128)) return false;
    const resolved = resolveApprovalActions(actions, catalog);
    const [, partition, , , account] = scope.role.split(':');
    validateApprovalResources(
      { actions: resolved, requested: actions, resources: scope.resources },
      { partition, account },
    );
    return scope.resources.length <= 20;
  } catch {
    return false;
  }
}

/** Runs `approve` with a recording transport; checks the exit code contract on the way. */
async function approve(scope: Scope): Promise<{ code: number; sent: unknown[]; stderr: string }> {
  const sent: unknown[] = [];
  const result = await cli(['approve', ...argsOf(scope)], {
    env: { AGENT_GUARD_URL: FUNCTION_URL },
    transport: () => (body) => {
      sent.push(body);
      return Promise.resolve(okReply('ok'));
    },
  });
  expect([0, 1, 2]).toContain(result.code);
  return { code: result.code, sent, stderr: result.stderr };
}

const durationText = fc.oneof(
  fc.string(),
  fc.stringMatching(/^(\d{1,3}d)?(\d{1,3}h)?(\d{1,3}m)?(\d{1,4}s)?$/),
  fc.stringMatching(/^\s?\d{0,3}[smhdx]?\d{0,2}[smh]?\s?$/),
);
const roleText = fc.oneof(
  fc.string(),
  fc.stringMatching(/^arn:aws:iam::\d{12}:role\/[\w+=,.@/-]{1,70}$/),
  fc.stringMatching(/^arn:aws(-cn|-us-gov|):(iam|sts)::\d{10,13}:(role|user|assumed-role)\/[\w/-]{0,20}$/),
);
const actionText = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      ...builtInGroupNames(),
      'ec2:Terminate*',
      'ec2:DeleteVpc',
      's3:Delete*',
      'ec2:*',
      'iam:Get*',
    ),
    weight: 4,
  },
  fc.string(),
  fc.stringMatching(/^[a-z0-9]{2,4}:[A-Za-z*?]{1,10}$/),
);
const resourceText = fc.oneof(
  { arbitrary: fc.constantFrom('*', INSTANCE_ARN, 'arn:aws:s3:::bucket', 'arn:aws:ec2:*:*:instance/*'), weight: 4 },
  fc.string(),
  fc.stringMatching(/^arn:(aws|\*):[a-z0-9*-]{0,6}:[a-z0-9-]{0,10}:(\d{12}|\*)?:[\w/*:-]{0,12}$/),
);

describe('fuzzing: run() never throws, exits 0, 1 or 2, and sends nothing for invalid input', () => {
  test('durations', async () => {
    await fc.assert(
      fc.asyncProperty(durationText, async (duration) => {
        const scope = { ...GOOD, duration };
        const { code, sent } = await approve(scope);
        if (isValid(scope)) {
          expect(code).toBe(0);
          expect(sent).toEqual([expect.objectContaining({ durationSeconds: parseDuration(duration) })]);
        } else {
          expect(code).toBe(2);
          expect(sent).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('role ARNs', async () => {
    await fc.assert(
      fc.asyncProperty(roleText, async (role) => {
        const scope = { ...GOOD, role };
        const { code, sent } = await approve(scope);
        expect(code).toBe(isValid(scope) ? 0 : 2);
        expect(sent).toHaveLength(isValid(scope) ? 1 : 0);
      }),
      { numRuns: 300 },
    );
  });

  test('scopes: actions and resources', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(actionText, { minLength: 1, maxLength: 3 }),
        fc.array(resourceText, { minLength: 1, maxLength: 3 }),
        async (actions, resources) => {
          const scope = { ...GOOD, actions, resources };
          const { code, sent } = await approve(scope);
          expect(code).toBe(isValid(scope) ? 0 : 2);
          expect(sent).toHaveLength(isValid(scope) ? 1 : 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('any command line', async () => {
    const word = fc.oneof(
      fc.constantFrom(
        ...COMMANDS,
        'help',
        ...APPROVE_FLAGS,
        '--uses',
        '--json',
        '--dry-run',
        '--break-glass',
        '--all',
        '--url',
        '--parameter',
        AGENT_ROLE_ARN,
        INSTANCE_ARN,
        'ec2:Terminate*',
        '30m',
        'abcd0001efgh',
      ),
      fc.string(),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(word, { maxLength: 12 }), fc.boolean(), async (words, succeed) => {
        const result = await cli(words, {
          env: { AGENT_GUARD_URL: FUNCTION_URL },
          transport: () => () =>
            Promise.resolve(
              succeed ? okReply('ok') : { statusCode: 403, body: '{"ok":false,"refused":true,"message":"no"}' },
            ),
          readParameter: () => Promise.resolve(undefined),
        });
        expect([0, 1, 2]).toContain(result.code);
      }),
      { numRuns: 300 },
    );
  });
});

describe('durations round-trip', () => {
  test('every duration from 1m to 1h: formatDuration → parseDuration is the identity', () => {
    fc.assert(
      fc.property(fc.integer({ min: 60, max: 3600 }), (seconds) => {
        expect(parseDuration(formatDuration(seconds))).toBe(seconds);
      }),
      { numRuns: 1000 },
    );
  });

  test('written as h/m/s parts, a duration parses to its seconds and formats to the same seconds', () => {
    const parts = fc
      .record({
        h: fc.integer({ min: 0, max: 1 }),
        m: fc.integer({ min: 0, max: 90 }),
        s: fc.integer({ min: 0, max: 150 }),
      })
      .filter(({ h, m, s }) => h * 3600 + m * 60 + s >= 60 && h * 3600 + m * 60 + s <= 3600);
    fc.assert(
      fc.property(parts, ({ h, m, s }) => {
        const text = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
        const seconds = h * 3600 + m * 60 + s;
        expect(parseDuration(text)).toBe(seconds);
        expect(parseDuration(formatDuration(seconds))).toBe(seconds);
      }),
    );
  });

  test('the dry run expires exactly the duration after now', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 60, max: 3600 }), async (seconds) => {
        const result = await cli(
          ['approve', ...argsOf({ ...GOOD, duration: formatDuration(seconds) }), '--dry-run', '--json'],
          {},
        );
        expect(result.code).toBe(0);
        const plan = JSON.parse(result.stdout) as DryRunPlan;
        expect((new Date(plan.expiresAt).getTime() - NOW.getTime()) / 1000).toBe(seconds);
      }),
      { numRuns: 25 },
    );
  });
});
