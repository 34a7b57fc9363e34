import * as fc from 'fast-check';
import { GetRoleCommand, GetRoleCommandInput, GetRoleCommandOutput, TagRoleCommand } from '@aws-sdk/client-iam';
import { classify, GuardEvent, ROLE_EVENT_NAMES } from '../../lambda/guard/events';
import {
  accessDeniedEvent,
  ADMIN_ACTOR,
  alarmEvent,
  constrainedRole,
  encodePolicy,
  newAgentRole,
  newGuard,
  roleArn,
  roleChangedEvent,
  scheduledEvent,
  stateTagsWritten,
  trustPolicy,
} from '../support/guard-fixture';

const UNRECOGNISED: GuardEvent = { kind: 'sweep', trigger: 'unrecognised' };

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Sets (or, for `undefined`, deletes) the value at a path of a JSON object, in place. */
function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  let node: Record<string, unknown> = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) {
      node[key] = {};
    }
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
  return target;
}

function mutated(event: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  return setPath(clone(event), path, value);
}

/** An access-denied event as CloudTrail records it for an agent role. */
const DENIED = accessDeniedEvent({
  roleName: 'agent-a',
  errorCode: 'AccessDenied',
  eventSource: 'ec2.amazonaws.com',
  eventName: 'TerminateInstances',
  errorMessage: 'denied by policy',
  resourceArn: 'arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0',
});

describe('classify: recognised events', () => {
  it('a Lambda call refused to an agent role names the IAM action, without the version suffix (CT-1)', () => {
    const denied = accessDeniedEvent({
      roleName: 'agent-a',
      errorCode: 'AccessDeniedException',
      eventSource: 'lambda.amazonaws.com',
      eventName: 'UpdateFunctionCode20150331v2',
    });
    expect(classify(denied)).toMatchObject({ kind: 'access-denied', action: 'lambda:UpdateFunctionCode' });
  });

  it('a scheduled event is a scheduled sweep', () => {
    expect(classify(scheduledEvent())).toEqual({ kind: 'sweep', trigger: 'schedule' });
  });

  it('an alarm state change is an alarm sweep', () => {
    expect(classify(alarmEvent())).toEqual({ kind: 'sweep', trigger: 'alarm' });
  });

  it.each([...ROLE_EVENT_NAMES])('IAM %s on a role is role-changed, with the actor', (eventName) => {
    expect(classify(roleChangedEvent(eventName, 'agent-a'))).toEqual({
      kind: 'role-changed',
      roleName: 'agent-a',
      eventName,
      actor: ADMIN_ACTOR,
    });
  });

  it('accepts role names with every character IAM allows', () => {
    const name = 'a_b+c=d,e.f@g-h';
    expect(classify(roleChangedEvent('TagRole', name))).toMatchObject({ kind: 'role-changed', roleName: name });
    expect(classify(roleChangedEvent('TagRole', 'r'.repeat(64)))).toMatchObject({ kind: 'role-changed' });
  });

  it('an IAM call refused to an agent role is access-denied, with the IAM action name and resource', () => {
    expect(classify(DENIED)).toEqual({
      kind: 'access-denied',
      roleArn: roleArn('agent-a'),
      roleName: 'agent-a',
      action: 'ec2:TerminateInstances',
      resource: 'arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0',
      errorMessage: 'denied by policy',
    });
  });

  it.each(['AccessDenied', 'AccessDeniedException', 'Client.UnauthorizedOperation'])(
    'recognises the error code %s',
    (errorCode) => {
      expect(classify(mutated(DENIED, ['detail', 'errorCode'], errorCode))).toMatchObject({ kind: 'access-denied' });
    },
  );

  it.each([
    ['monitoring.amazonaws.com', 'DeleteAlarms', 'cloudwatch:DeleteAlarms'],
    ['email.amazonaws.com', 'DeleteIdentity', 'ses:DeleteIdentity'],
    ['tagging.amazonaws.com', 'UntagResources', 'tag:UntagResources'],
    ['rds.amazonaws.com', 'DeleteDBInstance', 'rds:DeleteDBInstance'],
  ])('maps event source %s to the IAM prefix', (eventSource, eventName, action) => {
    const event = mutated(mutated(DENIED, ['detail', 'eventSource'], eventSource), ['detail', 'eventName'], eventName);
    expect(classify(event)).toMatchObject({ kind: 'access-denied', action });
  });

  it('reads the resource from a lower-case arn key too, and leaves it out when there is none', () => {
    expect(classify(mutated(DENIED, ['detail', 'resources'], [{ arn: 'arn:aws:s3:::bucket' }]))).toMatchObject({
      resource: 'arn:aws:s3:::bucket',
    });
    expect(classify(mutated(DENIED, ['detail', 'resources'], undefined))).toMatchObject({ resource: undefined });
  });

  it('an access-denied IAM call on a role counts as access-denied, not as role-changed', () => {
    const event = mutated(roleChangedEvent('DetachRolePolicy', 'agent-a'), ['detail', 'errorCode'], 'AccessDenied');
    setPath(event, ['detail', 'userIdentity', 'sessionContext'], {
      sessionIssuer: { type: 'Role', arn: roleArn('agent-a'), userName: 'agent-a' },
    });
    expect(classify(event)).toMatchObject({ kind: 'access-denied', action: 'iam:DetachRolePolicy' });
  });
});

