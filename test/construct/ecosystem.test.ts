import { App, Stack, StackProps } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { PublishCommand } from '@aws-sdk/client-sns';
import { createExampleApp, exampleContext } from '../../examples/example-app';
import { AgentGuard } from '../../lib';
import { AgentGuardProps } from '../../lib/agent-guard';
import { GUARD_SERVICE_NAME, METRICS_NAMESPACE } from '../../lib/core/contract';
import { approvalPolicyArn, constrainedRole, newGuard, scheduledEvent } from '../support/guard-fixture';
import { APPROVAL_TAG } from '../../lib/core/contract';

type Cfn = unknown;
type Resources = Record<string, { Type: string; Properties: Record<string, Cfn> }>;

/** An app with the example's feature flags that skips bundling: these tests read only the template. */
function newApp(): App {
  return new App({ context: { ...exampleContext(), 'aws:cdk:bundling-stacks': [] } });
}

function guardStack(props: AgentGuardProps = {}, stackProps?: StackProps): { stack: Stack; guard: AgentGuard } {
  const stack = new Stack(newApp(), 'S', stackProps);
  const guard = new AgentGuard(stack, 'Guard', { approvers: ['arn:aws:iam::*:role/OnCall'], ...props });
  return { stack, guard };
}

function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

function logicalIdOf(template: Template, type: string, props: Record<string, unknown>): string {
  const ids = Object.keys(template.findResources(type, { Properties: Match.objectLike(props) }));
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** Tokens in the dashboard body, written as `${Ref}` or `${Id.Attribute}`, so the body parses as JSON. */
function dashboardBody(template: Template): { widgets: Widget[] } {
  const [dashboard] = Object.values(resourcesOf(template, 'AWS::CloudWatch::Dashboard'));
  const render = (v: Cfn): string => {
    if (typeof v === 'string') return v;
    const obj = v as Record<string, Cfn>;
    if ('Ref' in obj) return `\${${obj.Ref as string}}`;
    if ('Fn::GetAtt' in obj) return `\${${(obj['Fn::GetAtt'] as string[]).join('.')}}`;
    if ('Fn::Join' in obj) {
      const [sep, parts] = obj['Fn::Join'] as [string, Cfn[]];
      return parts.map(render).join(sep);
    }
    throw new Error(`unexpected intrinsic ${JSON.stringify(v)}`);
  };
  return JSON.parse(render(dashboard.Properties.DashboardBody)) as { widgets: Widget[] };
}

interface Widget {
  type: string;
  properties: {
    title?: string;
    metrics?: (string | Record<string, unknown>)[][];
    annotations?: { horizontal?: { value: number; label?: string }[] };
  };
}

function widget(body: { widgets: Widget[] }, title: RegExp): Widget {
  const found = body.widgets.filter((w) => title.test(w.properties.title ?? ''));
  expect(found).toHaveLength(1);
  return found[0];
}

/** `[namespace, name, dimension, value, ...]` rows of a widget's plain metrics. */
function plainMetrics(w: Widget): string[][] {
  return (w.properties.metrics ?? []).map((row) => row.filter((x): x is string => typeof x === 'string'));
}

describe('dashboard', () => {
  const { stack } = createExampleApp(newApp());
  const template = Template.fromStack(stack);
  const body = dashboardBody(template);

  test('lock state and approvals in force are metrics the guard function really publishes, as Powertools names them', async () => {
    // The handler's own core, swept over one approved and one plain role, says which metrics exist.
    const fx = newGuard({
      roles: [
        constrainedRole('agent-approved', 'locked', {
          tags: { [APPROVAL_TAG]: 'abc123' },
          policyArns: [approvalPolicyArn('abc123', 1), approvalPolicyArn('abc123', 2)],
        }),
        constrainedRole('agent-plain', 'locked'),
      ],
    });
    await fx.guard.handle(scheduledEvent());
    const emitted = new Set(fx.metrics.counts.map((c) => c.name));
    // Powertools, configured as the entrypoint configures it, says the namespace and dimensions (EMF).
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((line: string | Uint8Array) => {
      lines.push(String(line));
      return true;
    });
    const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: GUARD_SERVICE_NAME });
    metrics.addMetric('Locked', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    write.mockRestore();
    const emf = JSON.parse(lines.join('')) as {
      _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
      [key: string]: unknown;
    };
    const [{ Namespace, Dimensions }] = emf._aws.CloudWatchMetrics;
    const dimensions = Dimensions[0].flatMap((d) => [d, emf[d] as string]);

    for (const [title, name] of [
      [/^Lock state/, 'Locked'],
      [/^Approvals in force/, 'ApprovalsInForce'],
    ] as const) {
      expect(emitted).toContain(name);
      expect(plainMetrics(widget(body, title))).toEqual([[Namespace, name, ...dimensions]]);
    }
    // A notice that cannot be published is a handled error: the guard counts it under Errors.
    const failing = newGuard({ roles: [constrainedRole('agent-plain', 'locked')] });
    failing.sns.on(PublishCommand).rejects(new Error('KMS key disabled'));
    await failing.guard.handle(scheduledEvent());
    expect(failing.metrics.total('Errors')).toBeGreaterThan(0);
    expect(plainMetrics(widget(body, /^Errors/))).toContainEqual([Namespace, 'Errors', ...dimensions]);
  });

  test('traffic: the queries of the traffic alarms, with a line at their threshold', () => {
    const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).filter((a) =>
      String(a.Properties.AlarmName).startsWith('AgentGuardTraffic-'),
    );
    expect(alarms.length).toBeGreaterThan(0);
    const expressions = alarms.flatMap((a) =>
      (a.Properties.Metrics as { Expression?: string }[]).flatMap((m) => (m.Expression ? [m.Expression] : [])),
    );
    const traffic = widget(body, /^Traffic/);
    const shown = (traffic.properties.metrics ?? []).map((row) => (row[0] as { expression: string }).expression);
    expect(shown.sort()).toEqual(expressions.sort());
    const thresholds = new Set(alarms.map((a) => a.Properties.Threshold));
    expect(thresholds.size).toBe(1);
    expect(traffic.properties.annotations?.horizontal?.map((a) => a.value)).toEqual([...thresholds]);
  });

  test('errors: both functions and the dead-letter queue', () => {
    const guardFn = logicalIdOf(template, 'AWS::Lambda::Function', { FunctionName: 'AgentGuardEvaluator' });
    const approvalsFn = logicalIdOf(template, 'AWS::Lambda::Function', { FunctionName: 'AgentGuardApprovals' });
    const dlq = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'AgentGuardDeadLetters' });
    const rows = plainMetrics(widget(body, /^Errors/));
    expect(rows).toContainEqual(['AWS/Lambda', 'Errors', 'FunctionName', `\${${guardFn}}`]);
    expect(rows).toContainEqual(['AWS/Lambda', 'Errors', 'FunctionName', `\${${approvalsFn}}`]);
    expect(rows).toContainEqual(['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', `\${${dlq}.QueueName}`]);
  });

  test('dashboard: false leaves it out', () => {
    const { stack: s } = guardStack({ dashboard: false });
    Template.fromStack(s).resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });
});

