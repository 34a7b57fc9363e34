import { loadConfig } from '../../lambda/guard/config';
import { GUARD_CONFIG_ENV, GuardConfig } from '../../lib/core/config';
import { guardConfig } from '../support/guard-fixture';

function env(value: unknown): Record<string, string> {
  return { [GUARD_CONFIG_ENV]: typeof value === 'string' ? value : JSON.stringify(value) };
}

/** The fixture with one field, at a dotted path, replaced (or removed, for `undefined`). */
function withField(path: string, value: unknown): Record<string, unknown> {
  const config = JSON.parse(JSON.stringify(guardConfig())) as Record<string, unknown>;
  const keys = path.split('.');
  let target: Record<string, unknown> = config;
  for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
  const last = keys[keys.length - 1];
  if (value === undefined) delete target[last];
  else target[last] = value;
  return config;
}

describe('loadConfig', () => {
  it('accepts the fixture configuration and returns it unchanged', () => {
    // GIVEN the construct's JSON in the environment
    const config = guardConfig();
    // WHEN loaded
    const loaded = loadConfig(env(config));
    // THEN it is the same configuration
    expect(loaded).toEqual(config);
  });

  it.each<[string, Partial<GuardConfig>]>([
    ['MONITOR mode', { mode: 'MONITOR' }],
    ['a fixed production signal', { production: { source: 'fixed', production: false } }],
    [
      'an organizational-unit signal with a role',
      {
        production: {
          source: 'organizational-unit',
          ouPath: 'r-ab12/ou-ab12-11111111/ou-ab12-22222222',
          roleArn: 'arn:aws:iam::999999999999:role/OrgReader',
        },
      },
    ],
    ['a cache of 0 seconds', { productionCacheSeconds: 0 }],
    ['a GovCloud ARN', { topicArn: 'arn:aws-us-gov:sns:us-gov-west-1:111122223333:AgentGuardNotices' }],
  ])('accepts %s', (_name, overrides) => {
    const config = guardConfig(overrides);
    expect(loadConfig(env(config))).toEqual(config);
  });

  it('rejects a missing variable, naming it', () => {
    expect(() => loadConfig({})).toThrow(`${GUARD_CONFIG_ENV} is not set`);
  });

  it('rejects an empty variable', () => {
    expect(() => loadConfig({ [GUARD_CONFIG_ENV]: '' })).toThrow(`${GUARD_CONFIG_ENV} is not set`);
  });

  it.each(['{not json', 'undefined', "{'accountId': 1}"])('rejects non-JSON %p', (raw) => {
    expect(() => loadConfig(env(raw))).toThrow(`${GUARD_CONFIG_ENV} is not JSON.`);
  });

  it.each(['null', '[]', '42', '"text"'])('rejects JSON that is not an object: %s', (raw) => {
    expect(() => loadConfig(env(raw))).toThrow(`${GUARD_CONFIG_ENV} is invalid`);
  });

  it.each<[string, unknown]>([
    ['accountId', '12345'],
    ['accountId', 111122223333],
    ['mode', 'LOCKDOWN'],
    ['production.source', 'dns'],
    ['production.tagKey', ''],
    ['production.values', []],
    ['productionCacheSeconds', -1],
    ['productionCacheSeconds', 1.5],
    ['productionCacheSeconds', 86401],
    ['traffic.queries', []],
    ['traffic.thresholdPerMinute', -1],
    ['traffic.thresholdPerMinute', '5'],
    ['traffic.lookbackMinutes', 0],
    ['traffic.lookbackMinutes', 1441],
    ['traffic.dropHoldMinutes', 0],
    ['traffic.dropHoldMinutes', 1441],
    ['traffic.dropHoldMinutes', undefined],
    ['boundaryArn', 'AgentGuardBoundary'],
    ['guardPolicyArns', []],
    ['guardPolicyDigest', undefined],
    ['guardPolicyDigest', 'not-a-digest'],
    ['extraProtectedActions', 'ec2:*'],
    ['statusParameterName', 'agent-guard/status'],
    ['topicArn', 'AgentGuardNotices'],
    ['concurrency', 0],
    ['concurrency', 65],
    ['accountId', undefined],
    ['topicArn', undefined],
    ['traffic', undefined],
  ])('rejects %s = %p and names the field', (path, value) => {
    // GIVEN a configuration with one bad field
    const config = withField(path, value);
    // WHEN loaded
    // THEN the message names that field's path
    expect(() => loadConfig(env(config))).toThrow(new RegExp(`${GUARD_CONFIG_ENV} is invalid:[\\s\\S]*at ${path}\\b`));
  });

  it.each<[string, unknown]>([
    ['id', 'Traffic0'],
    ['id', '0traffic'],
    ['regions', ['us-east']],
    ['regions', ['US-EAST-1']],
    ['regions', []],
    ['regions', ['eu-west-1', 'eu-west-1']],
    ['expression', ''],
    ['expression', 'x'.repeat(2049)],
    ['label', ''],
  ])('rejects a traffic query with a bad %s and names it', (field, value) => {
    const config = withField(`traffic.queries.0.${field}`, value);
    expect(() => loadConfig(env(config))).toThrow(`at traffic.queries[0].${field}`);
  });

  it('names every bad field at once', () => {
    // GIVEN two bad fields
    const config = { ...withField('accountId', 'x'), concurrency: 0 };
    // WHEN loaded THEN both are named
    let message = '';
    try {
      loadConfig(env(config));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('at accountId');
    expect(message).toContain('at concurrency');
  });

  it('says an ARN field must be an ARN', () => {
    expect(() => loadConfig(env(withField('boundaryArn', 'policy/AgentGuardBoundary')))).toThrow('must be an ARN');
  });
});