describe('classify: unrecognised events become a full sweep', () => {
  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'Scheduled Event'],
    ['a number', 42],
    ['an array', [scheduledEvent()]],
    ['an empty object', {}],
    ['an unknown detail-type', { ...scheduledEvent(), 'detail-type': 'Something Else' }],
    ['a scheduled event from another source', { ...scheduledEvent(), source: 'my.app' }],
    ['an alarm from another source', { ...alarmEvent(), source: 'aws.events' }],
    ['a denial forged with a custom source', { ...DENIED, source: 'my.app' }],
    ['a role change forged with a custom source', { ...roleChangedEvent('DetachRolePolicy', 'a'), source: 'iam' }],
    ['an IAM role change from a source other than aws.iam', { ...roleChangedEvent('TagRole', 'a'), source: 'aws.ec2' }],
    ['detail-type of the wrong type', { ...scheduledEvent(), 'detail-type': ['Scheduled Event'] }],
    ['source missing', mutated(scheduledEvent(), ['source'], undefined)],
    ['a CloudTrail event without detail', mutated(roleChangedEvent('TagRole', 'a'), ['detail'], undefined)],
    ['a CloudTrail detail that is a string', mutated(roleChangedEvent('TagRole', 'a'), ['detail'], 'x')],
    [
      'an IAM call that is not a role event',
      mutated(roleChangedEvent('TagRole', 'a'), ['detail', 'eventName'], 'CreateUser'),
    ],
    [
      'a role event from another service',
      mutated(roleChangedEvent('TagRole', 'a'), ['detail', 'eventSource'], 'sts.amazonaws.com'),
    ],
    [
      'a role name that is not a string',
      mutated(roleChangedEvent('TagRole', 'a'), ['detail', 'requestParameters', 'roleName'], 7),
    ],
    [
      'a role name with a slash',
      mutated(roleChangedEvent('TagRole', 'a'), ['detail', 'requestParameters', 'roleName'], 'a/b'),
    ],
    ['a role name of 65 characters', roleChangedEvent('TagRole', 'r'.repeat(65))],
    ['an empty role name', roleChangedEvent('TagRole', '')],
    ['no request parameters', mutated(roleChangedEvent('TagRole', 'a'), ['detail', 'requestParameters'], null)],
    ['request parameters as a list', mutated(roleChangedEvent('TagRole', 'a'), ['detail', 'requestParameters'], ['a'])],
    [
      'an event source that is no AWS host',
      mutated(roleChangedEvent('TagRole', 'a'), ['detail', 'eventSource'], 'iam.example.com'),
    ],
    ['an event name with punctuation', mutated(roleChangedEvent('TagRole', 'a'), ['detail', 'eventName'], 'Tag:Role')],
    [
      'a denial of a user, not a role',
      mutated(DENIED, ['detail', 'userIdentity', 'sessionContext', 'sessionIssuer', 'type'], 'User'),
    ],
    ['a denial without a session issuer', mutated(DENIED, ['detail', 'userIdentity', 'sessionContext'], undefined)],
    [
      'a denial with an invalid issuer name',
      mutated(DENIED, ['detail', 'userIdentity', 'sessionContext', 'sessionIssuer', 'userName'], 'a b'),
    ],
    [
      'a denial with an issuer arn of the wrong type',
      mutated(DENIED, ['detail', 'userIdentity', 'sessionContext', 'sessionIssuer', 'arn'], 1),
    ],
    ['an error code of the wrong type', mutated(DENIED, ['detail', 'errorCode'], 403)],
    ['resources that are not a list', mutated(DENIED, ['detail', 'resources'], 'arn:aws:s3:::b')],
    [
      'a prototype-pollution request',
      JSON.parse(
        '{"detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":{"eventSource":"iam.amazonaws.com","eventName":"TagRole","requestParameters":{"__proto__":{"roleName":"evil"}}}}',
      ) as unknown,
    ],
    [
      'an envelope hidden in __proto__',
      JSON.parse('{"__proto__":{"detail-type":"Scheduled Event","source":"aws.events"}}') as unknown,
    ],
  ])('%s', (_name, event) => {
    expect(classify(event)).toEqual(UNRECOGNISED);
  });

  it('a failed IAM call that is not a denial is still a role change (the sweep reconciles, which is safe)', () => {
    const event = mutated(roleChangedEvent('TagRole', 'agent-a'), ['detail', 'errorCode'], 'NoSuchEntity');
    expect(classify(event)).toMatchObject({ kind: 'role-changed', roleName: 'agent-a' });
  });
});

