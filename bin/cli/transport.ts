import { Sha256 } from '@aws-crypto/sha256-js';
import { SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromNodeProviderChain, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { CliError, failure, messageOf, quote, usageError } from './errors';
import { readParameterWith } from './ssm-read';

/** What the approval function answered. */
export interface HttpReply {
  readonly statusCode: number;
  readonly body: string;
}

/** Sends one request body to the approval function. */
export type Transport = (body: unknown) => Promise<HttpReply>;

/**
 * Where and as whom the CLI calls AWS: --region, --profile, --account and --assume-role, after the
 * environment is applied.
 */
export interface AwsTarget {
  readonly region?: string;
  /** A profile of the shared AWS config files; unset means the SDK's default ($AWS_PROFILE, else default). */
  readonly profile?: string;
  /** The account the CLI must act in: credentials of any other account are refused before the first call. */
  readonly account?: string;
  /** A role to assume, with the profile's credentials, before calling. */
  readonly assumeRoleArn?: string;
  /** The session name of the assumed role; it shows in CloudTrail and in approval records. */
  readonly sessionName?: string;
}

/** How credentials are made; replaced in tests, since AssumeRole and GetCallerIdentity need AWS. */
export interface CredentialSources {
  readonly base: (profile: string | undefined) => AwsCredentialIdentityProvider;
  readonly assumeRole: (
    roleArn: string,
    sessionName: string,
    base: AwsCredentialIdentityProvider,
    region: string | undefined,
  ) => AwsCredentialIdentityProvider;
  /** The account of the credentials, from STS GetCallerIdentity (which needs no permission, STS-21). */
  readonly accountOf: (credentials: AwsCredentialIdentity, region: string | undefined) => Promise<string | undefined>;
}

export const AWS_CREDENTIAL_SOURCES: CredentialSources = {
  base: (profile) => fromNodeProviderChain(profile !== undefined ? { profile } : {}),
  // 15 minutes, the least AssumeRole grants (STS-20): a CLI command needs no more.
  assumeRole: (roleArn, sessionName, base, region) =>
    fromTemporaryCredentials({
      masterCredentials: base,
      params: { RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: 900 },
      ...(region !== undefined ? { clientConfig: { region } } : {}),
    }),
  accountOf: async (credentials, region) => {
    const sts = new STSClient({ credentials, ...(region !== undefined ? { region } : {}) });
    try {
      return (await sts.send(new GetCallerIdentityCommand({}))).Account;
    } finally {
      sts.destroy();
    }
  },
};

/**
 * The credentials for `target`: the profile's (the default chain without one), then the assumed role's
 * when there is one. With an account, the first resolution checks it and fails on any other, so nothing
 * is signed with credentials of the wrong account.
 */
export function credentialsFor(
  target: AwsTarget,
  sources: CredentialSources = AWS_CREDENTIAL_SOURCES,
): AwsCredentialIdentityProvider {
  const base = sources.base(target.profile);
  const credentials =
    target.assumeRoleArn !== undefined
      ? sources.assumeRole(target.assumeRoleArn, target.sessionName ?? 'agent-guard-cli', base, target.region)
      : base;
  const account = target.account;
  if (account === undefined) return credentials;
  let checked: Promise<void> | undefined;
  return async (options) => {
    const identity = await credentials(options);
    checked ??= sources.accountOf(identity, target.region).then((actual) => {
      if (actual !== account) {
        checked = undefined;
        throw failure(
          `The credentials ${target.assumeRoleArn !== undefined ? `of role ${target.assumeRoleArn}` : target.profile !== undefined ? `of profile ${quote(target.profile)}` : 'of the default chain'} ` +
            `are for account ${actual ?? 'unknown'}, not --account ${account}. ` +
            'Pass the profile of that account, or --assume-role with a role in it.',
        );
      }
    });
    await checked;
    return identity;
  };
}

/** SDK client settings for `target`: its region, and its credentials when an account or role is named. */
export function clientConfig(target: AwsTarget): {
  region?: string;
  profile?: string;
  credentials?: AwsCredentialIdentityProvider;
} {
  return {
    ...(target.region !== undefined ? { region: target.region } : {}),
    ...(target.profile !== undefined ? { profile: target.profile } : {}),
    ...(target.account !== undefined || target.assumeRoleArn !== undefined
      ? { credentials: credentialsFor(target) }
      : {}),
  };
}

/** The message for a call that needs a region and has none. */
export function missingRegion(what: string, profile: string | undefined): string {
  return (
    `No AWS region for ${what}. Pass --region REGION (where AgentGuard is deployed) or set AWS_REGION` +
    (profile !== undefined ? `, or set region in profile ${quote(profile)} of ~/.aws/config.` : '.')
  );
}

export interface SignedTransportOptions extends AwsTarget {
  /** @default credentialsFor(this options' target): the profile's, or the assumed role's */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default 30,000 */
  readonly timeoutMs?: number;
}

/** The region of a Lambda function URL, from its host name. */
export function regionOfFunctionUrl(hostname: string): string | undefined {
  return /^[a-z0-9]+\.lambda-url\.([a-z0-9-]+)\.on\.aws$/.exec(hostname.toLowerCase())?.[1];
}

/** Checks the approval function URL; only HTTPS, or HTTP to this machine (for tests and tunnels). */
export function checkUrl(value: string, from: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw usageError(
      `${from} ${quote(value)} is not a URL. Give the approval function URL, https://<id>.lambda-url.<region>.on.aws/.`,
    );
  }
  const local = url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !local) {
    throw usageError(`${from} ${quote(value)} must be an https:// URL: requests carry signed credentials.`);
  }
  return url;
}

