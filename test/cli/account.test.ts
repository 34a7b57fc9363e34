/**
 * `--account` and `--assume-role`: the on-call CLI acting on the guard of another account. The
 * account is checked against the credentials (STS GetCallerIdentity, STS-21) before anything is signed,
 * and bad flags are usage errors with nothing sent.
 */
import type { AwsCredentialIdentity } from '@smithy/types';
import { EXIT } from '../../bin/cli/errors';
import { AwsTarget, credentialsFor, CredentialSources, signedTransport } from '../../bin/cli/transport';
import { AGENT_ROLE_ARN, cli, FUNCTION_URL, GOOD_SCOPE, okReply } from './cli-fixture';

const HOME = '111122223333';
const OTHER = '444455556666';

/**
 * Credentials whose key id names their account, as AWS's do not: the fake STS reads it back. Assuming
 * a role gives credentials of the role's account (the account in its ARN), as STS AssumeRole does.
 */
function fakeSources(profileAccount: string): CredentialSources & { assumed: unknown[]; identityCalls: number } {
  const creds = (account: string): AwsCredentialIdentity => ({ accessKeyId: `AKIA-${account}`, secretAccessKey: 's' });
  const sources = {
    assumed: [] as unknown[],
    identityCalls: 0,
    base: () => () => Promise.resolve(creds(profileAccount)),
    assumeRole: (roleArn: string, sessionName: string, _base: unknown, region: string | undefined) => {
      sources.assumed.push({ roleArn, sessionName, region });
      return () => Promise.resolve(creds(/::(\d{12}):/.exec(roleArn)![1]));
    },
    accountOf: (credentials: AwsCredentialIdentity) => {
      sources.identityCalls++;
      return Promise.resolve(credentials.accessKeyId.slice('AKIA-'.length));
    },
  };
  return sources;
}

describe('credentialsFor', () => {
  it('refuses a profile of another account than --account, naming both, and caches nothing wrong', async () => {
    const sources = fakeSources(OTHER);
    const provider = credentialsFor({ profile: 'prod', account: HOME }, sources);
    await expect(provider()).rejects.toThrow(
      `The credentials of profile 'prod' are for account ${OTHER}, not --account ${HOME}.`,
    );
    // A second try checks again rather than trusting a failed check.
    await expect(provider()).rejects.toThrow(/not --account/);
    expect(sources.identityCalls).toBe(2);
  });

  it('accepts a profile of --account, and asks STS once per command', async () => {
    const sources = fakeSources(HOME);
    const provider = credentialsFor({ profile: 'prod', account: HOME }, sources);
    await expect(provider()).resolves.toMatchObject({ accessKeyId: `AKIA-${HOME}` });
    await provider();
    expect(sources.identityCalls).toBe(1);
  });

  it('assumes the role with the session name and region given, and checks the account it lands in', async () => {
    const sources = fakeSources(OTHER);
    const target: AwsTarget = {
      region: 'eu-west-1',
      account: HOME,
      assumeRoleArn: `arn:aws:iam::${HOME}:role/OnCall`,
      sessionName: 'agent-guard-cli-alice',
    };
    await expect(credentialsFor(target, sources)()).resolves.toMatchObject({ accessKeyId: `AKIA-${HOME}` });
    expect(sources.assumed).toEqual([
      { roleArn: `arn:aws:iam::${HOME}:role/OnCall`, sessionName: 'agent-guard-cli-alice', region: 'eu-west-1' },
    ]);
  });

  it('without --account, never calls STS', async () => {
    const sources = fakeSources(OTHER);
    await credentialsFor({ profile: 'dev' }, sources)();
    expect(sources.identityCalls).toBe(0);
  });

  it('a signed call with credentials of the wrong account fails with that reason, and nothing is fetched', async () => {
    const fetched: unknown[] = [];
    const transport = signedTransport(FUNCTION_URL, {
      account: HOME,
      credentials: credentialsFor({ profile: 'prod', account: HOME }, fakeSources(OTHER)),
      fetch: (...args) => {
        fetched.push(args);
        return Promise.reject(new Error('unreachable'));
      },
    });
    await expect(transport({ op: 'list' })).rejects.toThrow(`are for account ${OTHER}, not --account ${HOME}`);
    expect(fetched).toHaveLength(0);
  });
});

describe('the CLI with --account and --assume-role', () => {
  function recording() {
    const targets: AwsTarget[] = [];
    return {
      targets,
      transport: (_url: string, target: AwsTarget) => {
        targets.push(target);
        return () => Promise.resolve(okReply('0 approval(s).'));
      },
    };
  }

  it('assumes the named role of --account, in the partition of the region, as the local user', async () => {
    const { targets, transport } = recording();
    const result = await cli(
      ['list', '--url', FUNCTION_URL, '--region', 'cn-north-1', '--account', HOME, '--assume-role', 'OnCall'],
      { transport, userName: () => 'alice smith' },
    );
    expect(result.code).toBe(EXIT.OK);
    expect(targets).toEqual([
      {
        region: 'cn-north-1',
        account: HOME,
        assumeRoleArn: `arn:aws-cn:iam::${HOME}:role/OnCall`,
        // STS allows only letters, digits and +=,.@_- in a session name (STS-20).
        sessionName: 'agent-guard-cli-alice-smith',
      },
    ]);
  });

  it('takes a role ARN alone, and checks against the account it names', async () => {
    const { targets, transport } = recording();
    const arn = `arn:aws:iam::${HOME}:role/ops/OnCall`;
    const result = await cli(['list', '--url', FUNCTION_URL, '--assume-role', arn], {
      transport,
      userName: () => 'bob',
    });
    expect(result.code).toBe(EXIT.OK);
    expect(targets[0]).toMatchObject({ account: HOME, assumeRoleArn: arn });
  });

  it.each([
    [['--account', '12345'], /--account '12345' is not an AWS account id/],
    [['--assume-role', 'OnCall'], /is a role name: pass --account with it/],
    [['--account', HOME, '--assume-role', `arn:aws:iam::${OTHER}:role/OnCall`], /is a role of account 4444/],
    [['--account', HOME, '--assume-role', 'On Call'], /neither a role name/],
    [['--account', HOME, '--region', 'eusc-de-east-1', '--assume-role', 'OnCall'], /give the role's full ARN/],
  ])('%j is a usage error, and nothing is sent', async (flags, message) => {
    const { targets, transport } = recording();
    const result = await cli(['list', '--url', FUNCTION_URL, ...flags], { transport, userName: () => 'alice' });
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toMatch(message);
    expect(targets).toHaveLength(0);
  });

  it('refuses to approve for an agent role of another account than --account', async () => {
    const { targets, transport } = recording();
    const result = await cli(['approve', ...GOOD_SCOPE, '--url', FUNCTION_URL, '--account', OTHER], { transport });
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain(
      `--role '${AGENT_ROLE_ARN}' is a role of account ${HOME}, not of --account ${OTHER}.`,
    );
    expect(targets).toHaveLength(0);
  });

  it('status reads the SSM parameter of --account with its credentials', async () => {
    const reads: AwsTarget[] = [];
    const result = await cli(['status', '--region', 'eu-west-1', '--account', HOME, '--assume-role', 'OnCall'], {
      readParameter: (_name, target) => {
        reads.push(target);
        return Promise.resolve(undefined);
      },
      userName: () => 'alice',
    });
    expect(result.code).toBe(EXIT.FAILED);
    expect(reads).toEqual([
      expect.objectContaining({
        account: HOME,
        assumeRoleArn: `arn:aws:iam::${HOME}:role/OnCall`,
        region: 'eu-west-1',
      }),
    ]);
  });
});