// -------------------------------------------------------------------------------------------------
// Fuzzing
// -------------------------------------------------------------------------------------------------

const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/** True when `result` is one of the shapes classify promises. */
function wellFormed(result: GuardEvent): boolean {
  switch (result.kind) {
    case 'sweep':
      return ['schedule', 'alarm', 'unrecognised'].includes(result.trigger) && Object.keys(result).length === 2;
    case 'role-changed':
      return ROLE_NAME.test(result.roleName) && ROLE_EVENT_NAMES.includes(result.eventName);
    case 'access-denied':
      return (
        ROLE_NAME.test(result.roleName) &&
        typeof result.roleArn === 'string' &&
        /^[a-z0-9-]+:[A-Za-z0-9]{1,128}$/.test(result.action)
      );
    default:
      return false;
  }
}

const VALID_EVENTS: Record<string, unknown>[] = [
  scheduledEvent(),
  alarmEvent(),
  roleChangedEvent('TagRole', 'agent-a'),
  roleChangedEvent('DeleteRolePermissionsBoundary', 'agent-a'),
  DENIED,
];

/** Every path to a value in a JSON object, objects included. */
function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const entries = Object.entries(value as Record<string, unknown>);
  return [prefix, ...entries.flatMap(([key, child]) => paths(child, [...prefix, key]))].filter((p) => p.length > 0);
}

/** Values that break a field: wrong types, huge or odd strings, and prototype-pollution objects. */
const badValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constant('x'.repeat(1_000_000)),
  fc.constant('a.'.repeat(100_000) + 'amazonaws.com!'),
  fc.constant(JSON.parse('{"__proto__":{"polluted":true,"roleName":"evil"}}') as unknown),
  fc.constant(JSON.parse('{"constructor":{"prototype":{"polluted":true}}}') as unknown),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A valid event with one field replaced or removed. */
const mutatedEvent: fc.Arbitrary<{ event: unknown; path: string[]; value: unknown }> = fc
  .constantFrom(...VALID_EVENTS)
  .chain((event) =>
    fc.record({ path: fc.constantFrom(...paths(event)), value: badValue }).map(({ path, value }) => ({
      event: mutated(event, path, value),
      path,
      value,
    })),
  );

/** Fields that, when of the wrong type or missing, must make an event unrecognised. */
const REQUIRED: readonly { path: string[]; events: Record<string, unknown>[] }[] = [
  { path: ['detail-type'], events: VALID_EVENTS },
  { path: ['source'], events: VALID_EVENTS },
  { path: ['detail'], events: VALID_EVENTS.slice(2) },
  { path: ['detail', 'eventSource'], events: VALID_EVENTS.slice(2) },
  { path: ['detail', 'eventName'], events: VALID_EVENTS.slice(2) },
  { path: ['detail', 'requestParameters', 'roleName'], events: VALID_EVENTS.slice(2, 4) },
  { path: ['detail', 'userIdentity', 'sessionContext', 'sessionIssuer', 'userName'], events: [DENIED] },
  { path: ['detail', 'userIdentity', 'sessionContext', 'sessionIssuer', 'type'], events: [DENIED] },
];

/** Values no required field may hold (none is a string, so no field can accidentally stay valid). */
const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.integer(),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
  fc.constant(JSON.parse('{"__proto__":{"toString":"x"}}') as unknown),
);

