import { createHash } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { CliError } from '../../bin/cli/errors';
import { regionOfFunctionUrl, signedTransport } from '../../bin/cli/transport';
import { cannedTransport, cli, FUNCTION_URL, GOOD_SCOPE } from './cli-fixture';

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const URL_EU = 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-central-1.on.aws/';

interface Captured {
  url: string;
  init: RequestInit;
}

function fakeFetch(status = 200, text = '{"ok":true,"message":"fine"}') {
  const calls: Captured[] = [];
  const fetch = jest.fn((url: URL | string, init?: RequestInit) => {
    calls.push({ url: String(url), init: init! });
    return Promise.resolve(new Response(text, { status }));
  });
  return { calls, fetch: fetch as unknown as typeof globalThis.fetch };
}

describe('signedTransport', () => {
  test('POSTs the JSON body signed with SigV4 for lambda in the region of the function URL', async () => {
    const { calls, fetch } = fakeFetch();
    const send = signedTransport(URL_EU, { credentials: CREDENTIALS, fetch });
    const reply = await send({ op: 'list' });

    expect(reply).toEqual({ statusCode: 200, body: '{"ok":true,"message":"fine"}' });
    expect(calls).toHaveLength(1);
    const { url, init } = calls[0];
    expect(url).toBe(URL_EU);
    expect(init.method).toBe('POST');
    expect(init.body).toBe('{"op":"list"}');
    const headers = init.headers as Record<string, string>;
    expect(headers['content-type']).toBe('application/json');
    expect(headers.host).toBeUndefined();
    expect(headers['x-amz-content-sha256']).toBe(createHash('sha256').update('{"op":"list"}').digest('hex'));
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-central-1\/lambda\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );

    // The signature is that of exactly what is sent (with the Host fetch derives from the URL).
    const amzDate = headers['x-amz-date'];
    const signingDate = new Date(
      `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
    );
    const expected = await new SignatureV4({
      service: 'lambda',
      region: 'eu-central-1',
      credentials: CREDENTIALS,
      sha256: Sha256,
    }).sign(
      new HttpRequest({
        method: 'POST',
        protocol: 'https:',
        hostname: new URL(URL_EU).hostname,
        path: '/',
        headers: { host: new URL(URL_EU).host, 'content-type': 'application/json' },
        body: '{"op":"list"}',
      }),
      { signingDate },
    );
    expect(headers.authorization).toBe(expected.headers.authorization);
  });

  test('the region comes from the host, else from the option; without either it is a usage error', async () => {
    expect(regionOfFunctionUrl('abc123.lambda-url.ap-southeast-2.on.aws')).toBe('ap-southeast-2');
    expect(regionOfFunctionUrl('approvals.example.com')).toBeUndefined();

    const { calls, fetch } = fakeFetch();
    await signedTransport('https://approvals.example.com/x', { region: 'us-west-2', credentials: CREDENTIALS, fetch })(
      {},
    );
    expect((calls[0].init.headers as Record<string, string>).authorization).toContain('/us-west-2/lambda/aws4_request');

    let error: unknown;
    try {
      signedTransport('https://approvals.example.com/', { credentials: CREDENTIALS, fetch });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CliError);
    expect(error).toMatchObject({ exitCode: 2, message: expect.stringContaining('Pass --region') as string });
  });

  test('a network error is a clear failure (exit 1)', async () => {
    const fetch = jest.fn(() =>
      Promise.reject(
        new TypeError('fetch failed', {
          cause: Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }),
        }),
      ),
    );
    const send = signedTransport(URL_EU, {
      credentials: CREDENTIALS,
      fetch: fetch as unknown as typeof globalThis.fetch,
    });
    await expect(send({})).rejects.toMatchObject({
      exitCode: 1,
      message:
        'Could not reach the approval function at https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-central-1.on.aws: ' +
        'ENOTFOUND (getaddrinfo ENOTFOUND x); check the URL and your network.',
    });
  });

  test('no answer in time is a clear failure', async () => {
    const fetch = jest.fn(
      (_url: unknown, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) =>
          init!.signal!.addEventListener('abort', () => reject(init!.signal!.reason as Error)),
        ),
    );
    const send = signedTransport(URL_EU, {
      credentials: CREDENTIALS,
      fetch: fetch as unknown as typeof globalThis.fetch,
      timeoutMs: 20,
    });
    await expect(send({})).rejects.toMatchObject({
      exitCode: 1,
      message: expect.stringContaining('no answer within 0.02s') as string,
    });
  });

  test('no credentials: says how to sign in', async () => {
    const { fetch } = fakeFetch();
    const send = signedTransport(URL_EU, {
      credentials: () => Promise.reject(new Error('Could not load credentials from any providers')),
      fetch,
    });
    await expect(send({})).rejects.toMatchObject({
      exitCode: 1,
      message: expect.stringMatching(/no usable AWS credentials \(Could not load credentials.*aws sso login/) as string,
    });
  });
});

describe('answers of the approval function, through run()', () => {
  async function approveWith(reply: { statusCode: number; body: string }) {
    return cli(['approve', ...GOOD_SCOPE], {
      transport: cannedTransport(reply).transport,
      env: { AGENT_GUARD_URL: FUNCTION_URL },
    });
  }

  test.each([
    [
      { statusCode: 403, body: '{"Message":"Forbidden"}' },
      1,
      /function URL's IAM auth \(Forbidden\).*lambda:InvokeFunctionUrl/,
    ],
    [
      { statusCode: 403, body: '{"ok":false,"refused":true,"message":"No self-approval"}' },
      1,
      /Refused: No self-approval/,
    ],
    [{ statusCode: 200, body: '{"ok":false,"refused":true,"message":"nope"}' }, 1, /Refused: nope/],
    [
      { statusCode: 400, body: '{"ok":false,"refused":false,"message":"The body is not JSON."}' },
      2,
      /rejected the request: The body is not JSON\./,
    ],
    [{ statusCode: 400, body: '<html>bad</html>' }, 1, /HTTP 400 with a body that is not JSON: <html>bad<\/html>/],
    [
      { statusCode: 502, body: 'Internal Server Error' },
      1,
      /HTTP 502 with a body that is not JSON: Internal Server Error It failed/,
    ],
    [{ statusCode: 429, body: '{"Message":"Too Many Requests"}' }, 1, /failed \(HTTP 429\): Too Many Requests/],
    [{ statusCode: 200, body: '' }, 1, /HTTP 200 with a body that is not JSON: \(empty\)/],
    [{ statusCode: 200, body: '"ok"' }, 1, /not JSON/],
  ])('%j → exit %i', async (reply, code, says) => {
    const result = await approveWith(reply);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(says);
    expect(result.stdout).toBe('');
  });

  test('a transport that throws something unexpected is exit 1, not a crash', async () => {
    const result = await cli(['list'], {
      transport: () => () => Promise.reject(new Error('socket hang up')),
      env: { AGENT_GUARD_URL: FUNCTION_URL },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Could not call the approval function: socket hang up');
  });

  test('a transport factory that throws is exit 1', async () => {
    const result = await cli(['list'], {
      transport: () => {
        throw new Error('bad config');
      },
      env: { AGENT_GUARD_URL: FUNCTION_URL },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('bad config');
  });
});
