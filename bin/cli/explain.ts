import { Command } from 'commander';
import { CheckResult } from '../../lib/core/agent/check';
import * as z from 'zod/mini';
import { EncodedDenial, isEncoded, ParsedDenial, parseDenial, roleArnOf } from '../../lib/core/agent/explain';
import { iamReference } from '../../lib/core/catalog/iam-reference';
import {
  answer,
  CheckContext,
  CheckOptions,
  checkActionName,
  checkResource,
  Question,
  report,
  withCheckOptions,
} from './check';
import { quote, usageError } from './errors';
import { checkRoleArn } from './input';

/** The most of a pasted message explain reads: AccessDenied messages are far shorter. */
const MAX_MESSAGE_CHARS = 16_384;

/** The output of `aws sts decode-authorization-message` (its DecodedMessage JSON). */
const decodedSchema = z.object({
  allowed: z.boolean(),
  explicitDeny: z.optional(z.boolean()),
  context: z.object({
    principal: z.optional(z.object({ arn: z.optional(z.string()) })),
    action: z.string(),
    resource: z.optional(z.string()),
  }),
});

/** A pasted decoded message (JSON), as a denial. */
function parseDecoded(message: string): ParsedDenial | undefined {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return undefined;
  }
  const parsed = decodedSchema.safeParse(json);
  if (!parsed.success || parsed.data.allowed) return undefined;
  const { context, explicitDeny } = parsed.data;
  const principal = context.principal?.arn ?? 'unknown';
  const roleArn = roleArnOf(principal);
  return {
    principal,
    ...(roleArn ? { roleArn } : {}),
    action: context.action,
    ...(context.resource ? { resource: context.resource } : {}),
    explicit: explicitDeny === true,
    // The decoded message does not say which kind of policy matched; the evaluation decides.
    policyType: 'unknown',
    source: 'unknown',
  };
}

/** The message as a denial: the AccessDenied text, the decoded JSON, or the encoded EC2 form. */
function readDenial(message: string): ParsedDenial | EncodedDenial | undefined {
  return parseDecoded(message) ?? parseDenial(message);
}

interface ExplainOptions extends CheckOptions {
  readonly role?: string;
}

/** What kind of denial it was, in one sentence, from the message and the evaluation. */
function explanation(denial: ParsedDenial | undefined, result: CheckResult): string {
  const deciding = result.decidedBy?.sid
    ? `statement ${result.decidedBy.sid} of ${result.decidedBy.policy}`
    : undefined;
  if (!denial) {
    return result.treatAsDenied
      ? `agent-guard would deny this now${deciding ? `: ${deciding}` : ''}.`
      : 'agent-guard would not deny this now; if AWS denied it, another policy did.';
  }
  const policy = denial.policyArn ? ` (${denial.policyArn})` : '';
  switch (denial.source) {
    case 'guard-policy':
      return `A GUARD DENIAL: the agent-guard deny policy${policy} denied ${denial.action}${deciding ? `, ${deciding}` : ''}, because the account is locked. An approval lifts it.`;
    case 'guard-boundary':
      return denial.explicit
        ? `A GUARD DENIAL by its permission boundary${policy}: an anti-tamper deny that holds in every state; no approval lifts it.`
        : `A GUARD DENIAL by its permission boundary${policy}: the boundary allows nothing to a role the guard has not verified (tags agent-guard:agent and agent-guard:constrained), nor any action outside its ceiling. No approval lifts it; ask the platform team.`;
    case 'other':
      if (!denial.explicit && denial.policyType === 'identity-based policy') {
        return `NOT A GUARD DENIAL: no identity-based policy of the role allows ${denial.action}. The role lacks the permission itself; an agent-guard approval would not help.`;
      }
      return `NOT A GUARD DENIAL: ${denial.explicit ? 'an explicit deny in' : 'no Allow in'} ${/^[aeiu]/i.test(denial.policyType) ? 'an' : 'a'} ${denial.policyType}${policy}. agent-guard cannot approve it; ask whoever owns that policy.`;
    default:
      return `The message does not say which policy denied ${denial.action}. The evaluation of the guard's policies below says whether the guard would deny it now.`;
  }
}