/**
 * POSTs JSON to the approval function URL, signed with SigV4 (service `lambda`) with the default
 * credential chain, as IAM auth on a function URL requires.
 */
export function signedTransport(urlText: string, options: SignedTransportOptions = {}): Transport {
  const url = checkUrl(urlText, 'The approval function URL');
  const region = regionOfFunctionUrl(url.hostname) ?? options.region;
  if (!region) {
    throw usageError(
      missingRegion(`signing calls to ${quote(url.host)}, which is not a Lambda function URL`, options.profile),
    );
  }
  const signer = new SignatureV4({
    service: 'lambda',
    region,
    credentials: options.credentials ?? credentialsFor({ ...options, region }),
    sha256: Sha256,
  });
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;

  return async (body) => {
    const payload = JSON.stringify(body);
    const request = new HttpRequest({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { host: url.host, 'content-type': 'application/json' },
      body: payload,
    });
    let signed: HttpRequest;
    try {
      signed = (await signer.sign(request)) as HttpRequest;
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw failure(
        `Could not sign the request: no usable AWS credentials (${messageOf(error)}). ` +
          (options.profile !== undefined
            ? `Check profile ${quote(options.profile)} in ~/.aws/config, or sign in with aws sso login --profile ${quote(options.profile)}.`
            : 'Sign in first, for example with aws sso login, or pass --profile or set AWS_PROFILE.'),
      );
    }
    // fetch sets Host itself, from the URL; it is the value that was signed.
    const headers = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k.toLowerCase() !== 'host'));
    let response: Response;
    try {
      response = await doFetch(url, {
        method: 'POST',
        headers,
        body: payload,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw failure(`Could not reach the approval function at ${url.origin}: ${networkReason(error, timeoutMs)}.`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw failure(`The approval function's answer was cut off (HTTP ${response.status}): ${messageOf(error)}.`);
    }
    return { statusCode: response.status, body: text };
  };
}

function networkReason(error: unknown, timeoutMs: number): string {
  const name = (error as { name?: unknown } | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return `no answer within ${timeoutMs / 1000}s`;
  }
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') {
    return `${cause.code}${typeof cause.message === 'string' ? ` (${cause.message})` : ''}; check the URL and your network`;
  }
  return `${messageOf(error)}; check the URL and your network`;
}

/** Reads an SSM parameter as `target`; undefined when it does not exist. */
export function readSsmParameter(name: string, target: AwsTarget): Promise<string | undefined> {
  return readParameterWith(clientConfig(target), name);
}

/**
 * The region the AWS SDK would use with no --region and no AWS_REGION: that of the profile in the
 * shared config files. Undefined when there is none.
 */
export async function profileRegion(profile: string | undefined): Promise<string | undefined> {
  const ssm = new SSMClient(profile !== undefined ? { profile } : {});
  try {
    return await ssm.config.region();
  } catch {
    return undefined;
  } finally {
    ssm.destroy();
  }
}
