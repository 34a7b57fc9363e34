/**
 * The MCP server of `agent-guard mcp` (mcp.ts): four tools and one resource over the CLI's own code.
 *
 * Fail closed: a status that cannot be read, or whose heartbeat is stale, is "treat as locked", never
 * "allowed". Bad input is refused before anything is sent, with the field to change.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { parse } from 'shell-quote';
// Imported statically, so the bundle keeps only the parts of zod in use (a dynamic import keeps all its locales).
import * as z from 'zod';
// esbuild inlines the version when it bundles the CLI; tsc and tsx read it from the repository.
import { version } from '../../package.json';
import { effectiveLock, EffectiveLock } from '../../lib/core/status-freshness';
import type { GuardStatus } from '../../lib/core/status';
import { answer, checkActionName, checkResource, commandQuestion, Question, readStatus, scheduleOf } from './check';
import { CliError, EXIT, failure, messageOf, quote, usageError } from './errors';
import { formatCheck, formatLock, formatOutcome, formatStatus, formatTable } from './format';
import { checkRoleArn } from './input';
import { McpContext, McpOptions, ServerTransport, STATUS_URI } from './mcp';

const INSTRUCTIONS =
  'agent-guard stops AI-agent roles from destroying production resources while the account is locked ' +
  '(production with live traffic). Before any destructive AWS operation (delete, terminate, replace, a stack ' +
  'update), call check_action. If it says denied, or the status is unknown or stale, do not run the operation: ' +
  'ask on-call with request_approval and wait until list_approvals shows the approval active.';

/** The flags `request` names in its messages, as request_approval's fields. */
const FIELD_OF_FLAG: Readonly<Record<string, string>> = {
  '--role': 'role',
  '--actions': 'actions',
  '--resources': 'resources',
  '--all-resources': 'allResources',
  '--duration': 'duration',
  '--reason': 'reason',
  '--ticket': 'ticket',
  '--uses': 'uses',
};

/** A CLI message with its flags named as the tool's fields, so the agent knows which field to change. */
function inFieldNames(message: string): string {
  return message
    .replace(/ See agent-guard \w+ --help\.$/, '')
    .replace(/--(all-resources|resources|actions|role|duration|reason|ticket|uses)\b/g, (flag) => FIELD_OF_FLAG[flag]);
}

/** One AWS CLI command as words, through a real shell tokenizer; shell syntax beyond words is refused. */
export function commandWords(command: string): string[] {
  // A variable stays as written: the server runs nothing, and must not read its own environment into it.
  const words = parse(command, (name) => `$${name}`);
  if (words[0] !== 'aws' || words.some((word) => typeof word !== 'string')) {
    throw usageError(
      `command ${quote(command)} is not one AWS CLI command: start it with aws, leave out shell operators, ` +
        "redirections, globs and comments, and quote ARNs with '*'. Write it like aws cloudformation delete-stack --stack-name prod-api.",
    );
  }
  return words as string[];
}

/** What the status tool and resource report: the lock in force, why, and the status behind it. */
interface StatusReport {
  readonly lock: EffectiveLock;
  /** Why the status could not be read, when it could not. */
  readonly problem?: string;
  readonly status?: GuardStatus;
}

function statusJson(report: StatusReport): Record<string, unknown> {
  return { ...report.lock, ...(report.problem ? { problem: report.problem } : {}), status: report.status ?? null };
}

