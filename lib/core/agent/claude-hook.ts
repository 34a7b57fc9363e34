/**
 * Claude Code's `PreToolUse` hook protocol (docs/AWS-BEHAVIOUR.md, HOOK-1 to HOOK-4): the hook gets one
 * JSON object on stdin with `tool_name` and `tool_input` (for the Bash tool, `tool_input.command`). To
 * block, it prints the deny object below and exits 0. To let the call through, it prints nothing and
 * exits 0. Any exit code but 0 and 2 lets the tool run, so the hook never fails with another code.
 */

/** What the hook was asked about. */
export type HookRequest =
  /** A shell command to judge. */
  | { readonly kind: 'shell'; readonly command: string }
  /** Another tool, or a Bash call without a command: not a shell command, nothing to judge. */
  | { readonly kind: 'not-shell'; readonly tool: string }
  /** Stdin that is not a hook request: the hook cannot tell what would run, so it denies. */
  | { readonly kind: 'invalid'; readonly problem: string };

/** Claude Code's shell tool. */
export const SHELL_TOOL = 'Bash';

/** Reads the hook's stdin. Never throws. */
export function parseHookInput(text: string): HookRequest {
  if (text.trim() === '') return { kind: 'invalid', problem: 'stdin was empty' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'invalid', problem: 'stdin is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'invalid', problem: 'stdin is not a JSON object' };
  }
  const { tool_name: tool, tool_input: input } = value as { tool_name?: unknown; tool_input?: unknown };
  if (typeof tool !== 'string') return { kind: 'invalid', problem: 'tool_name is missing or not a string' };
  if (tool !== SHELL_TOOL) return { kind: 'not-shell', tool };
  const command = typeof input === 'object' && input !== null ? (input as { command?: unknown }).command : undefined;
  if (command === undefined) return { kind: 'not-shell', tool };
  if (typeof command !== 'string') return { kind: 'invalid', problem: 'tool_input.command is not a string' };
  return { kind: 'shell', command };
}

/** Claude Code's longest reason is not documented; a reason this long still reads as one message. */
const MAX_REASON = 4000;

/** The line the hook prints on stdout to block the tool call, newline included. */
export function denyOutput(reason: string): string {
  const text = reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason;
  return `${JSON.stringify({
    hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: text },
  })}\n`;
}
