/**
 * `agent-guard mcp` driven by the MCP SDK's own client: in-process over the in-memory transport (the CLI's
 * real command, flags and deps), and once as the bundled CLI over stdio. The oracle for each tool is the CLI
 * command of the same job: the server must say what the CLI says.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CliDeps } from '../../bin/cli/cli';
import { EXIT } from '../../bin/cli/errors';
import { bundleCli } from '../support/cli-bundle';
import {
  AGENT_ROLE_ARN,
  AGENT_SESSION,
  ApprovalsHarness,
  cannedTransport,
  cli,
  FUNCTION_URL,
  idSequence,
  INSTANCE_ARN,
  okReply,
  record,
} from './cli-fixture';
import { online, STACK_ARN, statusAt } from './check-fixture';

/** Starts `agent-guard mcp ARGS` with `deps`, and connects a client to it. */
async function serve(deps: Partial<CliDeps>, args: readonly string[] = []) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const running = cli(['mcp', ...args], { ...deps, mcpTransport: () => Promise.resolve(serverSide) });
  const client = new Client({ name: 'mcp-test', version: '1.0.0' });
  await client.connect(clientSide);
  return {
    client,
    call: async (name: string, input: Record<string, unknown> = {}) =>
      (await client.callTool({ name, arguments: input })) as CallToolResult,
    /** Closes the session; the command then ends, and its result is returned. */
    close: async () => {
      await client.close();
      return running;
    },
  };
}

/** Calls one tool on a fresh server and closes it. */
async function callOnce(
  deps: Partial<CliDeps>,
  name: string,
  input: Record<string, unknown> = {},
  args: string[] = [],
) {
  const server = await serve(deps, args);
  try {
    return await server.call(name, input);
  } finally {
    expect((await server.close()).code).toBe(EXIT.OK);
  }
}

function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

/** Each case of the status, as the check fixture fakes it; `locked` is what a reader must treat it as. */
const STATUS_CASES = [
  { name: 'locked', status: statusAt(true, 1), locked: true, head: /^LOCKED: production .* with live traffic/ },
  { name: 'open', status: statusAt(false, 1), locked: false, head: /^OPEN: not production/ },
  // Three 5-minute schedules are 15 minutes (DESIGN.md, Context for agents): 16 is stale.
  {
    name: 'stale',
    status: statusAt(false, 16),
    locked: true,
    head: /^STALE, treat as locked: The guard last reported 16 minutes ago/,
  },
  {
    name: 'unreadable',
    status: new Error('ExpiredToken: the security token expired'),
    locked: true,
    head: /^UNKNOWN, treat as locked: .*\nWhy unknown: could not read SSM parameter \/agent-guard\/status in us-east-1: ExpiredToken/,
  },
];

describe('the tools the server offers', () => {
  test('four tools with their input schemas; request_approval requires what agent-guard request requires', async () => {
    const server = await serve(online());
    const { tools } = await server.client.listTools();
    await server.close();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'check_action',
      'guard_status',
      'list_approvals',
      'request_approval',
    ]);
    const schema = (name: string) => tools.find((t) => t.name === name)!.inputSchema;
    expect(Object.keys(schema('check_action').properties ?? {}).sort()).toEqual([
      'action',
      'command',
      'resource',
      'role',
    ]);
    expect(Object.keys(schema('list_approvals').properties ?? {}).sort()).toEqual(['all', 'role']);

    // The CLI names the flags a request needs; all but --resources (which --all-resources replaces) are required.
    const bare = await cli(['request'], online());
    expect(bare.code).toBe(EXIT.USAGE);
    const needed = [...bare.stderr.matchAll(/--([a-z]+) /g)].map((m) => m[1]).filter((f) => f !== 'resources');
    expect(needed.length).toBeGreaterThanOrEqual(4);
    expect([...(schema('request_approval').required ?? [])].sort()).toEqual(needed.sort());
    // Every tool describes each field.
    for (const tool of tools) {
      for (const property of Object.values(tool.inputSchema.properties ?? {})) {
        expect((property as { description?: string }).description).toMatch(/\w/);
      }
    }
  });

  test('the status resource is listed as JSON', async () => {
    const server = await serve(online());
    const { resources } = await server.client.listResources();
    await server.close();
    expect(resources).toEqual([expect.objectContaining({ uri: 'agent-guard://status', mimeType: 'application/json' })]);
  });
});

