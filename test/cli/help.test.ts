import { APPROVE_FLAGS, cli, COMMANDS } from './cli-fixture';

describe('--help', () => {
  test('exits 0 and lists the commands, the exit codes and how the URL is found', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    for (const command of COMMANDS) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command} \\[options\\]`, 'm'));
    }
    expect(result.stdout).toContain('Exit codes:');
    expect(result.stdout).toMatch(/1 {2}refused: .*HTTP 403.*\n.*network, missing URL, HTTP 5xx/);
    expect(result.stdout).toMatch(/2 {2}usage error/);
    expect(result.stdout).toContain('$AGENT_GUARD_URL');
    expect(result.stdout).toContain('/agent-guard/approvals-url');
  });

  test.each([
    ['approve', '--help'],
    ['help', 'approve'],
    ['approve', '-h'],
  ])('%s %s shows the flags and the dry-run assumptions', async (...args) => {
    const result = await cli(args);
    expect(result.code).toBe(0);
    for (const flag of [...APPROVE_FLAGS, '--dry-run', '--json']) {
      expect(result.stdout).toContain(flag);
    }
    expect(result.stdout).toContain('assumes no other approval is in force on the role');
    expect(result.stdout).toContain('built-in catalog');
  });

  test.each(COMMANDS.filter((c) => c !== 'approve'))('%s --help exits 0', async (command) => {
    const result = await cli([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: agent-guard ${command} [options]`);
    expect(result.stdout).toContain('--json');
  });

  test('mcp --help names the tools, the resource, the connection flags and how to register the server', async () => {
    expect((await cli(['--help'])).stdout).toMatch(/^ {2}mcp \[options\] +MCP server over stdio/m);
    const result = await cli(['mcp', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: agent-guard mcp [options]');
    // The tools and the resource of issue 11, and the flags every other command connects with.
    for (const text of [
      'guard_status',
      'check_action',
      'request_approval',
      'list_approvals',
      'agent-guard://status',
      '--url',
      '--region',
      '--profile',
      '--parameter',
      'claude mcp add',
    ]) {
      expect(result.stdout).toContain(text);
    }
  });

  test('no command prints the help to stderr and is a usage error', async () => {
    const result = await cli([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Usage: agent-guard');
  });
});
