import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Template } from 'aws-cdk-lib/assertions';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import fc from 'fast-check';
import { AgentGuard } from '../../lib';
import { formatDuration } from '../../lib/core/approval/duration';
import { APPROVALS_CONFIG_ENV, ApprovalsConfig } from '../../lib/core/config';
import { loadApprovalsConfig } from '../../lambda/approvals/config';
import { DryRunPlan, PARTITIONS } from '../../bin/cli/dry-run';
import { ERROR_LINE_MAX_CHARS } from '../../bin/cli/errors';
import { ANSI_ESCAPE } from '../../bin/cli/style';
import { resolveIntrinsics } from '../support/guarded-role';
import {
  AGENT_ROLE_ARN,
  ApprovalsHarness,
  cannedTransport,
  cli,
  FUNCTION_URL,
  LOCKED_STATUS,
  GOOD_SCOPE,
  INSTANCE_ARN,
  okReply,
  record,
} from './cli-fixture';

/** GOOD_SCOPE with one flag's value replaced. */
function scopeWith(flag: string, value: string): string[] {
  const args = [...GOOD_SCOPE];
  args[args.indexOf(flag) + 1] = value;
  return args;
}

// eslint-disable-next-line no-control-regex
const ESC = /\x1b/;

describe('--version', () => {
  const packageVersion = (
    JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string }
  ).version;

  test.each([['--version'], ['-V']])('%s prints the version of package.json and exits 0', async (flag) => {
    const result = await cli([flag]);
    expect(result).toEqual({ code: 0, stdout: `${packageVersion}\n`, stderr: '' });
  });

  test('the help lists --version', async () => {
    expect((await cli(['--help'])).stdout).toMatch(/-V, --version\s+print the version/);
  });
});

describe('--profile', () => {
  test('signs with the profile and reads SSM with it; the flag wins over AWS_PROFILE', async () => {
    const { transport, sent } = cannedTransport(okReply('0 approval(s).'));
    const readParameter = jest.fn(() => Promise.resolve(FUNCTION_URL));
    const env = { AWS_REGION: 'eu-west-1', AWS_PROFILE: 'from-env' };

    let result = await cli(['list', '--profile', 'oncall'], { transport, readParameter, env });
    expect(result.code).toBe(0);
    expect(readParameter).toHaveBeenLastCalledWith('/agent-guard/approvals-url', {
      region: 'eu-west-1',
      profile: 'oncall',
    });
    expect(sent[0]).toMatchObject({ region: 'eu-west-1', profile: 'oncall' });

    result = await cli(['list'], { transport, readParameter, env });
    expect(result.code).toBe(0);
    expect(readParameter).toHaveBeenLastCalledWith('/agent-guard/approvals-url', {
      region: 'eu-west-1',
      profile: 'from-env',
    });
    expect(sent[1]).toMatchObject({ profile: 'from-env' });
  });

  test('without --region or AWS_REGION, the region of the profile is used', async () => {
    const { transport, sent } = cannedTransport(okReply('0 approval(s).'));
    const readParameter = jest.fn(() => Promise.resolve(FUNCTION_URL));
    const profileRegion = jest.fn((profile: string | undefined) =>
      Promise.resolve(profile === 'oncall' ? 'eu-north-1' : undefined),
    );
    const result = await cli(['list', '--profile', 'oncall'], { transport, readParameter, profileRegion });
    expect(result.code).toBe(0);
    expect(profileRegion).toHaveBeenCalledWith('oncall');
    expect(readParameter).toHaveBeenCalledWith('/agent-guard/approvals-url', {
      region: 'eu-north-1',
      profile: 'oncall',
    });
    expect(sent[0].url).toBe(FUNCTION_URL);
  });

  test('every command that calls AWS takes --profile', async () => {
    for (const command of ['approve', 'request', 'revoke', 'list', 'status']) {
      expect((await cli([command, '--help'])).stdout).toContain('--profile <name>');
    }
  });
});

