/**
 * `agent-guard hook`: which shell commands it finds destructive, what it prints for each guard status,
 * and that it never fails open (Claude Code runs the tool after any exit code but 0 and 2).
 *
 * The oracle for the AWS CLI is a table written by hand from the AWS CLI command reference and the
 * service authorization reference (which IAM action each operation needs), not the converter.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { denyOutput, parseHookInput } from '../../lib/core/agent/claude-hook';
import { destructiveOperations } from '../../lib/core/agent/destructive-commands';
import { shellCommands, ShellParseError } from '../../lib/core/agent/shell-commands';
import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';
import { APPROVAL_HOWTO, GuardStatus } from '../../lib/core/status';
import { effectiveLock } from '../../lib/core/status-freshness';
import { decideHook, HookDeps, HookOptions } from '../../bin/cli/hook';
import { cacheFile, readCachedStatus, writeCachedStatus } from '../../bin/cli/status-cache';
import { bundleCli } from '../support/cli-bundle';

const catalog = resolveCatalog();
const NOW = new Date('2026-05-01T12:00:00.000Z');

/** Each command with the IAM action it needs (AWS CLI reference; null: the tool calls many APIs). */
const BLOCKED: readonly (readonly [string, string | null])[] = [
  // AWS CLI: service names that differ from the IAM prefix, and PascalCase that differs from kebab-case.
  ['aws ec2 terminate-instances --instance-ids i-0abc', 'ec2:TerminateInstances'],
  [
    'aws elbv2 delete-load-balancer --load-balancer-arn arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/1',
    'elasticloadbalancing:DeleteLoadBalancer',
  ],
  ['aws elb delete-load-balancer --load-balancer-name web', 'elasticloadbalancing:DeleteLoadBalancer'],
  ['aws s3api delete-bucket --bucket prod-assets', 's3:DeleteBucket'],
  ['aws s3api delete-objects --bucket b --delete file://keys.json', 's3:DeleteObject'],
  ['aws s3api delete-bucket-lifecycle --bucket b', 's3:PutLifecycleConfiguration'],
  ['aws s3control delete-access-point --account-id 111122223333 --name ap', 's3:DeleteAccessPoint'],
  [
    'aws stepfunctions delete-state-machine --state-machine-arn arn:aws:states:us-east-1:1:stateMachine:x',
    'states:DeleteStateMachine',
  ],
  ['aws rds delete-db-instance --db-instance-identifier prod --skip-final-snapshot', 'rds:DeleteDBInstance'],
  ['aws rds delete-db-cluster --db-cluster-identifier prod', 'rds:DeleteDBCluster'],
  ['aws docdb delete-db-cluster --db-cluster-identifier docs', 'rds:DeleteDBCluster'],
  ['aws dynamodb delete-table --table-name orders', 'dynamodb:DeleteTable'],
  ['aws lambda delete-function --function-name api', 'lambda:DeleteFunction'],
  ['aws cloudformation delete-stack --stack-name prod-api', 'cloudformation:DeleteStack'],
  ['aws cloudformation update-stack --stack-name prod-api --use-previous-template', 'cloudformation:UpdateStack'],
  ['aws cloudformation deploy --template-file t.yaml --stack-name prod-api', 'cloudformation:ExecuteChangeSet'],
  ['aws opensearch delete-domain --domain-name logs', 'es:DeleteDomain'],
  ['aws sesv2 delete-email-identity --email-identity example.com', 'ses:DeleteEmailIdentity'],
  ['aws configservice delete-config-rule --config-rule-name r', 'config:DeleteConfigRule'],
  ['aws efs delete-file-system --file-system-id fs-1', 'elasticfilesystem:DeleteFileSystem'],
  ['aws emr terminate-clusters --cluster-ids j-1', 'elasticmapreduce:TerminateJobFlows'],
  ['aws ecs update-service --cluster c --service s --desired-count 0', 'ecs:UpdateService'],
  [
    'aws autoscaling set-desired-capacity --auto-scaling-group-name asg --desired-capacity 0',
    'autoscaling:SetDesiredCapacity',
  ],
  ['aws kms schedule-key-deletion --key-id k --pending-window-in-days 7', 'kms:ScheduleKeyDeletion'],
  ['aws ssm send-command --document-name AWS-RunShellScript --targets Key=tag:app,Values=web', 'ssm:SendCommand'],
  ['aws s3api put-bucket-policy --bucket b --policy file://p.json', 's3:PutBucketPolicy'],
  ['aws iam delete-role --role-name app', 'iam:DeleteRole'],
  ['aws --profile prod --region eu-west-1 ec2 delete-vpc --vpc-id vpc-1', 'ec2:DeleteVpc'],
  ['aws ec2 delete-vpc --vpc-id vpc-1 --cli-input-json file://in.json', 'ec2:DeleteVpc'],
  ['aws apigateway delete-rest-api --rest-api-id a1', null],
  [
    'aws route53 change-resource-record-sets --hosted-zone-id Z1 --change-batch file://batch.json',
    'route53:ChangeResourceRecordSets',
  ],
  [
    `aws route53 change-resource-record-sets --hosted-zone-id Z1 --change-batch '{"Changes":[{"Action":"DELETE"}]}'`,
    'route53:ChangeResourceRecordSets',
  ],
  [
    'aws sts assume-role --role-arn arn:aws:iam::1:role/cdk-hnb659fds-deploy-role-1-us-east-1 --role-session-name x',
    'sts:AssumeRole',
  ],
  // High-level S3 commands.
  ['aws s3 rm s3://prod-assets/ --recursive', 's3:DeleteObject'],
  ['aws s3 rm s3://prod-assets/index.html', 's3:DeleteObject'],
  ['aws s3 rb s3://prod-assets --force', 's3:DeleteBucket'],
  ['aws s3 sync ./site s3://prod-site --delete', 's3:DeleteObject'],
  ['aws s3 mv s3://a/x s3://b/x', 's3:DeleteObject'],
  // Terraform and OpenTofu.
  ['terraform destroy -auto-approve', null],
  ['terraform -chdir=infra destroy', null],
  ['terraform apply -destroy -auto-approve', null],
  ['terraform apply -replace=aws_instance.web', null],
  ['terraform apply -replace aws_instance.web -auto-approve', null],
  ['tofu destroy', null],
  ['tofu apply --destroy', null],
  // CDK, in every way it is started.
  ['cdk destroy --force', 'cloudformation:DeleteStack'],
  ['cdk deploy --all --require-approval never', 'cloudformation:ExecuteChangeSet'],
  ['cdk --app "npx ts-node bin/app.ts" deploy ProdStack', 'cloudformation:ExecuteChangeSet'],
  ['npx cdk destroy ProdStack', 'cloudformation:DeleteStack'],
  ['npx aws-cdk@2 deploy', 'cloudformation:ExecuteChangeSet'],
  ['npx --yes aws-cdk destroy', 'cloudformation:DeleteStack'],
  ['yarn cdk deploy', 'cloudformation:ExecuteChangeSet'],
  ['pnpm cdk destroy', 'cloudformation:DeleteStack'],
  ['pnpm exec cdk deploy', 'cloudformation:ExecuteChangeSet'],
  ['npm run cdk -- destroy', 'cloudformation:DeleteStack'],
  ['./node_modules/.bin/cdk watch', 'cloudformation:ExecuteChangeSet'],
  // SAM, Pulumi, eksctl, Copilot.
  ['sam deploy --no-confirm-changeset', 'cloudformation:ExecuteChangeSet'],
  ['sam delete --stack-name app --no-prompts', 'cloudformation:DeleteStack'],
  ['pulumi destroy --yes', null],
  ['pulumi up --replace urn:pulumi:prod::app::aws:ec2/instance:Instance::web', null],
  ['eksctl delete cluster --name prod', null],
  ['eksctl delete nodegroup --cluster prod --name ng-1', null],
  ['copilot svc delete --name api', 'cloudformation:DeleteStack'],
  ['copilot app delete', 'cloudformation:DeleteStack'],
  ['copilot deploy', 'cloudformation:ExecuteChangeSet'],
  // Quoted, chained and wrapped forms.
  [`bash -c 'aws cloudformation delete-stack --stack-name x'`, 'cloudformation:DeleteStack'],
  [`sh -c "cd infra && terraform destroy"`, null],
  [`bash -lc 'aws dynamodb delete-table --table-name t'`, 'dynamodb:DeleteTable'],
  ['FOO=1 sudo -E aws ec2 terminate-instances --instance-ids i-1', 'ec2:TerminateInstances'],
  ['sudo -Eu deploy aws ec2 terminate-instances --instance-ids i-1', 'ec2:TerminateInstances'],
  ['AWS_PROFILE=prod aws lambda delete-function --function-name f', 'lambda:DeleteFunction'],
  ['echo x | xargs aws s3 rb --force', 's3:DeleteBucket'],
  ['cat ids.txt | xargs -n1 -I{} aws ec2 terminate-instances --instance-ids {}', 'ec2:TerminateInstances'],
  ['aws s3 ls && terraform destroy -auto-approve', null],
  ['aws sts get-caller-identity; cdk destroy', 'cloudformation:DeleteStack'],
  ['false || aws rds delete-db-instance --db-instance-identifier d', 'rds:DeleteDBInstance'],
  ['(cd infra; terraform destroy)', null],
  ['env AWS_REGION=us-east-1 aws ec2 terminate-instances --instance-ids i-1', 'ec2:TerminateInstances'],
  ['time aws ec2 terminate-instances --instance-ids i-1', 'ec2:TerminateInstances'],
  ['nohup terraform destroy -auto-approve > destroy.log 2>&1 &', null],
  ['timeout 600 sudo -u deploy cdk destroy', 'cloudformation:DeleteStack'],
  ['/usr/local/bin/aws ec2 terminate-instances --instance-ids i-1', 'ec2:TerminateInstances'],
  ['echo "$(aws ec2 terminate-instances --instance-ids i-1)"', 'ec2:TerminateInstances'],
  ['echo `cdk destroy`', 'cloudformation:DeleteStack'],
  ['if true; then terraform destroy; fi', null],
  ['for s in a b; do aws cloudformation delete-stack --stack-name $s; done', 'cloudformation:DeleteStack'],
  ['aws s3 ls\nterraform destroy', null],
  ['aws ec2 \\\n  terminate-instances --instance-ids i-1', 'ec2:TerminateInstances'],
  [`eval "aws ec2 terminate-instances --instance-ids i-1"`, 'ec2:TerminateInstances'],
  [`bash -c "bash -c 'cdk destroy'"`, 'cloudformation:DeleteStack'],
  ['find . -name "*.tfstate" -execdir terraform destroy -auto-approve \\;', null],
  [`npx -c 'cdk destroy --force'`, 'cloudformation:DeleteStack'],
  // A value or an unknown option must not pass for the subcommand.
  ['aws cloudformation delete-stack --stack-name help', 'cloudformation:DeleteStack'],
  ['cdk --toolkit-bucket-name assets destroy', 'cloudformation:DeleteStack'],
  ['terraform -lock=false destroy', null],
  ['pulumi --non-interactive --color never destroy', null],
];