describe('bring your own topic, key and log retention', () => {
  test('noticesTopic: every alarm action and the functions publish there; no topic of the guard', () => {
    const stack = new Stack(newApp(), 'S');
    const topic = new sns.Topic(stack, 'Mine');
    new AgentGuard(stack, 'Guard', { noticesTopic: topic, approvers: ['arn:aws:iam::*:role/OnCall'] });
    const template = Template.fromStack(stack);
    const topics = Object.keys(resourcesOf(template, 'AWS::SNS::Topic'));
    expect(topics).toEqual([stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic)]);
    const [mine] = topics;
    const actions = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties.AlarmActions as unknown[] | undefined)
      .filter((a) => a !== undefined);
    expect(actions.length).toBe(4); // guard errors, dead letters, liveness, approval errors
    for (const a of actions) expect(a).toEqual([{ Ref: mine }]);
    const env = JSON.stringify(resourcesOf(template, 'AWS::Lambda::Function'));
    expect(env).toContain(`"Ref":"${mine}"`);
  });

  test('encryptionKey: it encrypts the topic, every log group and the table, and lets the services use it', () => {
    const stack = new Stack(newApp(), 'S');
    const key = new kms.Key(stack, 'MyKey');
    new AgentGuard(stack, 'Guard', { encryptionKey: key, approvers: ['arn:aws:iam::*:role/OnCall'] });
    const template = Template.fromStack(stack);
    const keys = Object.keys(resourcesOf(template, 'AWS::KMS::Key'));
    expect(keys).toEqual([stack.getLogicalId(key.node.defaultChild as kms.CfnKey)]);
    const [keyId] = keys;
    const arn = { 'Fn::GetAtt': [keyId, 'Arn'] };
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: arn });
    const groups = Object.values(resourcesOf(template, 'AWS::Logs::LogGroup'));
    // The guard, approval and clean-up functions, and the clean-up's custom resource framework.
    expect(groups.map((g) => g.Properties.KmsKeyId)).toEqual([arn, arn, arn, arn]);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: arn },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
          Match.objectLike({
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
            Action: Match.arrayWith(['kms:Decrypt*', 'kms:GenerateDataKey*']),
          }),
        ]),
      },
    });
  });

  test('an imported key: synth warns with the statements its policy needs', () => {
    const stack = new Stack(newApp(), 'S', { env: { account: '111122223333', region: 'us-east-1' } });
    const key = kms.Key.fromKeyArn(
      stack,
      'Theirs',
      'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    );
    new AgentGuard(stack, 'Guard', { encryptionKey: key });
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('is imported.*logs\\..*amazonaws\\.com'));
  });

  test('logRetention reaches every log group; the default is one year', () => {
    const days = (props: AgentGuardProps) =>
      Object.values(resourcesOf(Template.fromStack(guardStack(props).stack), 'AWS::Logs::LogGroup')).map(
        (g) => g.Properties.RetentionInDays,
      );
    expect(days({})).toEqual([365, 365, 365, 365]);
    expect(days({ logRetention: logs.RetentionDays.ONE_MONTH })).toEqual([30, 30, 30, 30]);
  });

  test.each([
    [
      { logRetention: 42 as logs.RetentionDays },
      /logRetention 42 is not a CloudWatch Logs retention; use a logs.RetentionDays/,
    ],
  ])('rejects %j', (props, message) => {
    expect(() => guardStack(props)).toThrow(message);
  });

  test('a topic or key of another region is refused, naming the prop', () => {
    const app = newApp();
    const stack = new Stack(app, 'S', { env: { account: '111122223333', region: 'us-east-1' } });
    const topic = sns.Topic.fromTopicArn(stack, 'T', 'arn:aws:sns:eu-west-1:111122223333:Notices');
    expect(() => new AgentGuard(stack, 'Guard', { noticesTopic: topic })).toThrow(
      /noticesTopic is in region eu-west-1, but the guard's stack is in us-east-1/,
    );
    const key = kms.Key.fromKeyArn(
      stack,
      'K',
      'arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    );
    expect(() => new AgentGuard(stack, 'Guard2', { encryptionKey: key })).toThrow(
      /encryptionKey is in account 444455556666/,
    );
  });
});