describe('guard_status and the status resource', () => {
  test.each(STATUS_CASES)('$name', async ({ status, locked, head }) => {
    const server = await serve(online({ status }));
    const result = await server.call('guard_status');
    const resource = await server.client.readResource({ uri: 'agent-guard://status' });
    await server.close();

    expect(textOf(result)).toMatch(head);
    expect(result.structuredContent).toMatchObject({ locked });
    // Only a status that could not be read is an error; stale is an answer (locked).
    expect(result.isError === true).toBe(status instanceof Error);
    if (locked) expect(textOf(result)).toContain('call request_approval');
    const json = JSON.parse((resource.contents[0] as { text: string }).text) as Record<string, unknown>;
    expect(json).toEqual(result.structuredContent);
    expect(json.status).toEqual(status instanceof Error ? null : status);
  });

  test('no region anywhere: unknown, locked, saying how to give one', async () => {
    const result = await callOnce({ ...online(), env: {} }, 'guard_status');
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^UNKNOWN, treat as locked/);
    expect(textOf(result)).toContain('Pass --region REGION');
  });

  test('a parameter that does not hold a guard status: unknown, locked', async () => {
    const result = await callOnce(
      { ...online(), readParameter: () => Promise.resolve('{"locked":false}') },
      'guard_status',
    );
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ locked: true, unknown: true });
    expect(textOf(result)).toContain('does not hold a status the guard wrote');
  });

  test('--parameter and --region are those the server was started with', async () => {
    const deps = online();
    let region: string | undefined;
    await callOnce(
      { ...deps, readParameter: (name, target) => ((region = target.region), deps.readParameter!(name, target)) },
      'guard_status',
      {},
      ['--parameter', '/team/guard', '--region', 'eu-west-1'],
    );
    expect(deps.parameterReads).toEqual(['/team/guard']);
    expect(region).toBe('eu-west-1');
  });
});

describe('check_action says what agent-guard check says', () => {
  const ARGS = ['--action', 'cloudformation:DeleteStack', '--resource', STACK_ARN, '--role', AGENT_ROLE_ARN];
  const INPUT = { action: 'cloudformation:DeleteStack', resource: STACK_ARN, role: AGENT_ROLE_ARN };
  const openRole = {
    tags: { 'agent-guard:agent': 'true', 'agent-guard:constrained': 'true', 'agent-guard:state': 'open' },
  };

  test.each(STATUS_CASES)('$name', async ({ status, locked }) => {
    const deps = () => {
      const d = online({ status });
      // The role's state tag follows the status, as the guard writes both.
      return locked
        ? d
        : { ...d, readRole: () => d.readRole!(AGENT_ROLE_ARN, {}).then((r) => ({ ...r, ...openRole })) };
    };
    const result = await callOnce(deps(), 'check_action', INPUT);
    const text = await cli(['check', ...ARGS], deps());
    const json = await cli(['check', ...ARGS, '--json'], deps());

    expect(`${textOf(result)}\n`).toBe(text.stdout);
    expect(result.structuredContent).toEqual(JSON.parse(json.stdout));
    expect(result.structuredContent).toMatchObject({ treatAsDenied: locked, lock: { locked } });
    expect(result.isError === true).toBe(status instanceof Error);
  });

  test('an AWS CLI command string, as check -- aws ... takes it', async () => {
    const command = ['aws', 'cloudformation', 'delete-stack', '--stack-name', 'prod-api'];
    const result = await callOnce(online(), 'check_action', { command: command.join(' '), role: AGENT_ROLE_ARN });
    const json = await cli(['check', '--role', AGENT_ROLE_ARN, '--json', '--', ...command], online());
    expect(result.structuredContent).toEqual(JSON.parse(json.stdout));
    expect(result.structuredContent).toMatchObject({ action: 'cloudformation:DeleteStack', resource: STACK_ARN });
  });

  test.each([
    [{ action: 'ec2:NoSuchThing' }, /^Bad input, nothing was sent: action 'ec2:NoSuchThing' is not an IAM action/],
    [{ action: 'ec2:TerminateInstances', resource: 'i-0abc' }, /resource 'i-0abc' is not a resource ARN/],
    [{ action: 'ec2:TerminateInstances', role: 'agent' }, /role 'agent' is not an IAM role ARN/],
    [{ resource: INSTANCE_ARN }, /Give action \(and resource\), or command/],
    [
      { action: 'ec2:TerminateInstances', command: 'aws ec2 terminate-instances' },
      /either action .* or command, not both/,
    ],
    [
      { command: 'aws ec2 describe-instances && aws ec2 terminate-instances --instance-ids i-0abc' },
      /leave out shell operators/,
    ],
    [{ command: 'terraform destroy' }, /command 'terraform destroy' is not one AWS CLI command: start it with aws/],
  ])('bad input %j is refused, naming the field', async (input, message) => {
    const deps = online();
    const result = await callOnce(deps, 'check_action', input);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
    expect(textOf(result)).not.toMatch(/allowed/i);
    expect(deps.parameterReads).toEqual([]);
  });
});