const ALLOWED: readonly string[] = [
  'ls -la',
  'git status',
  'git commit -m "terraform destroy"',
  `git commit -m 'aws ec2 terminate-instances is dangerous'`,
  'echo "aws ec2 terminate-instances"',
  'grep -r "cdk destroy" docs/',
  'aws s3 ls s3://prod-assets',
  'aws ec2 describe-instances --filters Name=tag:env,Values=prod',
  'aws sts get-caller-identity',
  'aws cloudformation describe-stacks --stack-name prod-api',
  'aws cloudformation deploy --template-file t.yaml --stack-name x --no-execute-changeset',
  'aws ec2 terminate-instances --instance-ids i-1 --dry-run',
  'aws ec2 terminate-instances help',
  'aws s3 cp ./dist s3://prod-site --recursive',
  'aws s3 sync s3://prod-site ./backup --delete',
  'aws s3 mv ./local.txt s3://bucket/local.txt',
  'aws logs tail /aws/lambda/api --follow',
  'aws sts assume-role --role-arn arn:aws:iam::1:role/cdk-hnb659fds-lookup-role-1-us-east-1 --role-session-name x',
  `aws route53 change-resource-record-sets --hosted-zone-id Z1 --change-batch '{"Changes":[{"Action":"UPSERT"}]}'`,
  'terraform plan -destroy',
  'terraform apply -auto-approve',
  'terraform state rm aws_instance.old',
  'terraform init && terraform validate',
  'tofu plan',
  'cdk synth',
  'cdk diff ProdStack',
  'npx cdk ls',
  'cdk deploy --method=prepare-change-set',
  'sam build && sam validate',
  'pulumi up --yes',
  'pulumi preview',
  'pulumi stack rm dev',
  'eksctl get clusters',
  'copilot svc ls',
  'kubectl get pods',
  'npm test',
  'command -v aws',
  'find . -name "*.tf" -exec grep -l destroy {} +',
  'cat <<EOF\nhello\nEOF',
];

