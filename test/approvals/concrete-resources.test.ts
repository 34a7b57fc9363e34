import * as fc from 'fast-check';
import {
  ApprovalAccount,
  matchShape,
  resolveApprovalActions,
  validateApprovalResources,
} from '../../lib/core/approval/approval-scope';
import { shapeOf } from '../../lib/core/catalog/arn-formats';
import {
  ACCOUNT_ID,
  AGENT_ARN,
  AGENT_SESSION,
  approveBody,
  CATALOG,
  expectNoLockViolations,
  expectNothingWritten,
  newFixture,
  OTHER_ACCOUNT_ID,
} from '../support/approvals-fixture';
import { arnFormatsOf } from '../support/arn-examples';
import { cannedTransport, cli, FUNCTION_URL, okReply } from '../cli/cli-fixture';

afterEach(expectNoLockViolations);

const HERE: ApprovalAccount = { partition: 'aws', account: ACCOUNT_ID };

/** The check as the function and the dry run make it: the actions resolved from the built-in catalog first. */
function check(
  actions: string[],
  resources?: string[],
  extra: { allResources?: boolean; uses?: number } = {},
): { actions: string[]; resources: string[] } {
  const exact = resolveApprovalActions(actions, CATALOG);
  return validateApprovalResources({ actions: exact, requested: actions, resources, ...extra }, HERE);
}