/** The MCP server, with the tools and the resource; connect it to a transport to serve. */
export function createMcpServer(ctx: McpContext, options: McpOptions): McpServer {
  const server = new McpServer({ name: 'agent-guard', version }, { instructions: INSTRUCTIONS });

  async function readReport(): Promise<StatusReport> {
    const { status, problem } = await readStatus(ctx, options);
    return {
      lock: effectiveLock(status, ctx.now(), scheduleOf(options.scheduleMinutes)),
      ...(problem ? { problem } : {}),
      ...(status ? { status } : {}),
    };
  }

  /** The result: text for people (or the JSON, with --json) and the JSON as structuredContent. */
  function reply(text: string, json: Record<string, unknown>, isError = false): CallToolResult {
    return {
      content: [{ type: 'text', text: options.json ? JSON.stringify(json, null, 2) : text }],
      structuredContent: json,
      ...(isError ? { isError } : {}),
    };
  }

  /**
   * Runs a tool; a thrown error becomes an error result. Bad input says nothing was sent and names the
   * field. For the tools that answer "locked or not", any other failure says to treat it as locked.
   */
  async function guarded(run: () => Promise<CallToolResult>, failClosed: boolean): Promise<CallToolResult> {
    try {
      return await run();
    } catch (error) {
      const usage = error instanceof CliError && error.exitCode === EXIT.USAGE;
      const message = usage
        ? `Bad input, nothing was sent: ${inFieldNames(messageOf(error))}`
        : failClosed
          ? `Treat the account as locked: agent-guard could not answer (${messageOf(error)}).`
          : messageOf(error);
      return { content: [{ type: 'text', text: message }], isError: true };
    }
  }

  /** The approval function is not called by a server started with --offline. */
  function online(): void {
    if (options.offline) throw failure('agent-guard mcp runs with --offline, so it calls no approval function.');
  }

  server.registerTool(
    'guard_status',
    {
      title: 'Guard status',
      description:
        'Whether AI-agent roles are locked now (destructive AWS actions denied), why, since when, and the traffic ' +
        'behind it. A status that cannot be read (unknown) or whose heartbeat is older than three schedules ' +
        '(stale) is reported as locked; an unknown status is an error result. Call before any destructive operation.',
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    () =>
      guarded(async () => {
        const report = await readReport();
        const lines = [formatLock(report.lock)];
        if (report.problem) lines.push(`Why unknown: ${report.problem}.`);
        if (report.status) lines.push('', formatStatus(report.status, ctx.now()));
        if (report.lock.locked) lines.push('', 'To ask on-call for an approval, call request_approval.');
        return reply(lines.join('\n'), statusJson(report), report.lock.unknown);
      }, true),
  );

  server.registerTool(
    'check_action',
    {
      title: 'Would the guard deny this AWS call now?',
      description:
        'Whether the guard would deny an action on a resource now, and why: the lock state and reason, the ' +
        "role's approvals, the action's group and whether it can be undone, the deciding policy statement, and " +
        'the agent-guard request command that would approve it. Give action (and resource), or command: one AWS ' +
        'CLI command. treatAsDenied true means do not run it. An unreadable status is an error result that says ' +
        'to treat it as locked.',
      inputSchema: {
        action: z.string().optional().describe('the IAM action, such as cloudformation:DeleteStack'),
        resource: z
          .string()
          .optional()
          .describe(
            'the resource ARN, such as arn:aws:cloudformation:us-east-1:111122223333:stack/prod-api/*; * when not known',
          ),
        command: z
          .string()
          .optional()
          .describe(
            'instead of action and resource: one AWS CLI command, such as aws cloudformation delete-stack --stack-name prod-api',
          ),
        role: z
          .string()
          .optional()
          .describe('the agent role ARN, arn:aws:iam::<account>:role/<name>, for its policies and approvals'),
      },
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    ({ action, resource, command, role }) =>
      guarded(async () => {
        const roleArn = role !== undefined ? checkRoleArn('role', role) : undefined;
        let question: Question;
        if (command !== undefined) {
          if (action !== undefined || resource !== undefined) {
            throw usageError('Give either action (and resource), or command, not both.');
          }
          question = await commandQuestion(ctx, options, commandWords(command), roleArn);
        } else {
          if (action === undefined) {
            throw usageError(
              'Give action (and resource), or command: one AWS CLI command such as aws cloudformation delete-stack --stack-name prod-api.',
            );
          }
          question = {
            action: checkActionName(action, 'action'),
            resource: checkResource(resource ?? '*', 'resource'),
            ...(roleArn ? { roleArn } : {}),
          };
        }
        const result = await answer(ctx, options, question);
        return reply(formatCheck(result), { ...result }, result.lock.unknown);
      }, true),
  );

  server.registerTool(
    'request_approval',
    {
      title: 'Ask on-call for an approval',
      description:
        'Ask on-call for a time-boxed approval of protected actions on named resources, for your own role (agent-guard ' +
        'request). It waits for an on-call engineer; its clock starts when approved. Resources must be concrete: the ' +
        "role's account and partition, and a literal name or id (instance/i-0abc*, not instance/*). The input is " +
        'checked before anything is sent.',
      inputSchema: {
        role: z.string().describe('your agent role ARN, arn:aws:iam::<account>:role/<name>'),
        actions: z
          .array(z.string())
          .min(1)
          .describe('protected groups (such as delete), actions or patterns such as ec2:TerminateInstances'),
        resources: z
          .array(z.string())
          .optional()
          .describe('resource ARNs or ARN patterns, each with a literal name or id part'),
        allResources: z
          .boolean()
          .optional()
          .describe(
            "instead of resources, for actions without a resource type (IAM matches them only against '*'); needs uses 1",
          ),
        duration: z.string().describe('how long, from when it is approved: 90s, 30m, 1h, 1h30m'),
        reason: z.string().describe('why this is safe now; on-call reads it and it goes to the audit record'),
        ticket: z.string().optional().describe('ticket id, where the guard requires one'),
        uses: z.literal(1).optional().describe('only 1: the approval ends at its first use'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    (input) =>
      guarded(async () => {
        online();
        if (input.resources === undefined && !input.allResources) {
          throw usageError(
            'Give resources: the ARNs the actions act on. For actions without a resource type, give allResources true with uses 1 instead.',
          );
        }
        const { uses, ...scope } = input;
        const result = await ctx.requestApproval({
          ...options,
          ...scope,
          ...(uses !== undefined ? { uses: String(uses) } : {}),
        });
        return reply(formatOutcome(result, ctx.now()), { ...(result.approvals[0] ?? { message: result.message }) });
      }, false),
  );

  server.registerTool(
    'list_approvals',
    {
      title: 'List approvals',
      description:
        'The approvals in force and the pending requests, newest first (agent-guard list): id, status, role, ' +
        'actions, resources, expiry and approvers. Give role for one role only; all includes ended ones.',
      inputSchema: {
        role: z.string().optional().describe('only the approvals of this role ARN'),
        all: z.boolean().optional().describe('include ended approvals (revoked, expired, used, lapsed, failed)'),
      },
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    ({ role, all }) =>
      guarded(async () => {
        online();
        const result = await ctx.listApprovals({
          ...options,
          ...(role !== undefined ? { role } : {}),
          ...(all !== undefined ? { all } : {}),
        });
        return reply(`${formatTable(result.approvals, ctx.now())}\n${result.message}`, {
          message: result.message,
          approvals: result.approvals,
        });
      }, false),
  );

  server.registerResource(
    'guard-status',
    STATUS_URI,
    {
      title: 'agent-guard status',
      description:
        'The guard status and the lock in force as JSON: locked, stale, unknown, reason, and the status the guard ' +
        'published (null when it cannot be read, which is locked).',
      mimeType: 'application/json',
    },
    async (uri) => {
      let report: StatusReport;
      try {
        report = await readReport();
      } catch (error) {
        report = { lock: effectiveLock(undefined, ctx.now()), problem: messageOf(error) };
      }
      return {
        contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(statusJson(report), null, 2) }],
      };
    },
  );

  return server;
}

/** Standard input and output, as MCP clients start a server; the session ends when stdin closes. */
export function stdioTransport(): ServerTransport {
  const transport = new StdioServerTransport();
  // The SDK's transport does not watch for the end of stdin, which is how a client ends the session.
  process.stdin.once('end', () => void transport.close());
  return transport;
}