function iamActions(command: string): (string | null)[] {
  return destructiveOperations(command, catalog).map((op) => op.iamAction ?? null);
}

describe('destructive commands', () => {
  test('the tables hold at least 60 realistic commands, blocked and allowed', () => {
    expect(BLOCKED.length + ALLOWED.length).toBeGreaterThanOrEqual(60);
  });

  test.each(BLOCKED)('blocks %j (%s)', (command, action) => {
    const actions = iamActions(command);
    expect(actions.length).toBeGreaterThan(0);
    if (action === null) return;
    // IAM compares action names without case; the finder uses the catalog's spelling where it has one.
    expect(actions.map((a) => a?.toLowerCase())).toContain(action.toLowerCase());
  });

  test.each(ALLOWED)('allows %j', (command) => {
    expect(destructiveOperations(command, catalog)).toEqual([]);
  });

  test('an AWS CLI operation in the catalog is named with the catalog spelling and group', () => {
    expect(destructiveOperations('aws rds delete-db-instance --db-instance-identifier d', catalog)).toEqual([
      expect.objectContaining({ tool: 'aws', iamAction: 'rds:DeleteDBInstance', group: 'delete' }),
    ]);
  });

  test('an operation named like a deletion but outside the catalog is still blocked, and says so', () => {
    const [op] = destructiveOperations('aws apigateway delete-rest-api --rest-api-id a1', catalog);
    expect(op.group).toBeUndefined();
    expect(op.why).toContain("not in the guard's catalog");
  });

  test('a quoted string is an argument, not a command', () => {
    expect(shellCommands('git commit -m "terraform destroy" && echo \'cdk destroy\'')).toEqual([
      ['git', 'commit', '-m', 'terraform destroy'],
      ['echo', 'cdk destroy'],
    ]);
  });

  test('nesting beyond the bound is refused, not skipped', () => {
    let command = 'cdk destroy';
    for (let i = 0; i < 12; i++) command = `eval ${JSON.stringify(command)}`;
    expect(() => shellCommands(command)).toThrow(ShellParseError);
  });
});

