import { Template } from 'aws-cdk-lib/assertions';
import { createExampleApp } from '../../examples/example-app';
import { classify } from '../../lambda/guard/events';
import { accessDeniedEvent, alarmEvent, roleChangedEvent } from '../support/guard-fixture';
import { matches } from './event-pattern';

interface RuleResource {
  Type: string;
  Properties: { Name?: string; EventPattern?: Record<string, unknown> };
}

const { stack } = createExampleApp();
const rules = Object.values(Template.fromStack(stack).toJSON().Resources as Record<string, RuleResource>)
  .filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern !== undefined)
  .map((r) => ({ name: r.Properties.Name ?? '?', pattern: r.Properties.EventPattern! }));

const ALARM_ARN = { alarm: true };

/** CloudTrail names the role behind an assumed-role session; the role-change rule's `anything-but` needs it. */
function withIssuer(event: Record<string, unknown>): Record<string, unknown> {
  const detail = event.detail as { userIdentity: Record<string, unknown> };
  const issuer = { type: 'Role', arn: 'arn:aws:iam::111122223333:role/PlatformAdmin', userName: 'PlatformAdmin' };
  return {
    ...event,
    detail: { ...detail, userIdentity: { ...detail.userIdentity, sessionContext: { sessionIssuer: issuer } } },
  };
}

/** The real event each rule exists for; the alarm's ARN is a token, so the resources field is left out. */
const REAL: Record<string, Record<string, unknown>> = {
  AgentGuardAccessDenied: accessDeniedEvent({ roleName: 'agent-a' }),
  AgentGuardRoleChanges: withIssuer(roleChangedEvent('DetachRolePolicy', 'agent-a')),
  AgentGuardAlarmChanges: { ...alarmEvent(), resources: ALARM_ARN },
};

function patternFor(name: string): Record<string, unknown> {
  const pattern = rules.find((r) => r.name === name)!.pattern;
  // The alarm rule's resources are alarm ARNs from Fn::GetAtt; match them structurally.
  return name === 'AgentGuardAlarmChanges' ? { ...pattern, resources: undefined } : pattern;
}

function stripUndefined(pattern: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(pattern).filter(([, v]) => v !== undefined));
}

describe('forged events: a custom source with a real-looking detail-type', () => {
  test('every event-pattern rule of the guard is one of the rules tested here', () => {
    expect(rules.map((r) => r.name).sort()).toEqual(Object.keys(REAL).sort());
  });

  test.each(rules.map((r) => [r.name, r.pattern] as const))(
    '%s matches only sources that start with aws. (PutEvents cannot write those)',
    (_name, pattern) => {
      const source = pattern.source as unknown[] | undefined;
      expect(source).toBeDefined();
      for (const entry of source!) {
        if (typeof entry === 'string') expect(entry).toMatch(/^aws\.[a-z0-9-]+$/);
        else expect(entry).toEqual({ prefix: 'aws.' });
      }
    },
  );

  test.each(Object.keys(REAL))('%s matches the real AWS event and not the same event forged', (name) => {
    const pattern = stripUndefined(patternFor(name));
    const real = REAL[name];
    expect(matches(pattern, real)).toBe(true);
    for (const source of ['my.app', 'aws', 'awsx.iam', 'amazon.iam', '', 'AWS.iam']) {
      expect(matches(pattern, { ...real, source })).toBe(false);
    }
    expect(matches(pattern, { ...real, source: undefined })).toBe(false);
  });

  test.each(Object.entries(REAL))('%s forged with a custom source is classified as unrecognised', (_name, real) => {
    expect(classify(real)).not.toEqual({ kind: 'sweep', trigger: 'unrecognised' });
    for (const source of ['my.app', 'custom.iam', 'iam', 'awsiam']) {
      expect(classify({ ...real, source })).toEqual({ kind: 'sweep', trigger: 'unrecognised' });
    }
  });
});

describe('the AccessDenied rule: denials that name a guard policy (IAM-39)', () => {
  const pattern = patternFor('AgentGuardAccessDenied');
  const session = `arn:aws:sts::111122223333:assumed-role/agent-a/agent`;
  const fn = 'arn:aws:lambda:us-east-1:111122223333:function:orders';
  /** Lambda refuses DeleteFunction; the message is IAM's, naming the denying policy. */
  const lambdaDenied = (policyText: string) =>
    accessDeniedEvent({
      roleName: 'agent-a',
      errorCode: 'AccessDeniedException',
      eventSource: 'lambda.amazonaws.com',
      eventName: 'DeleteFunction20150331',
      errorMessage: `User: ${session} is not authorized to perform: lambda:DeleteFunction on resource: ${fn} ${policyText}`,
    });

  test.each([
    ['an identity-based policy', 'with an explicit deny in an identity-based policy'],
    ['the permissions boundary', 'with an explicit deny in a permissions boundary'],
  ])('a denial by a guard policy as %s matches', (_kind, phrase) => {
    const policy = phrase.endsWith('boundary') ? 'AgentGuardBoundary' : 'AgentGuardDeny1';
    expect(matches(pattern, lambdaDenied(`${phrase}: arn:aws:iam::111122223333:policy/agent-guard/${policy}`))).toBe(
      true,
    );
  });

  test.each([
    [
      'another customer policy',
      'with an explicit deny in an identity-based policy: arn:aws:iam::111122223333:policy/team/NoDeletes',
    ],
    [
      'a guard-like name outside the guard path',
      'with an explicit deny in an identity-based policy: arn:aws:iam::111122223333:policy/AgentGuardDeny1',
    ],
    [
      'a service control policy',
      'with an explicit deny in a service control policy: arn:aws:organizations::999988887777:policy/o-abcd/service_control_policy/p-abcd',
    ],
    ['no policy at all (implicit deny)', 'because no identity-based policy allows the lambda:DeleteFunction action'],
  ])('a denial by %s does not match', (_kind, text) => {
    expect(matches(pattern, lambdaDenied(text))).toBe(false);
  });

  test('a guard-policy denial forged with a custom source does not match', () => {
    const real = lambdaDenied(
      'with an explicit deny in an identity-based policy: arn:aws:iam::111122223333:policy/agent-guard/AgentGuardDeny1',
    );
    expect(matches(pattern, real)).toBe(true);
    expect(matches(pattern, { ...real, source: 'custom.x' })).toBe(false);
  });

  test('EC2, whose messages are encoded and name no policy, matches on its error code only', () => {
    const ec2 = accessDeniedEvent({
      roleName: 'agent-a',
      errorMessage: 'You are not authorized to perform this operation. Encoded authorization failure message: AbC',
    });
    expect(matches(pattern, ec2)).toBe(true);
    expect(matches(pattern, { ...ec2, detail: { ...(ec2.detail as object), eventSource: 's3.amazonaws.com' } })).toBe(
      false,
    );
  });
});
