/**
 * `agent-guard mcp`: an MCP server over stdio, so any MCP-speaking agent can ask before it acts. Its tools
 * are the CLI's own commands (`status`, `check`, `request`, `list`) through the same code and formatting,
 * so the CLI and the server say the same thing; the status is also the resource `agent-guard://status`.
 * The server itself is in mcp-server.ts, loaded only when it starts, and shipped as a file of its own
 * (dist/bin/mcp-server.js): the other commands, and the hook, never load the MCP SDK.
 */
import { Command } from 'commander';
import type { Transport as ServerTransport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CheckContext, CheckOptions, scheduleOf, withCheckOptions } from './check';
import type { ApiSuccess } from './client';
import type { ScopeOptions } from './input';

export type { ServerTransport };

/** The options of `agent-guard mcp`: those of `check`, for every tool call. */
export type McpOptions = CheckOptions;

/** What the server uses of the CLI: `check`'s context, and the calls of `request` and `list`. */
export interface McpContext extends CheckContext {
  /** `agent-guard request`: the scope checked locally first, then one call to the approval function. */
  readonly requestApproval: (options: ScopeOptions & McpOptions) => Promise<ApiSuccess>;
  /** `agent-guard list`, optionally for one role (`--role`) and with ended ones (`--all`). */
  readonly listApprovals: (options: McpOptions & { role?: string; all?: boolean }) => Promise<ApiSuccess>;
}

/** The URI of the status resource. */
export const STATUS_URI = 'agent-guard://status';

const MCP_HELP = `
Tools (each answers as the CLI command of the same job does):
  guard_status      the status and the lock in force: locked, open, stale or unknown (both treat as locked)
  check_action      agent-guard check: action and resource, or one AWS CLI command; with role, its approvals
  request_approval  agent-guard request: role, actions, resources (or allResources with uses 1), duration, reason
  list_approvals    agent-guard list: approvals in force and pending, optionally for one role (all: ended too)
Resource: ${STATUS_URI}, the status and the lock in force as JSON.

A status that cannot be read (no credentials, no network, no parameter) or whose heartbeat is older than
three schedules is reported as locked, with why; a tool result that could not read the status is an error.
Every result also carries the JSON that --json prints as structuredContent; with --json, its text is that JSON.

Register it with a coding agent (see the README, "MCP server"):
  claude mcp add agent-guard -- agent-guard mcp --region us-east-1`;

/**
 * Standard input and output, as MCP clients start a server. Loaded with the server, so the SDK stays out
 * of the CLI's main bundle (scripts/build.ts).
 */
export async function stdioTransport(): Promise<ServerTransport> {
  return (await import('./mcp-server')).stdioTransport();
}

/** Adds `agent-guard mcp` to the CLI. It serves until the client closes the transport. */
export function registerMcp(
  program: Command,
  ctx: McpContext,
  withConnection: (command: Command) => Command,
  serverTransport: () => Promise<ServerTransport>,
): void {
  withConnection(
    withCheckOptions(
      program
        .command('mcp')
        .summary('MCP server over stdio: guard status, check, request and list for MCP-speaking agents')
        .description(
          'Serve the Model Context Protocol over stdin and stdout, for coding agents: the tools guard_status, ' +
            'check_action, request_approval and list_approvals, and the status as the resource ' +
            `${STATUS_URI}. The connection flags apply to every tool call.`,
        ),
    ),
  )
    .addHelpText('after', MCP_HELP)
    .action(async (options: McpOptions) => {
      // Bad flags fail now, with exit code 2, rather than in every tool call.
      scheduleOf(options.scheduleMinutes);
      ctx.targetOf(options);
      const { createMcpServer } = await import('./mcp-server');
      const server = createMcpServer(ctx, options);
      const closed = new Promise<void>((resolve) => (server.server.onclose = resolve));
      await server.connect(await serverTransport());
      await closed;
    });
}