function guardStatus(overrides: Partial<GuardStatus> = {}): GuardStatus {
  return {
    schemaVersion: 1,
    account: '111122223333',
    mode: 'ENFORCE',
    locked: true,
    protected: true,
    since: '2026-05-01T11:00:00.000Z',
    reason: 'Production account with live traffic (1,200 requests per minute).',
    production: { value: true, reason: 'tagged production' },
    traffic: {
      active: true,
      requestsPerMinute: 1200,
      thresholdPerMinute: 10,
      lookbackMinutes: 15,
      reason: 'live',
      liveAt: '2026-05-01T11:58:00.000Z',
      holdUntil: null,
    },
    evaluatedAt: '2026-05-01T11:58:00.000Z',
    howToGetApproval: APPROVAL_HOWTO,
    ...overrides,
  };
}

const OPTIONS: HookOptions = {
  parameter: '/agent-guard/status',
  region: 'us-east-1',
  scheduleMinutes: 5,
  cache: false,
};

function hookInput(command: string): string {
  return JSON.stringify({ session_id: 's', hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command } });
}

function deps(read: HookDeps['readStatus'], overrides: Partial<HookDeps> = {}): HookDeps {
  return { readStatus: read, clock: () => NOW, env: {}, ...overrides };
}

const reads = (status: GuardStatus | string | undefined) => {
  const calls: string[] = [];
  const read: HookDeps['readStatus'] = (source) => {
    calls.push(source.parameter);
    return Promise.resolve(typeof status === 'object' ? JSON.stringify(status) : status);
  };
  return { read, calls };
};