function refusal(
  actions: string[],
  resources?: string[],
  extra: { allResources?: boolean; uses?: number } = {},
): string {
  try {
    check(actions, resources, extra);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(resources)} for ${actions.join(', ')}`);
}

/**
 * An ARN of an iam-data ARN format: this partition, a literal service where the format has a variable
 * one (`${Vendor}`), us-east-1 where it has a region, the account where it has one (a literal `*` there
 * is any account, so this one), and every variable part of the resource `name`.
 */
function fill(format: string, name: string, account = ACCOUNT_ID, partition = 'aws'): string {
  const [arn, , service, region, acct, ...rest] = format.split(':');
  const named = (part: string): string => part.replace(/\$\{[^}]*\}|\*/g, name);
  return [
    arn,
    partition,
    service.startsWith('${') ? 'rds' : service,
    region === '' ? '' : region.startsWith('${') ? 'us-east-1' : region,
    acct === '' ? '' : account,
    named(rest.join(':')),
  ].join(':');
}

/** Every action of the built-in catalog with its iam-data ARN formats: the oracle of the whole-catalog tests. */
async function catalogFormats(): Promise<[string, string[]][]> {
  const actions = [...new Set([...CATALOG.plain.keys(), ...CATALOG.conditional.flatMap((r) => r.actions)])].sort();
  return Promise.all(actions.map(async (a): Promise<[string, string[]]> => [a, await arnFormatsOf(a)]));
}

describe('resources that name more than a resource are refused', () => {
  test.each([
    ['arn:*:*:*:*:*', /names partition '\*'; this guard is in aws/],
    ['arn:aws:ec2:*:*:*', /names account '\*'; approvals lift the deny in account 111122223333 only/],
    ['arn:aws:ec2:us-east-1:*:instance/i-0abc', /names account '\*'/],
    [`arn:aws:ec2:us-east-1:${OTHER_ACCOUNT_ID}:instance/i-0abc`, /names account '444455556666'/],
    ['arn:aws-cn:ec2:cn-north-1:111122223333:instance/i-0abc', /names partition 'aws-cn'; this guard is in aws/],
    ['arn:aws:s3:::bucket', /is not an ARN of a resource type that ec2:TerminateInstances can act on/],
    ['arn:aws:ec2:us-east-1:111122223333:volume/vol-0abc', /is not an ARN of a resource type/],
    ['arn:aws:ec2:us-east-1:111122223333:instance/*', /names every resource of its type/],
    ['arn:aws:ec2:us-east-1:111122223333:instance/?*', /names every resource of its type/],
    ['arn:aws:ec2:us-east-1:111122223333:*', /is not an ARN of a resource type/],
    ['arn:aws:ec2:us-east-1:111122223333:instance*', /is not an ARN of a resource type/],
    ['arn:aws:ec2:us-east-1:111122223333:instance/${*}', /holds a policy variable/],
    ['arn:aws:ec2:us-east-1:111122223333:instance/${aws:username}', /holds a policy variable/],
    ['arn:aws:ec*:us-east-1:111122223333:instance/i-0abc', /does not name one service/],
    ['arn:aws:ec2:us-east-1:111122223333', /is not a resource ARN/],
    ['*', /^A bare '\*' would lift the deny on every resource/],
  ])('%s for ec2:TerminateInstances', (resource, says) => {
    const message = refusal(['ec2:TerminateInstances'], [resource]);
    expect(message).toMatch(says);
    // Every refusal shows a valid example from the action's own ARN format, with this account filled in.
    expect(message).toContain(
      'For example arn:aws:ec2:us-east-1:111122223333:instance/example (ec2:TerminateInstances).',
    );
  });

  test('an S3 bucket pattern of only wildcards, and a bucket ARN for an object action', () => {
    expect(refusal(['s3:DeleteBucket'], ['arn:aws:s3:::*'])).toMatch(/names every resource of its type/);
    expect(refusal(['s3:DeleteObject'], ['arn:aws:s3:::*/*'])).toMatch(/names every resource of its type/);
    expect(refusal(['s3:DeleteObject'], ['arn:aws:s3:::my-bucket'])).toMatch(/is not an ARN of a resource type/);
    // S3 bucket ARNs have no account: one that names an account is not a bucket ARN.
    expect(refusal(['s3:DeleteBucket'], ['arn:aws:s3::111122223333:my-bucket'])).toMatch(/is not an ARN/);
  });

  test('the echo of what was typed is capped at 100 characters', () => {
    const long = `arn:aws:ec2:us-east-1:${OTHER_ACCOUNT_ID}:instance/${'i'.repeat(1500)}`;
    const message = refusal(['ec2:TerminateInstances'], [long]);
    expect(message).toContain(`'${long.slice(0, 97)}...'`);
    expect(message).not.toContain(long.slice(0, 101));
  });

  test('every resource of an approval is checked, not only the first', () => {
    const message = refusal(
      ['ec2:TerminateInstances'],
      ['arn:aws:ec2:us-east-1:111122223333:instance/i-0abc', 'arn:aws:ec2:us-east-1:111122223333:instance/*'],
    );
    expect(message).toMatch(/^'arn:aws:ec2:us-east-1:111122223333:instance\/\*' names every resource/);
  });
});

describe('concrete resources are accepted', () => {
  // Worked examples from the AWS documentation (IAM-73, IAM-74) and the Service Authorization Reference.
  test.each([
    ['s3:DeleteBucket', 'arn:aws:s3:::my-bucket'],
    ['s3:DeleteObject', 'arn:aws:s3:::amzn-s3-demo-bucket/*'],
    ['ec2:TerminateInstances', 'arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0'],
    ['ec2:TerminateInstances', 'arn:aws:ec2:*:111122223333:instance/i-0abc*'],
    ['iam:DeleteRole', 'arn:aws:iam::111122223333:role/agent'],
    ['iam:DeleteRole', 'arn:aws:iam::111122223333:role/division_abc/subdivision_xyz/product_1234/*'],
    ['apigateway:UpdateRestApiPolicy', 'arn:aws:apigateway:us-east-1::/restapis/a1b2c3'],
    ['rds:DeleteDBInstance', 'arn:aws:rds:us-east-1:111122223333:db:prod-db'],
    ['sns:DeleteTopic', 'arn:aws:sns:us-east-2:111122223333:MyTopic'],
    ['dms:DeleteCertificate', 'arn:aws:dms:us-east-1:111122223333:cert:ABCDEFGHIJKLMNOP'],
  ])('%s on %s', (action, resource) => {
    expect(check([action], [resource])).toEqual({ actions: [action], resources: [resource] });
  });

  test('API Gateway path-style ARNs: no account, the path is the name (a stage, from its iam-data format)', async () => {
    const stage = (await arnFormatsOf('apigateway:DELETE')).find((f) => f.includes('/restapis/${RestApiId}/stages/'))!;
    expect(stage).toBe('arn:${Partition}:apigateway:${Region}::/restapis/${RestApiId}/stages/${StageName}');
    const shape = shapeOf('apigateway', stage);
    const at = (arn: string): string => matchShape(arn, shape, HERE);
    expect(at('arn:aws:apigateway:us-east-1::/restapis/a1b2c3/stages/prod')).toBe('named');
    expect(at('arn:aws:apigateway:us-east-1::/restapis/a1b2c3/stages/*')).toBe('named');
    expect(at('arn:aws:apigateway:us-east-1::/restapis/*/stages/*')).toBe('wildcards');
    expect(at('arn:aws:apigateway:us-east-1::/restapis/a1b2c3')).toBe('none');
    expect(at('arn:aws:apigateway:us-east-1:111122223333:/restapis/a1b2c3/stages/prod')).toBe('none');
    expect(at('arn:aws:apigateway:us-east-1::/restapis/*')).toBe('none');
  });

  test('a group or pattern keeps the actions that act on a named resource: each resource needs one', () => {
    const instance = 'arn:aws:ec2:us-east-1:111122223333:instance/i-0abc';
    const endpoint = 'arn:aws:ec2:us-east-1:111122223333:client-vpn-endpoint/cvpn-endpoint-0abc';
    expect(check(['ec2:Terminate*'], [instance])).toEqual({
      actions: ['ec2:TerminateInstances'],
      resources: [instance],
    });
    expect(check(['ec2:Terminate*'], [instance, endpoint]).actions).toEqual(
      expect.arrayContaining(['ec2:TerminateInstances', 'ec2:TerminateClientVpnConnections']),
    );
  });

  test('duplicates are dropped and the resources sorted', () => {
    const b = 'arn:aws:ec2:us-east-1:111122223333:instance/i-b';
    const a = 'arn:aws:ec2:us-east-1:111122223333:instance/i-a';
    expect(check(['ec2:TerminateInstances'], [b, a, b]).resources).toEqual([a, b]);
  });
});

describe('the whole catalog against the ARN formats of iam-data', () => {
  let formats: [string, string[]][];
  beforeAll(async () => {
    formats = await catalogFormats();
  });

  test('an ARN of each format of each action is accepted; in another account or partition it is refused', () => {
    let checked = 0;
    for (const [action, list] of formats) {
      for (const format of list) {
        const arn = fill(format, 'my-name-1');
        expect([action, check([action], [arn]).resources]).toEqual([action, [arn]]);
        expect(() => check([action], [fill(format, 'my-name-1', ACCOUNT_ID, 'aws-us-gov')])).toThrow(/partition/);
        if (format.split(':')[4] !== '') {
          expect(() => check([action], [fill(format, 'my-name-1', OTHER_ACCOUNT_ID)])).toThrow(/names account/);
        }
        checked++;
      }
    }
    console.log(`${checked} (action, ARN format) pairs checked`);
    expect(checked).toBeGreaterThan(2000);
  });

  test('each format with a variable name part names every resource when every variable part is a wildcard', () => {
    for (const [action, list] of formats) {
      const service = action.slice(0, action.indexOf(':'));
      for (const format of list) {
        const resourcePart = format.split(':').slice(5).join(':');
        if (!/\$\{|\*/.test(resourcePart)) continue; // a fixed name (`/restapis`, `catalog`) names one resource
        expect([format, matchShape(fill(format, '*'), shapeOf(service, format), HERE)]).toEqual([format, 'wildcards']);
      }
    }
  });

  test('the actions without a resource type are those with no format, and each needs --all-resources', () => {
    const untyped = formats.filter(([, list]) => list.length === 0).map(([a]) => a);
    console.log(`${untyped.length} catalog actions have no resource type`);
    expect(untyped.length).toBeGreaterThan(100);
    for (const action of untyped) {
      expect(check([action], undefined, { allResources: true, uses: 1 })).toEqual({
        actions: [action],
        resources: ['*'],
      });
      expect(() => check([action], ['arn:aws:ec2:us-east-1:111122223333:instance/i-0abc'])).toThrow(
        /has no resource type: IAM matches it only against '\*'/,
      );
    }
  });
});

describe('--all-resources', () => {
  const UNTYPED = 'aoss:DeleteIndex';

  test('is accepted for an action without a resource type, single use only', () => {
    expect(check([UNTYPED], undefined, { allResources: true, uses: 1 })).toEqual({
      actions: [UNTYPED],
      resources: ['*'],
    });
    expect(refusal([UNTYPED], undefined, { allResources: true })).toBe(
      'An approval of every resource (--all-resources) is single use: add --uses 1.',
    );
  });

  test('is refused for an action with a resource type, with an example of its ARN', () => {
    expect(refusal(['ec2:TerminateInstances'], undefined, { allResources: true, uses: 1 })).toBe(
      "--all-resources is only for actions without a resource type, which IAM matches only against '*'. " +
        'ec2:TerminateInstances acts on named resources: give it with --resources instead, in an approval of its own. ' +
        'For example arn:aws:ec2:us-east-1:111122223333:instance/example (ec2:TerminateInstances).',
    );
  });

  test('is refused beside resources', () => {
    expect(
      refusal([UNTYPED], ['arn:aws:ec2:us-east-1:111122223333:instance/i-0abc'], { allResources: true, uses: 1 }),
    ).toBe('Give either resource ARNs (--resources) or --all-resources, not both.');
  });

  test('an action without a resource type named beside typed ones: split the approval', () => {
    expect(refusal([UNTYPED, 'ec2:TerminateInstances'], ['arn:aws:ec2:us-east-1:111122223333:instance/i-0abc'])).toBe(
      `${UNTYPED} has no resource type: IAM matches it only against '*', so no ARN can name what to lift. ` +
        'Approve it on its own (--all-resources --uses 1), and ec2:TerminateInstances in a second approval with --resources.',
    );
    expect(refusal([UNTYPED, 'ec2:TerminateInstances'], undefined, { allResources: true, uses: 1 })).toMatch(
      /^--all-resources is only for actions without a resource type.*ec2:TerminateInstances acts on named resources/,
    );
  });

  test('a group brings in only the actions that fit: the typed ones with resources, the others with --all-resources', () => {
    const typed = check(['delete'], ['arn:aws:ec2:us-east-1:111122223333:instance/i-0abc']).actions;
    const untyped = check(['delete'], undefined, { allResources: true, uses: 1 }).actions;
    expect(typed).toContain('ec2:TerminateInstances');
    expect(typed).not.toContain(UNTYPED);
    expect(untyped).toContain(UNTYPED);
    expect(untyped).not.toContain('ec2:TerminateInstances');
    expect(new Set([...typed, ...untyped]).size).toBe(typed.length + untyped.length);
  });
});

describe('through the approval function', () => {
  test('an approval of every resource is single use, lifts the deny on *, and the notice says so', async () => {
    const fx = newFixture();
    const record = await fx.approve({
      actions: ['aoss:DeleteIndex'],
      resources: undefined,
      allResources: true,
      uses: 1,
    });
    expect(record).toMatchObject({ actions: ['aoss:DeleteIndex'], resources: ['*'], uses: 1 });
    const [notice] = fx.sns.notices;
    expect(notice.message).toContain(
      "On:       EVERY resource ('*'): these actions have no resource type, so IAM matches them only against '*'. Single use.",
    );
  });

  test.each([
    [{ resources: ['arn:*:*:*:*:*'] }, /names partition '\*'/],
    [{ resources: [`arn:aws:ec2:us-east-1:${OTHER_ACCOUNT_ID}:instance/i-1`] }, /names account '444455556666'/],
    [{ actions: ['aoss:DeleteIndex'], resources: undefined, allResources: true }, /single use: add --uses 1/],
    [{ resources: undefined, allResources: true, uses: 1 }, /only for actions without a resource type/],
  ])('%j is refused, nothing written', async (overrides, says) => {
    const fx = newFixture();
    const reply = await fx.call(approveBody(overrides));
    expect(reply.statusCode).toBe(403);
    expect(reply.body.message).toMatch(says);
    expectNothingWritten(fx);
  });

  test('a request stored before approvals had to be concrete is refused when approved, nothing written', async () => {
    const fx = newFixture();
    const asked = await fx.call({ ...approveBody(), op: 'request' }, AGENT_SESSION);
    const id = asked.body.ok ? asked.body.approvals![0].approvalId : '';
    fx.seedRecord({ ...fx.record(id), resources: ['arn:aws:ec2:*:*:instance/*'] });
    fx.resetCalls();
    const reply = await fx.call({ op: 'approve-pending', approvalId: id });
    expect(reply.statusCode).toBe(403);
    expect(reply.body.message).toMatch(new RegExp(`^${id} cannot be approved as it is: .* names account '\\*'`));
    expect(fx.writes()).toEqual([]);
  });
});

describe('the CLI', () => {
  const scope = ['--role', AGENT_ARN, '--duration', '30m', '--reason', 'replace it'];

  test('approve --all-resources --uses 1 sends allResources and no resources', async () => {
    const { transport, sent } = cannedTransport(okReply('Approved.'));
    const result = await cli(['approve', ...scope, '--actions', 'aoss:DeleteIndex', '--all-resources', '--uses', '1'], {
      transport,
      env: { AGENT_GUARD_URL: FUNCTION_URL },
    });
    expect(result.stderr).toBe('');
    expect(sent[0].body).toMatchObject({ allResources: true, uses: 1, actions: ['aoss:DeleteIndex'] });
    expect(sent[0].body).not.toHaveProperty('resources');
  });

  test('request --all-resources without --uses 1 is a usage error; nothing is sent', async () => {
    const { transport, sent } = cannedTransport(okReply('Requested.'));
    const result = await cli(['request', ...scope, '--actions', 'aoss:DeleteIndex', '--all-resources'], {
      transport,
      env: { AGENT_GUARD_URL: FUNCTION_URL },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--all-resources: An approval of every resource \(--all-resources\) is single use/);
    expect(sent).toEqual([]);
  });

  test('the dry run makes the same check, with the account of --role', async () => {
    const other = await cli([
      'approve',
      ...scope,
      '--actions',
      'ec2:TerminateInstances',
      '--resources',
      `arn:aws:ec2:us-east-1:${OTHER_ACCOUNT_ID}:instance/i-0abc`,
      '--dry-run',
    ]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(
      /--resources: .* names account '444455556666'; approvals lift the deny in account 111122223333/,
    );
    const untyped = await cli([
      'approve',
      ...scope,
      '--actions',
      'aoss:DeleteIndex',
      '--all-resources',
      '--uses',
      '1',
      '--dry-run',
      '--json',
    ]);
    expect(untyped.stderr).toBe('');
    const plan = JSON.parse(untyped.stdout) as {
      policies: { document: { Statement: { Sid: string; Resource?: unknown; NotResource?: unknown }[] } }[];
    };
    const statements = plan.policies.flatMap((p) => p.document.Statement);
    expect(statements.filter((s) => s.Sid.startsWith('ApprovalOutside'))).toEqual([
      expect.objectContaining({ NotResource: ['*'] }),
    ]);
  });
});

describe('fuzz', () => {
  const ACTIONS = ['ec2:TerminateInstances', 's3:DeleteBucket', 's3:DeleteObject', 'iam:DeleteRole', 'sns:DeleteTopic'];
  const piece = fc.oneof(
    fc.constantFrom('arn', 'aws', 'aws-cn', '*', '?', '', 'ec2', 's3', 'iam', 'sns', 'us-east-1', '*-east-?'),
    fc.constantFrom(ACCOUNT_ID, OTHER_ACCOUNT_ID, 'instance/', 'role/', 'i-0abc', '/', '*/', '${*}', 'my-bucket'),
    fc.string({ maxLength: 12 }),
  );
  const arnLike = fc.array(piece, { minLength: 1, maxLength: 9 }).map((parts) => parts.join(':'));
  // A good ARN of the action's type, each part swapped for a near miss one time in four, so that some
  // are accepted and the property is not vacuous.
  const GOOD: Record<string, readonly string[]> = {
    'ec2:TerminateInstances': ['ec2', 'us-east-1', ACCOUNT_ID, 'instance/'],
    's3:DeleteBucket': ['s3', '', '', ''],
    's3:DeleteObject': ['s3', '', '', 'my-bucket/'],
    'iam:DeleteRole': ['iam', '', ACCOUNT_ID, 'role/'],
    'sns:DeleteTopic': ['sns', 'us-east-1', ACCOUNT_ID, ''],
  };
  const part = (good: string, misses: string[]): fc.Arbitrary<string> =>
    fc.oneof({ weight: 3, arbitrary: fc.constant(good) }, { weight: 1, arbitrary: fc.constantFrom(...misses) });
  const nearMiss = (action: string): fc.Arbitrary<string> => {
    const [service, region, account, type] = GOOD[action];
    return fc
      .tuple(
        part('aws', ['aws-cn', '*', 'aws-us-gov']),
        part(service, ['ec2', 's3', 'iam', 'ec*', '*']),
        part(region, ['', '*', 'us-*', 'us-east-1']),
        part(account, ['', OTHER_ACCOUNT_ID, '*', '1111*', ACCOUNT_ID]),
        part(type, ['instance/', 'role/', '', '*', 'instance*', 'my-bucket/']),
        fc.oneof(
          fc.constantFrom('i-0abc', '*', '?', 'agent', 'my-bucket', 'a*b', '${*}', ''),
          fc.string({ maxLength: 8 }),
        ),
      )
      .map(([partition, svc, reg, acct, kind, name]) => ['arn', partition, svc, reg, acct, `${kind}${name}`].join(':'));
  };
  const scoped = fc
    .constantFrom(...ACTIONS)
    .chain((action) =>
      fc.tuple(
        fc.constant(action),
        fc.oneof(
          { weight: 3, arbitrary: nearMiss(action) },
          { weight: 1, arbitrary: arnLike },
          { weight: 1, arbitrary: arnLike.map((a) => a.replace(/:/, '')) },
          { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
        ),
      ),
    );

  /** IAM's wildcard match at its widest: `*` spans colons and slashes (IAM-74), so a miss here is a miss in IAM. */
  function widestMatch(pattern: string, arn: string): boolean {
    const body = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    return new RegExp(`^${body}$`, 's').test(arn);
  }

  test('random resources either pass or are refused with a message; none accepted reaches another account or every resource', async () => {
    const oracle = new Map(await Promise.all(ACTIONS.map(async (a) => [a, await arnFormatsOf(a)] as const)));
    let accepted = 0;
    fc.assert(
      fc.property(scoped, ([action, resource]) => {
        let resources: string[];
        try {
          resources = check([action], [resource]).resources;
        } catch (error) {
          expect(error).toBeInstanceOf(Error);
          expect((error as Error).message).toMatch(/\.$/);
          expect((error as Error).message.length).toBeLessThan(1000);
          return;
        }
        accepted++;
        expect(resources).toEqual([resource]);
        for (const format of oracle.get(action)!) {
          // A fresh name that no accepted pattern can hold: its literal part is not in it.
          const fresh = fill(format, 'zq7zq7zq7');
          expect(widestMatch(resource, fresh)).toBe(false);
          if (format.split(':')[4] !== '') {
            expect(widestMatch(resource, fill(format, 'zq7zq7zq7', OTHER_ACCOUNT_ID))).toBe(false);
          }
        }
      }),
      { numRuns: 3000, seed: 42 },
    );
    console.log(`fuzz: ${accepted} of 3000 random resources accepted`);
    expect(accepted).toBeGreaterThan(30);
  });

  test('accepted patterns built from each format, with random wildcards in the name, stay in this account', async () => {
    const oracle = await Promise.all(ACTIONS.map(async (a) => [a, await arnFormatsOf(a)] as const));
    const name = fc.stringMatching(/^[a-z0-9*?-]{1,10}$/);
    fc.assert(
      fc.property(fc.constantFrom(...oracle), fc.nat(), name, ([action, formats], k, chosen) => {
        const format = formats[k % formats.length];
        const pattern = fill(format, chosen);
        let ok = true;
        try {
          check([action], [pattern]);
        } catch {
          ok = false;
        }
        // Refused exactly when every variable part is only wildcards.
        expect(ok).toBe(/[^*?]/.test(chosen));
        if (ok && format.split(':')[4] !== '') {
          expect(widestMatch(pattern, fill(format, 'zq7zq7zq7', OTHER_ACCOUNT_ID))).toBe(false);
        }
      }),
      { numRuns: 1000, seed: 7 },
    );
  });
});