describe('a missing region', () => {
  const noRegion = {
    readParameter: jest.fn(() => Promise.resolve(FUNCTION_URL)),
    profileRegion: () => Promise.resolve(undefined),
    env: {},
  };

  test.each([
    ['list', ['list']],
    ['approve', ['approve', ...GOOD_SCOPE]],
    ['revoke', ['revoke', '--id', 'abcd0001efgh']],
    ['status', ['status']],
  ])('%s without --region, AWS_REGION or a profile region: exit 2, naming --region and AWS_REGION', async (_, args) => {
    noRegion.readParameter.mockClear();
    const result = await cli(args, noRegion);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^agent-guard: No AWS region for the SSM parameter \/agent-guard\/\S+/);
    expect(result.stderr).toContain('Pass --region REGION');
    expect(result.stderr).toContain('set AWS_REGION');
    expect(noRegion.readParameter).not.toHaveBeenCalled();
  });

  test('with a profile, the message also names the profile', async () => {
    const result = await cli(['list', '--profile', 'oncall'], noRegion);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("or set region in profile 'oncall' of ~/.aws/config");
  });

  test('a URL that is not a Lambda function URL cannot tell its region: the same message', async () => {
    const result = await cli(['list', '--url', 'https://approvals.example.com/'], {
      ...noRegion,
      transport: (url, target) =>
        jest
          .requireActual<typeof import('../../bin/cli/transport')>('../../bin/cli/transport')
          .signedTransport(url, target),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("No AWS region for signing calls to 'approvals.example.com'");
    expect(result.stderr).toContain('Pass --region REGION');
    expect(result.stderr).toContain('set AWS_REGION');
  });

  test('a region that is not one is a usage error, from the flag or from AWS_REGION', async () => {
    let result = await cli(['list', '--region', 'eu west 1'], noRegion);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--region 'eu west 1' is not an AWS region such as us-east-1.");
    result = await cli(['list'], { ...noRegion, env: { AWS_REGION: 'EU' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("AWS_REGION 'EU' is not an AWS region");
  });

  test('every region of every partition passes the check (aws-cdk-lib RegionInfo)', async () => {
    const { transport } = cannedTransport(okReply('0 approval(s).'));
    for (const { name } of RegionInfo.regions) {
      const result = await cli(['list', '--region', name], { ...noRegion, transport });
      expect({ name, code: result.code, stderr: result.stderr }).toEqual({ name, code: 0, stderr: '' });
    }
  });
});

describe('colour on a terminal, plain text otherwise', () => {
  async function status(terminal: { stdout: boolean; stderr: boolean }, env: Record<string, string> = {}) {
    return cli(['status'], {
      readParameter: (name) =>
        Promise.resolve(name === '/agent-guard/status' ? JSON.stringify(LOCKED_STATUS) : undefined),
      transport: cannedTransport(
        okReply('1 approval(s).', [record(), record({ status: 'pending', requestExpiresAt: '2026-05-01T12:45:00Z' })]),
      ).transport,
      env: { AGENT_GUARD_URL: FUNCTION_URL, ...env },
      terminal,
    });
  }

  test('a terminal gets ANSI colour; a pipe gets none; both say the same once the escapes are removed', async () => {
    const tty = await status({ stdout: true, stderr: true });
    const pipe = await status({ stdout: false, stderr: false });
    expect(tty.code).toBe(0);
    expect(tty.stdout).toMatch(ESC);
    expect(tty.stdout).toContain('\x1b[31mLOCKED');
    expect(pipe.stdout).not.toMatch(ESC);
    expect(tty.stdout.replace(ANSI_ESCAPE, '')).toBe(pipe.stdout);
  });

  test('the table keeps its columns in colour', async () => {
    const tty = await status({ stdout: true, stderr: false });
    const pipe = await status({ stdout: false, stderr: false });
    const lines = (text: string) => text.replace(ANSI_ESCAPE, '').split('\n');
    expect(lines(tty.stdout)).toEqual(lines(pipe.stdout));
    expect(pipe.stdout).toMatch(/^ID {12}STATUS {3}KIND/m);
  });

  test.each([
    ['NO_COLOR=1 on a terminal', { stdout: true, stderr: true }, { NO_COLOR: '1' }, false],
    ['FORCE_COLOR=0 on a terminal', { stdout: true, stderr: true }, { FORCE_COLOR: '0' }, false],
    ['FORCE_COLOR=1 into a pipe', { stdout: false, stderr: false }, { FORCE_COLOR: '1' }, true],
    ['CLICOLOR_FORCE into a pipe', { stdout: false, stderr: false }, { CLICOLOR_FORCE: '1' }, true],
    ['NO_COLOR wins over FORCE_COLOR', { stdout: true, stderr: true }, { NO_COLOR: '1', FORCE_COLOR: '1' }, false],
    ['an empty NO_COLOR does not count', { stdout: true, stderr: true }, { NO_COLOR: '' }, true],
  ])('%s', async (_, terminal, env, coloured) => {
    const result = await status(terminal, env);
    expect(ESC.test(result.stdout)).toBe(coloured);
  });

  test('--json is never coloured, even on a terminal', async () => {
    const result = await cli(['approve', ...GOOD_SCOPE, '--dry-run', '--json'], {
      terminal: { stdout: true, stderr: true },
      env: { FORCE_COLOR: '1' },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(ESC);
    expect(() => JSON.parse(result.stdout) as unknown).not.toThrow();
  });

  test('errors are red when stderr is a terminal, plain otherwise, whatever stdout is', async () => {
    const args = ['approve', ...scopeWith('--duration', '10x')];
    const red = await cli(args, { terminal: { stdout: false, stderr: true } });
    const plain = await cli(args, { terminal: { stdout: true, stderr: false } });
    expect(red.stderr.startsWith('\x1b[31magent-guard: --duration')).toBe(true);
    expect(plain.stderr).toMatch(/^agent-guard: --duration/);
    expect(plain.stderr).not.toMatch(ESC);
    expect(red.stderr.replace(ANSI_ESCAPE, '')).toBe(plain.stderr);
    // Commander's own errors too.
    const unknown = await cli(['approve', '--force'], { terminal: { stdout: false, stderr: true } });
    expect(unknown.stderr.startsWith("\x1b[31merror: unknown option '--force'")).toBe(true);
  });
});

/** The approval function's limits as the construct deploys them by default, from the synthesized template. */
function deployedDefaults(): ApprovalsConfig {
  // Bundling skipped: only the template is read.
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
  const agent = new iam.Role(stack, 'Agent', { assumedBy: new iam.AccountRootPrincipal() });
  new AgentGuard(stack, 'Guard', { agentRoles: [agent], approvers: ['arn:aws:iam::*:role/OnCall*'] });
  const resources = Template.fromStack(stack).toJSON().Resources as Parameters<typeof resolveIntrinsics>[1];
  const fn = Object.values(resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName === 'AgentGuardApprovals',
  )!;
  const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  return loadApprovalsConfig({
    [APPROVALS_CONFIG_ENV]: resolveIntrinsics(variables[APPROVALS_CONFIG_ENV], resources) as string,
  });
}

describe('the dry run applies the deployed limits', () => {
  const deployed = deployedDefaults();
  const max = deployed.maxDurationSeconds;
  const breakGlassMax = deployed.breakGlassMaxSeconds;

  test('the deployed defaults are those the issue names: 1h, and 15m for break-glass', () => {
    // A sanity check of the oracle itself; the tests below use the synthesized values.
    expect([max, breakGlassMax]).toEqual([3600, 900]);
  });

  const dryRun = (duration: number, ...extra: string[]) =>
    cli(['approve', ...scopeWith('--duration', formatDuration(duration)), '--dry-run', ...extra]);

  test('up to the deployed maximum is fine; a minute over is refused, naming the maximum', async () => {
    expect((await dryRun(max)).code).toBe(0);
    const over = await dryRun(max + 60);
    expect(over.code).toBe(2);
    expect(over.stdout).toBe('');
    expect(over.stderr).toContain(`is over the maximum of ${formatDuration(max)}; ask for less.`);
    expect(over.stderr).toContain('--max-approval-duration');
  });

  test('break-glass: up to the deployed break-glass maximum', async () => {
    expect((await dryRun(breakGlassMax, '--break-glass')).code).toBe(0);
    const over = await dryRun(breakGlassMax + 60, '--break-glass');
    expect(over.code).toBe(2);
    expect(over.stderr).toContain(`is over the break-glass maximum of ${formatDuration(breakGlassMax)}`);
    expect(over.stderr).toContain('--break-glass-max-duration');
    // The ordinary maximum does not apply to break-glass, nor the break-glass one to an ordinary approval.
    expect((await dryRun(breakGlassMax + 60)).code).toBe(0);
  });

  test('the human output says which maximum it checked', async () => {
    const result = await dryRun(600);
    expect(result.stdout).toMatch(
      new RegExp(`For\\s+10m, within the maximum of ${formatDuration(max)} \\(the deployed default\\)`),
    );
  });

  test('the flags give other limits', async () => {
    expect((await dryRun(max + 3600, '--max-approval-duration', formatDuration(max + 3600))).code).toBe(0);
    const lower = await dryRun(max, '--max-approval-duration', '30m');
    expect(lower.code).toBe(2);
    expect(lower.stderr).toContain(
      'over the maximum of 30m; ask for less. (That maximum is from --max-approval-duration.)',
    );
    expect(
      (
        await dryRun(
          breakGlassMax + 60,
          '--break-glass',
          '--break-glass-max-duration',
          formatDuration(breakGlassMax + 60),
        )
      ).code,
    ).toBe(0);
    const bad = await dryRun(60, '--max-approval-duration', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--max-approval-duration: 'soon' is not a duration");
  });

  test('the limit flags only go with --dry-run, and not with --id', async () => {
    const h = new ApprovalsHarness();
    let result = await h.run(['approve', ...GOOD_SCOPE, '--max-approval-duration', '2h']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--max-approval-duration only go with --dry-run');
    result = await h.run(['approve', '--id', 'abcd0001efgh', '--break-glass-max-duration', '30m']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('leave out --break-glass-max-duration');
    expect(h.sent).toHaveLength(0);
  });

  test('the dry run and the approval function, deployed with the defaults, agree at the boundary', async () => {
    for (const [seconds, breakGlass] of [
      [max, false],
      [max + 60, false],
      [breakGlassMax, true],
      [breakGlassMax + 60, true],
    ] as const) {
      const extra = breakGlass ? ['--break-glass'] : [];
      const dry = await dryRun(seconds, ...extra);
      const h = new ApprovalsHarness({ config: deployed });
      const real = await h.run(['approve', ...scopeWith('--duration', formatDuration(seconds)), ...extra]);
      expect({ seconds, breakGlass, dryOk: dry.code === 0 }).toEqual({ seconds, breakGlass, dryOk: real.code === 0 });
      if (real.code !== 0)
        expect(real.stderr).toContain(dry.stderr.replace(/^agent-guard: /, '').split(' ask for less.')[0]);
    }
  });
});

describe('partitions in the dry run', () => {
  const scope = (role: string, resource: string) => [
    ...scopeWith('--role', role).slice(0, 5),
    resource,
    ...GOOD_SCOPE.slice(6),
  ];
  const published = [...new Set(RegionInfo.regions.map((r) => r.partition))].filter((p): p is string => !!p);
  const role = (partition: string) => `arn:${partition}:iam::444455556666:role/agent`;
  const resource = (partition: string) => `arn:${partition}:ec2:us-east-1:444455556666:instance/i-0abc`;

  test('the partitions are exactly those AWS publishes (aws-cdk-lib RegionInfo)', () => {
    expect([...PARTITIONS].sort()).toEqual([...published].sort());
  });

  test.each(published)('%s: accepted, and the policy ARNs are in it', async (partition) => {
    const result = await cli(['approve', ...scope(role(partition), resource(partition)), '--dry-run', '--json']);
    expect(result.stderr).toBe('');
    const plan = JSON.parse(result.stdout) as DryRunPlan;
    for (const p of plan.policies) expect(p.arn).toMatch(new RegExp(`^arn:${partition}:iam::444455556666:policy/`));
  });

  test.each(['aws-gov', 'aws-china', 'awss', 'aws-iso-z'])('an unknown partition %s is refused', async (partition) => {
    const asRole = await cli(['approve', ...scope(role(partition), resource('aws')), '--dry-run']);
    expect(asRole.code).toBe(2);
    expect(asRole.stderr).toContain(
      `--role '${role(partition)}' is in partition '${partition}', which AWS does not have.`,
    );
    const asResource = await cli(['approve', ...scope(role('aws'), resource(partition)), '--dry-run']);
    expect(asResource.code).toBe(2);
    expect(asResource.stderr).toContain(`names partition '${partition}'; this guard is in aws.`);
  });

  test('mixed partitions are refused, and so is a * partition in a resource pattern (approvals are concrete)', async () => {
    const mixed = await cli(['approve', ...scope(role('aws-us-gov'), resource('aws')), '--dry-run']);
    expect(mixed.code).toBe(2);
    expect(mixed.stdout).toBe('');
    expect(mixed.stderr).toContain(
      `--resources: '${resource('aws')}' names partition 'aws'; this guard is in aws-us-gov.`,
    );
    const any = await cli(['approve', ...scope(role('aws-us-gov'), resource('*')), '--dry-run']);
    expect(any.code).toBe(2);
    expect(any.stderr).toContain(`'${resource('*')}' names partition '*'; this guard is in aws-us-gov.`);
  });

  test('fuzz: accepted exactly when both partitions are known and the same', async () => {
    const known = published;
    const partition = fc.oneof(fc.constantFrom(...known), fc.stringMatching(/^aws(-[a-z]{1,5}){0,2}$/));
    await fc.assert(
      fc.asyncProperty(partition, fc.oneof(partition, fc.constant('*')), async (p, q) => {
        const result = await cli(['approve', ...scope(role(p), resource(q)), '--dry-run', '--json']);
        const ok = known.includes(p) && q === p;
        expect({ p, q, code: result.code }).toEqual({ p, q, code: ok ? 0 : 2 });
      }),
      { numRuns: 60 },
    );
  });
});

describe('--actions delete on a dry run', () => {
  // Resources of many kinds, so that the group's actions on them live in every guard policy.
  const RESOURCES = [
    INSTANCE_ARN,
    'arn:aws:rds:us-east-1:111122223333:db:orders',
    'arn:aws:s3:::orders-archive',
    'arn:aws:dynamodb:us-east-1:111122223333:table/orders',
    'arn:aws:cloudformation:us-east-1:111122223333:stack/orders/1a2b',
    'arn:aws:lambda:us-east-1:111122223333:function:orders',
    'arn:aws:sqs:us-east-1:111122223333:orders',
    'arn:aws:logs:us-east-1:111122223333:log-group:orders',
  ];

  test('says this approval alone does not fit, not that approvals are in force', async () => {
    const args = scopeWith('--actions', 'delete');
    args.splice(args.indexOf('--resources'), 2, '--resources', ...RESOURCES);
    const result = await cli(['approve', ...args, '--dry-run']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toMatch(/in force/);
    expect(result.stderr).toContain('This approval alone does not fit the 3 policies');
    expect(result.stderr).toMatch(
      new RegExp(`It names \\d+ exact action\\(s\\) and ${RESOURCES.length} resource\\(s\\)`),
    );
  });
});

describe('input echoed in errors is capped', () => {
  const HUGE = 100_000;
  const huge = (c = 'a') => c.repeat(HUGE);

  test.each([
    ['an action', ['approve', ...scopeWith('--actions', `ec2:${huge()}`)]],
    ['a group name', ['approve', ...scopeWith('--actions', huge())]],
    ['a role', ['approve', ...scopeWith('--role', `arn:aws:iam::111122223333:role/${huge()}`)]],
    ['a session ARN', ['approve', ...scopeWith('--role', `arn:aws:sts::111122223333:assumed-role/${huge()}/s`)]],
    ['a resource', ['approve', ...scopeWith('--resources', `arn:aws:s3:::${huge()}`)]],
    ['a short bad resource among long text', ['approve', ...scopeWith('--resources', `x${' y'.repeat(HUGE / 2)}`)]],
    ['a duration', ['approve', ...scopeWith('--duration', huge('1'))]],
    ['--uses', ['approve', ...GOOD_SCOPE, '--uses', huge('2')]],
    ['an id', ['approve', '--id', huge('A')]],
    ['a URL', ['list', '--url', `https://${huge()}:x`]],
    ['a region', ['list', '--region', huge()]],
    ['a profile', ['list', '--profile', `${huge()} x`]],
    ['an unknown option', ['approve', `--${huge()}`]],
    ['an unknown command', [huge()]],
    ['a reason', ['approve', ...scopeWith('--reason', huge())]],
  ])('%s of 100,000 characters', async (_, args) => {
    const transport = jest.fn(() => () => Promise.reject(new Error('sent')));
    const result = await cli(args, { transport, env: { AWS_REGION: 'us-east-1' } });
    expect(result.code).toBe(2);
    expect(transport).not.toHaveBeenCalled();
    expect(result.stderr.length).toBeLessThan(1500);
    for (const line of result.stderr.split('\n')) expect(line.length).toBeLessThanOrEqual(ERROR_LINE_MAX_CHARS);
  });

  test('a typed value over the cap says how long it was', async () => {
    const result = await cli(['approve', ...scopeWith('--actions', `ec2:${huge()}`)]);
    expect(result.stderr).toContain(`--actions: 'ec2:${'a'.repeat(96)}...' (100,004 characters) is not an action`);
  });

  test("the approval function's messages are capped too", async () => {
    const { transport } = cannedTransport({
      statusCode: 403,
      body: JSON.stringify({ ok: false, refused: true, message: `No role ${huge()} here. Check --role.` }),
    });
    const result = await cli(['list'], { transport, env: { AGENT_GUARD_URL: FUNCTION_URL } });
    expect(result.code).toBe(1);
    expect(result.stderr.length).toBeLessThan(ERROR_LINE_MAX_CHARS + 2);
    expect(result.stderr).toMatch(
      /^agent-guard: Refused: No role a{100}\.\.\.\(100,000 characters\) here\. Check --role\.\n$/,
    );
  });

  test('control characters in echoed input are shown, not sent to the terminal', async () => {
    const result = await cli(['approve', ...scopeWith('--role', 'arn:\x1b[2J\x07evil')]);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toMatch(ESC);
    expect(result.stderr).toContain("--role 'arn:\\x1b[2J\\x07evil' is not an IAM role ARN");
  });

  test('fuzz: whatever is typed, no line of stderr is over the cap or carries a control character', async () => {
    const long = fc.oneof(
      fc.string({ maxLength: 3000 }),
      fc.string({ unit: 'binary', maxLength: 3000 }),
      fc.integer({ min: 200, max: 20_000 }).map((n) => 'x'.repeat(n)),
      fc.array(fc.string({ maxLength: 150 }), { maxLength: 40 }).map((words) => words.join(' ')),
    );
    const word = fc.oneof(
      fc.constantFrom(
        'approve',
        'request',
        'revoke',
        'list',
        'status',
        '--role',
        '--actions',
        '--resources',
        '--duration',
        '--reason',
        '--id',
        '--uses',
        '--url',
        '--region',
        '--profile',
        '--parameter',
        '--dry-run',
        '--max-approval-duration',
        AGENT_ROLE_ARN,
        INSTANCE_ARN,
      ),
      long,
    );
    await fc.assert(
      fc.asyncProperty(fc.array(word, { maxLength: 10 }), fc.boolean(), async (words, refuse) => {
        const result = await cli(words, {
          env: { AWS_REGION: 'us-east-1' },
          readParameter: () => Promise.resolve(FUNCTION_URL),
          transport: () => (body) =>
            Promise.resolve(
              refuse
                ? { statusCode: 403, body: JSON.stringify({ ok: false, refused: true, message: JSON.stringify(body) }) }
                : okReply('ok'),
            ),
        });
        expect([0, 1, 2]).toContain(result.code);
        for (const line of result.stderr.split('\n')) {
          expect(line.length).toBeLessThanOrEqual(ERROR_LINE_MAX_CHARS);
          // eslint-disable-next-line no-control-regex
          expect(line).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
        }
      }),
      { numRuns: 200 },
    );
  });
});