function decision(output: string): { decision: string; reason: string } {
  const parsed = JSON.parse(output) as {
    hookSpecificOutput: { hookEventName: string; permissionDecision: string; permissionDecisionReason: string };
  };
  expect(parsed.hookSpecificOutput.hookEventName).toBe('PreToolUse');
  return {
    decision: parsed.hookSpecificOutput.permissionDecision,
    reason: parsed.hookSpecificOutput.permissionDecisionReason,
  };
}

describe('the hook protocol', () => {
  test('locked: deny, with the reason and the request command for the action', async () => {
    const { read } = reads(guardStatus());
    const out = await decideHook(
      hookInput('aws cloudformation delete-stack --stack-name prod-api'),
      OPTIONS,
      deps(read),
    );
    const { decision: d, reason } = decision(out);
    expect(d).toBe('deny');
    expect(reason).toContain('Production account with live traffic');
    expect(reason).toContain('agent-guard request --role <your role ARN> --actions cloudformation:DeleteStack');
    expect(out.endsWith('\n')).toBe(true);
  });

  test('locked: the reason names the two busiest live sources, names cut short', async () => {
    const long = `app/${'checkout-'.repeat(8)}/50dc6c495c0c9188`;
    const { read } = reads(
      guardStatus({
        traffic: {
          ...guardStatus().traffic,
          sources: [
            { kind: 'ALB', region: 'eu-west-1', name: long, peakPerMinute: 1240 },
            { kind: 'CloudFront', region: 'us-east-1', name: 'E2QWRUHEXAMPLE', peakPerMinute: 900 },
            { kind: 'RestApi', region: 'eu-west-1', name: 'orders', peakPerMinute: 12 },
          ],
        },
      }),
    );
    const { reason } = decision(await decideHook(hookInput('cdk destroy'), OPTIONS, deps(read)));
    expect(reason).toContain(`Live: ALB ${[...long].slice(0, 37).join('')}... in eu-west-1, 1,240 req/min`);
    expect(reason).toContain('CloudFront E2QWRUHEXAMPLE in us-east-1, 900 req/min');
    expect(reason).not.toContain('orders');
  });

  test('a status whose sources are not sources is read as naming none', async () => {
    const { read } = reads(JSON.stringify({ ...guardStatus(), traffic: { ...guardStatus().traffic, sources: 'x' } }));
    const { decision: d, reason } = decision(await decideHook(hookInput('cdk destroy'), OPTIONS, deps(read)));
    expect(d).toBe('deny');
    expect(reason).not.toContain('Live:');
  });

  test('open: nothing printed', async () => {
    const { read } = reads(guardStatus({ locked: false, reason: 'Not production.' }));
    expect(await decideHook(hookInput('terraform destroy -auto-approve'), OPTIONS, deps(read))).toBe('');
  });

  test('a non-destructive command never reads the status', async () => {
    const { read, calls } = reads(guardStatus());
    expect(await decideHook(hookInput('aws s3 ls && git push'), OPTIONS, deps(read))).toBe('');
    expect(calls).toEqual([]);
  });

  test.each([
    ['no credentials', () => Promise.reject(new Error('Could not load credentials from any providers'))],
    ['no network', () => Promise.reject(new Error('getaddrinfo ENOTFOUND ssm.us-east-1.amazonaws.com'))],
    ['parameter missing', () => Promise.resolve(undefined)],
    ['malformed', () => Promise.resolve('{"locked": false}')],
    ['not JSON', () => Promise.resolve('open')],
  ] as const)('status unreadable (%s): deny, saying the status is unknown', async (_, read) => {
    const out = await decideHook(hookInput('cdk destroy'), OPTIONS, deps(read));
    expect(decision(out)).toEqual({ decision: 'deny', reason: expect.stringContaining('status is unknown') as string });
  });

  test('a read that never answers is cut off by the timeout: deny, unknown', async () => {
    const never: HookDeps['readStatus'] = (_, signal) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    const out = await decideHook(hookInput('cdk destroy'), OPTIONS, deps(never, { timeoutMs: 50 }));
    expect(decision(out).reason).toMatch(/status is unknown .*no answer within 0.05s/);
  });

  test('a stale heartbeat counts as locked, even when the status says open', async () => {
    const { read } = reads(guardStatus({ locked: false, evaluatedAt: '2026-05-01T11:44:59.000Z' }));
    const out = await decideHook(hookInput('terraform destroy'), OPTIONS, deps(read));
    expect(decision(out)).toEqual({ decision: 'deny', reason: expect.stringContaining('15 minutes ago') as string });
  });

  test.each([
    '',
    '   ',
    'not json',
    '[]',
    '42',
    '{"tool_input":{"command":"ls"}}',
    '{"tool_name":"Bash","tool_input":{"command":7}}',
  ])('bad stdin %j: deny', async (stdin) => {
    const { read } = reads(guardStatus({ locked: false }));
    expect(decision(await decideHook(stdin, OPTIONS, deps(read))).decision).toBe('deny');
  });

  test.each([
    JSON.stringify({ tool_name: 'Read', tool_input: { file_path: '/etc/hosts' } }),
    JSON.stringify({ tool_name: 'Bash', tool_input: {} }),
    JSON.stringify({ tool_name: 'mcp__aws__call', tool_input: { command: 'aws ec2 terminate-instances' } }),
  ])('not a shell command %s: allowed', async (stdin) => {
    expect(await decideHook(stdin, OPTIONS, deps(reads(guardStatus()).read))).toBe('');
  });

  test('an internal error is a deny, not a crash', async () => {
    const broken = () => {
      throw new Error('catalog exploded');
    };
    const out = await decideHook(hookInput('ls'), OPTIONS, deps(reads(undefined).read, { catalog: broken }));
    expect(decision(out)).toEqual({ decision: 'deny', reason: expect.stringContaining('catalog exploded') as string });
  });

  test('parseHookInput reads the documented fields only', () => {
    expect(parseHookInput(hookInput('ls'))).toEqual({ kind: 'shell', command: 'ls' });
    expect(JSON.parse(denyOutput('why'))).toEqual({
      hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: 'why' },
    });
  });
});