export function registerExplain(
  program: Command,
  ctx: CheckContext,
  readStdin: () => Promise<string>,
  withConnection: (c: Command) => Command,
): void {
  withConnection(
    withCheckOptions(
      program
        .command('explain')
        .summary('explain an AccessDenied message: guard denial or not, which statement, how to get approval')
        .description(
          'Paste an AccessDenied error message (as the argument, or on stdin), or give --action, --resource and ' +
            '--role. It tells a guard denial from any other, names the guard policy and statement that denied, why, ' +
            'and the command that would ask for an approval.',
        )
        .argument('[message...]', 'the AccessDenied message (default: read from stdin)')
        .option('--action <action>', 'the IAM action, instead of a message')
        .option('--resource <arn>', 'the resource ARN, instead of a message')
        .option('--role <arn>', 'the agent role ARN (default: the role in the message)'),
    ),
  )
    .addHelpText(
      'after',
      `
Exit codes: 0 explained; 1 a read failed; 2 bad input (empty message, or not an AccessDenied message).

Examples:
  agent-guard explain "User: arn:aws:sts::111122223333:assumed-role/agent/s is not authorized to perform: ..."
  aws cloudformation delete-stack --stack-name prod-api 2>&1 | agent-guard explain`,
    )
    .action(async (words: string[], options: ExplainOptions) => {
      const roleFlag = options.role !== undefined ? checkRoleArn('--role', options.role) : undefined;
      if (options.action !== undefined) {
        if (words.length > 0) throw usageError('Give either a message or --action, not both.');
        const question: Question = {
          action: checkActionName(options.action, '--action'),
          resource: checkResource(options.resource ?? '*', '--resource'),
          ...(roleFlag ? { roleArn: roleFlag } : {}),
        };
        const result = await answer(ctx, options, question);
        return report(ctx, result, options.json, { explanation: explanation(undefined, result) }, false);
      }
      const message = (words.length > 0 ? words.join(' ') : await readStdin()).slice(0, MAX_MESSAGE_CHARS).trim();
      if (message === '') {
        throw usageError(
          'explain needs an AccessDenied message, as an argument or on stdin, or --action ACTION --resource ARN --role ARN.',
        );
      }
      const denial = readDenial(message);
      if (denial === undefined) {
        throw usageError(
          `${quote(message)} is not an AccessDenied message agent-guard can read. Paste the whole message, from ` +
            "'User: arn:...' to the end, or give --action and --resource.",
        );
      }
      if (isEncoded(denial)) {
        const text = {
          explanation:
            'An encoded authorization failure (EC2 and some other services): the message hides which policy denied. ' +
            'Decode it (needs sts:DecodeAuthorizationMessage) and pass the result to explain.',
          decode:
            "aws sts decode-authorization-message --encoded-message '<the encoded message>' --query DecodedMessage --output text | agent-guard explain",
        };
        return ctx.print(options.json ? JSON.stringify(text, null, 2) : `${text.explanation}\n  ${text.decode}`);
      }
      const action = iamReference.expand(denial.action)[0] ?? denial.action;
      const roleArn = roleFlag ?? denial.roleArn;
      const notes =
        roleFlag === undefined && denial.roleArn && denial.principal !== denial.roleArn
          ? [
              'The role ARN comes from the session ARN, which leaves out any role path; pass --role if the role has one.',
            ]
          : [];
      const question: Question = {
        action,
        resource: denial.resource ?? '*',
        ...(roleArn ? { roleArn } : {}),
        notes,
      };
      const result = await answer(ctx, options, question);
      report(ctx, result, options.json, { explanation: explanation(denial, result), denial }, false);
    });
}