describe('request_approval is agent-guard request', () => {
  const REQUEST = {
    role: AGENT_ROLE_ARN,
    actions: ['ec2:TerminateInstances'],
    resources: [INSTANCE_ARN],
    duration: '30m',
    reason: 'replace a broken instance',
  };
  const FLAGS = [
    '--role',
    AGENT_ROLE_ARN,
    '--actions',
    'ec2:TerminateInstances',
    '--resources',
    INSTANCE_ARN,
    '--duration',
    '30m',
    '--reason',
    'replace a broken instance',
  ];

  test('the same call to the approval function, and the same answer', async () => {
    // The agent signs in as itself; each harness hands out the same ids.
    const viaMcp = new ApprovalsHarness({ newId: idSequence('req') });
    const viaCli = new ApprovalsHarness({ newId: idSequence('req') });
    const result = await callOnce(
      { env: { AGENT_GUARD_URL: FUNCTION_URL }, transport: viaMcp.transport(AGENT_SESSION) },
      'request_approval',
      REQUEST,
    );
    const printed = await viaCli.run(['request', ...FLAGS], { signedInAs: AGENT_SESSION });
    expect(printed.code).toBe(EXIT.OK);
    expect(viaMcp.sent.map((s) => s.body)).toEqual(viaCli.sent.map((s) => s.body));
    expect(result.isError).toBeUndefined();
    expect(`${textOf(result)}\n`).toBe(printed.stdout);
    expect(result.structuredContent).toMatchObject({ kind: 'request', status: 'pending', roleArn: AGENT_ROLE_ARN });
  });

  test.each([
    [{ resources: ['arn:aws:ec2:us-east-1:111122223333:instance/*'] }, /resources: /],
    [{ resources: ['arn:aws:ec2:us-east-1:444455556666:instance/i-0abc'] }, /resources: /],
    [{ duration: 'forever' }, /duration: /],
    [{ duration: '40d' }, /duration '40d' .*over 31d/],
    [{ role: 'arn:aws:sts::111122223333:assumed-role/agent/s1' }, /role '.*' is a session ARN/],
    // No resources: the fields to give instead.
    [{ resources: undefined }, /Give resources: .*allResources true with uses 1/],
    [
      { resources: undefined, allResources: true },
      /allResources: allResources is only for actions without a resource type/,
    ],
    [{ actions: ['ec2:NoSuchThing'] }, /actions: /],
    [{ reason: ' ' }, /reason must not be blank/],
  ])('bad input %j is refused before any call, naming the field', async (change, message) => {
    const { transport, sent } = cannedTransport(okReply('must not be reached'));
    const reads: string[] = [];
    const result = await callOnce(
      {
        env: { AWS_REGION: 'us-east-1' },
        transport,
        readParameter: (name) => (reads.push(name), Promise.resolve(FUNCTION_URL)),
      },
      'request_approval',
      { ...REQUEST, ...change },
    );
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Bad input, nothing was sent: /);
    expect(textOf(result)).toMatch(message);
    expect(textOf(result)).not.toMatch(/--(role|actions|resources|duration|reason|uses)\b/);
    expect(sent).toEqual([]);
    expect(reads).toEqual([]);
  });

  test.each([
    [{ reason: undefined }, /reason/],
    [{ uses: 2 }, /uses/],
  ])('%j is refused by the schema, naming the field', async (change, field) => {
    const { transport, sent } = cannedTransport(okReply('must not be reached'));
    const result = await callOnce({ env: { AGENT_GUARD_URL: FUNCTION_URL }, transport }, 'request_approval', {
      ...REQUEST,
      ...change,
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Input validation error/);
    expect(textOf(result)).toMatch(field);
    expect(sent).toEqual([]);
  });

  test('a refusal by the function is an error result with its reason', async () => {
    const { transport } = cannedTransport({
      statusCode: 403,
      body: JSON.stringify({ ok: false, refused: true, message: 'an agent may request for its own role only' }),
    });
    const result = await callOnce({ env: { AGENT_GUARD_URL: FUNCTION_URL }, transport }, 'request_approval', REQUEST);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('Refused: an agent may request for its own role only');
  });
});