describe('one guard per account', () => {
  const A = { account: '111122223333', region: 'us-east-1' };
  const B = { account: '444455556666', region: 'us-east-1' };

  function synth(envs: ({ account: string; region: string } | undefined)[], sameStack = false): () => unknown {
    const app = newApp();
    const shared = new Stack(app, 'Shared', { env: envs[0] });
    envs.forEach((env, i) => {
      const stack = sameStack ? shared : i === 0 ? shared : new Stack(app, `Stack${i}`, { env });
      new AgentGuard(stack, `Guard${i}`);
    });
    return () => app.synth();
  }

  test('two in one stack fail at synth, naming both', () => {
    expect(synth([A, A], true)).toThrow(
      /Shared\/Guard1 is a second AgentGuard for account 111122223333; the first is Shared\/Guard0\..*IAM roles and policies.*StackSets/s,
    );
  });

  test('two stacks in the same account fail', () => {
    expect(synth([A, A])).toThrow(
      /Stack1\/Guard1 is a second AgentGuard for account 111122223333; the first is Shared\/Guard0/,
    );
  });

  test('two env-agnostic stacks fail: they deploy to the same account', () => {
    expect(synth([undefined, undefined])).toThrow(/Stack1\/Guard1 is a second AgentGuard for two env-agnostic stacks/);
  });

  test('different accounts synthesize', () => {
    expect(synth([A, B])).not.toThrow();
  });
});