describe('classify: fuzzing', () => {
  afterEach(() => {
    // THEN no input ever polluted Object.prototype
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).roleName).toBeUndefined();
  });

  it('never throws on anything, and anything arbitrary is unrecognised', () => {
    fc.assert(
      fc.property(
        fc.anything({ withNullPrototype: true, withBigInt: true, withDate: true, withMap: true }),
        (value) => {
          expect(classify(value)).toEqual(UNRECOGNISED);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never throws on any JSON value, and a JSON value without an envelope is unrecognised', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(classify(value)).toEqual(UNRECOGNISED);
      }),
      { numRuns: 1000 },
    );
  });

  it('arbitrary objects with a real envelope and a random detail never throw and stay well formed', () => {
    const envelope = fc.record({
      'detail-type': fc.constantFrom('AWS API Call via CloudTrail', 'Scheduled Event', 'CloudWatch Alarm State Change'),
      source: fc.constantFrom('aws.iam', 'aws.events', 'aws.cloudwatch', 'aws.ec2'),
      detail: fc.oneof(fc.anything(), fc.jsonValue()),
    });
    fc.assert(
      fc.property(envelope, (event) => {
        expect(wellFormed(classify(event))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('a valid event with any one field mutated never throws, and the result is well formed', () => {
    fc.assert(
      fc.property(mutatedEvent, ({ event }) => {
        expect(wellFormed(classify(event))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('a required field of the wrong type, or missing, makes the event unrecognised', () => {
    const arbitrary = fc
      .constantFrom(...REQUIRED)
      .chain(({ path, events }) =>
        fc.record({ event: fc.constantFrom(...events), path: fc.constant(path), value: wrongType }),
      );
    fc.assert(
      fc.property(arbitrary, ({ event, path, value }) => {
        expect(classify(mutated(event, path, value))).toEqual(UNRECOGNISED);
      }),
      { numRuns: 1000 },
    );
  });

  it('a role name that IAM would not accept never reaches role-changed', () => {
    const badName = fc.string({ minLength: 0, maxLength: 100 }).filter((s) => !ROLE_NAME.test(s));
    fc.assert(
      fc.property(badName, fc.constantFrom(...ROLE_EVENT_NAMES), (name, eventName) => {
        expect(classify(roleChangedEvent(eventName, name))).toEqual(UNRECOGNISED);
      }),
      { numRuns: 500 },
    );
  });

  // No wall-clock bound here (these machines are noisy): a 5 MB string in any field must still be
  // classified, and never reach a role name or an action.
  it('huge strings in every field are classified, and never become a role name or an action', () => {
    const huge = 'a'.repeat(5_000_000);
    for (const event of VALID_EVENTS) {
      for (const path of paths(event)) {
        const result = classify(mutated(event, path, huge));
        if (result.kind === 'role-changed') expect(result.roleName.length).toBeLessThanOrEqual(64);
        if (result.kind === 'access-denied') {
          expect(result.roleName.length).toBeLessThanOrEqual(64);
          expect(result.action.length).toBeLessThanOrEqual(200);
        }
      }
    }
  });
});

describe('Guard.handle: fuzzed events in a protected account', () => {
  /** A guard for a protected account, whose every role name reads as an agent role that is open. */
  function protectedGuard() {
    const fx = newGuard({
      roles: [newAgentRole('agent-new'), constrainedRole('agent-open', 'open'), constrainedRole('agent-a', 'open')],
    });
    const trust = encodePolicy(trustPolicy(true));
    fx.iam.on(GetRoleCommand).callsFake((input: GetRoleCommandInput): GetRoleCommandOutput => ({
      $metadata: {},
      Role: {
        RoleName: input.RoleName,
        RoleId: 'AROAFUZZ',
        Arn: roleArn(input.RoleName ?? ''),
        Path: '/',
        CreateDate: new Date(0),
        AssumeRolePolicyDocument: trust,
        Tags: [
          { Key: 'agent-guard:agent', Value: 'true' },
          { Key: 'agent-guard:state', Value: 'open' },
        ],
      },
    }));
    return fx;
  }

  const fuzzedEvent: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 1, arbitrary: fc.anything() },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
    { weight: 4, arbitrary: mutatedEvent.map((m) => m.event) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(...VALID_EVENTS) },
  );

  it('never rejects, and every TagRole it issues writes locked, never open', async () => {
    await fc.assert(
      fc.asyncProperty(fuzzedEvent, async (event) => {
        // GIVEN a protected account whose agent roles are open
        const fx = protectedGuard();
        // WHEN any event arrives
        const summary = await fx.guard.handle(event);
        // THEN the guard never opens a role
        const tags = stateTagsWritten(fx.iam);
        expect(tags.every((t) => t.value === 'locked')).toBe(true);
        expect(fx.iam.commandCalls(TagRoleCommand).length).toBe(tags.length);
        // AND it reports locked whenever it evaluated
        if (summary.locked !== undefined) expect(summary.locked).toBe(true);
        // AND an unrecognised event is logged as a warning and still sweeps (locking all three roles)
        if (classify(event).kind === 'sweep' && summary.trigger === 'unrecognised') {
          expect(fx.logger.messages('warn')).toContain('Unrecognised event; running a full sweep instead');
          expect(tags.map((t) => t.roleName).sort()).toEqual(['agent-a', 'agent-new', 'agent-open']);
        } else {
          expect(fx.logger.messages('warn')).not.toContain('Unrecognised event; running a full sweep instead');
        }
      }),
      { numRuns: 300 },
    );
  });
});