describe('list_approvals is agent-guard list', () => {
  test.each([
    [{}, []],
    [{ role: AGENT_ROLE_ARN, all: true }, ['--role', AGENT_ROLE_ARN, '--all']],
  ])('%j', async (input, flags) => {
    const approvals = [record()];
    const viaMcp = cannedTransport(okReply('1 approval(s).', approvals));
    const viaCli = cannedTransport(okReply('1 approval(s).', approvals));
    const env = { AGENT_GUARD_URL: FUNCTION_URL };
    const result = await callOnce({ env, transport: viaMcp.transport }, 'list_approvals', input);
    const printed = await cli(['list', ...flags], { env, transport: viaCli.transport });
    expect(viaMcp.sent.map((s) => s.body)).toEqual(viaCli.sent.map((s) => s.body));
    expect(`${textOf(result)}\n`).toBe(printed.stdout);
    expect(result.structuredContent).toEqual({ message: '1 approval(s).', approvals });
  });

  test('a bad role is refused before any call', async () => {
    const { transport, sent } = cannedTransport(okReply('must not be reached'));
    const result = await callOnce({ env: { AGENT_GUARD_URL: FUNCTION_URL }, transport }, 'list_approvals', {
      role: 'agent',
    });
    expect(textOf(result)).toMatch(/^Bad input, nothing was sent: role 'agent' is not an IAM role ARN/);
    expect(sent).toEqual([]);
  });
});

describe('the server command', () => {
  test('--offline: the status is unknown (locked), and nothing is sent to the approval function', async () => {
    const { transport, sent } = cannedTransport(okReply('must not be reached'));
    const server = await serve({ env: { AGENT_GUARD_URL: FUNCTION_URL }, transport }, ['--offline']);
    const status = await server.call('guard_status');
    const list = await server.call('list_approvals');
    await server.close();
    expect(textOf(status)).toMatch(/^UNKNOWN, treat as locked[\s\S]*offline/);
    expect(list.isError).toBe(true);
    expect(textOf(list)).toContain('--offline');
    expect(sent).toEqual([]);
  });

  test('--json: the text of a result is its JSON', async () => {
    const result = await callOnce(online(), 'guard_status', {}, ['--json']);
    expect(JSON.parse(textOf(result))).toEqual(result.structuredContent);
  });

  test('a bad flag is a usage error before serving', async () => {
    const result = await cli(['mcp', '--schedule-minutes', '0'], {
      mcpTransport: () => Promise.reject(new Error('must not serve')),
    });
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain('--schedule-minutes');
  });
});

describe('the bundled CLI over stdio', () => {
  let scratch: string;
  let bundled: string;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'agent-guard-mcp-'));
    bundled = await bundleCli(scratch);
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  test('no credentials: guard_status answers unknown, treat as locked', async () => {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && !/^(AWS_|AGENT_GUARD_)/.test(key)) env[key] = value;
    }
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [bundled, 'mcp', '--region', 'us-east-1'],
      env: {
        ...env,
        AWS_CONFIG_FILE: join(scratch, 'none'),
        AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'none'),
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'mcp-process-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const result = (await client.callTool({ name: 'guard_status', arguments: {} })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/^UNKNOWN, treat as locked/);
      expect(textOf(result)).toMatch(/credentials/i);
      expect(result.structuredContent).toMatchObject({ locked: true, unknown: true });
    } finally {
      await client.close();
    }
  });
});