describe('heartbeat freshness', () => {
  const at = (minutesAgo: number) => new Date(NOW.getTime() - minutesAgo * 60_000).toISOString();
  test.each([
    [14, 5, false],
    [16, 5, true],
    [59, 20, false],
    [61, 20, true],
  ])('a heartbeat %d minutes old with a %d-minute schedule: stale %s', (age, schedule, stale) => {
    const lock = effectiveLock(guardStatus({ locked: false, evaluatedAt: at(age) }), NOW, schedule);
    expect(lock).toMatchObject({ stale, locked: stale, unknown: false });
  });

  test("the status's own scheduleMinutes wins over the reader's", () => {
    const status = { ...guardStatus({ locked: false, evaluatedAt: at(40) }), scheduleMinutes: 15 };
    expect(effectiveLock(status, NOW, 5).locked).toBe(false);
  });

  test('no status: locked and unknown; an unreadable heartbeat: locked and stale', () => {
    expect(effectiveLock(undefined, NOW, 5)).toMatchObject({ locked: true, unknown: true });
    expect(effectiveLock(guardStatus({ locked: false, evaluatedAt: 'yesterday' }), NOW, 5)).toMatchObject({
      locked: true,
      stale: true,
    });
  });
});

describe('status cache', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'agent-guard-hook-cache-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const source = { parameter: '/agent-guard/status', region: 'us-east-1', profile: 'prod' };

  test('a value read is served for 30 s, then read again', async () => {
    const { read, calls } = reads(guardStatus());
    const options = { ...OPTIONS, cache: true };
    const env = { XDG_CACHE_HOME: dir };
    await decideHook(hookInput('cdk destroy'), options, deps(read, { env }));
    await decideHook(
      hookInput('cdk destroy'),
      options,
      deps(read, { env, clock: () => new Date(NOW.getTime() + 29_000) }),
    );
    expect(calls).toHaveLength(1);
    await decideHook(
      hookInput('cdk destroy'),
      options,
      deps(read, { env, clock: () => new Date(NOW.getTime() + 31_000) }),
    );
    expect(calls).toHaveLength(2);
  });

  test('a failure is not cached', async () => {
    const env = { XDG_CACHE_HOME: dir };
    await decideHook(
      hookInput('cdk destroy'),
      { ...OPTIONS, cache: true },
      deps(() => Promise.reject(new Error('offline')), { env }),
    );
    const { read, calls } = reads(guardStatus({ locked: false }));
    expect(await decideHook(hookInput('cdk destroy'), { ...OPTIONS, cache: true }, deps(read, { env }))).toBe('');
    expect(calls).toHaveLength(1);
  });

  test('one file per profile, region and parameter; a corrupt file is a miss; writes leave no temporary file', async () => {
    const file = cacheFile(dir, source);
    expect(cacheFile(dir, { ...source, profile: 'dev' })).not.toBe(file);
    expect(cacheFile(dir, { ...source, region: 'eu-west-1' })).not.toBe(file);
    await writeCachedStatus(file, source, 'value', NOW);
    expect(await readCachedStatus(file, source, NOW)).toBe('value');
    expect(await readCachedStatus(file, { ...source, profile: 'dev' }, NOW)).toBeUndefined();
    expect(readdirSync(join(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    writeFileSync(file, '{"readAt": 1, "sour');
    expect(await readCachedStatus(file, source, NOW)).toBeUndefined();
  });
});

describe('never fails open (property)', () => {
  const SAFE_PREFIXES = ['ls', 'git status', 'echo hi', 'aws s3 ls', 'true', 'cd infra', 'export X=1', 'npm test'];
  const SEPARATORS = [' && ', '; ', ' || ', '\n', ' | '];
  const DESTRUCTIVE = BLOCKED.map(([command]) => command);

  test('a destructive command after any safe prefixes is never allowed while locked', async () => {
    const { read } = reads(guardStatus());
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...SAFE_PREFIXES), fc.constantFrom(...SEPARATORS)), { maxLength: 4 }),
        fc.constantFrom(...DESTRUCTIVE),
        async (prefixes, command) => {
          const line = prefixes.map(([p, s]) => `${p}${s}`).join('') + command;
          const out = await decideHook(hookInput(line), OPTIONS, deps(read));
          expect(decision(out).decision).toBe('deny');
        },
      ),
      { numRuns: 200 },
    );
  });

  test('random stdin yields either nothing or a well-formed deny, never a throw', async () => {
    const { read } = reads(guardStatus());
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.string().map((command) => hookInput(command)),
          fc.json(),
        ),
        async (stdin) => {
          const out = await decideHook(stdin, OPTIONS, deps(read));
          if (out !== '') expect(decision(out).decision).toBe('deny');
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('as a process (esbuild bundle, as shipped)', () => {
  let scratch: string;
  let bundled: string;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'agent-guard-hook-'));
    bundled = await bundleCli(scratch);
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  function runHook(stdin: string, args: readonly string[] = []) {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: scratch, XDG_CACHE_HOME: join(scratch, 'cache') };
    Object.assign(env, {
      AWS_CONFIG_FILE: join(scratch, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_REGION: 'us-east-1',
    });
    const result = spawnSync(process.execPath, [bundled, 'hook', ...args], {
      input: stdin,
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { code: result.status, stdout: result.stdout };
  }

  test('a safe command: exit 0, nothing printed', () => {
    expect(runHook(hookInput('git status && aws s3 ls'))).toEqual({ code: 0, stdout: '' });
  });

  test('a destructive command without credentials: exit 0 and a deny that says the status is unknown', () => {
    const { code, stdout } = runHook(hookInput('aws s3 ls && terraform destroy -auto-approve'));
    expect(code).toBe(0);
    expect(decision(stdout)).toEqual({
      decision: 'deny',
      reason: expect.stringContaining('status is unknown') as string,
    });
  });

  test('garbage on stdin: exit 0 and a deny', () => {
    const { code, stdout } = runHook('\u0000garbage');
    expect(code).toBe(0);
    expect(decision(stdout).decision).toBe('deny');
  });

  test('random stdin: exit 0 or 2 only, and nothing or a deny on stdout (property, a few processes)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map(hookInput), fc.json()), (stdin) => {
        const { code, stdout } = runHook(stdin);
        expect([0, 2]).toContain(code);
        if (stdout !== '') expect(decision(stdout).decision).toBe('deny');
      }),
      { numRuns: 6 },
    );
  });

  test('a bad flag is exit 2, which Claude Code also reads as a block', () => {
    expect(runHook(hookInput('ls'), ['--schedule-minutes', 'soon']).code).toBe(2);
  });
});
