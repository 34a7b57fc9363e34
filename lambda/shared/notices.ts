import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { AwsCaller } from './aws-caller';
import { GuardStatus } from '../../lib/core/status';

export interface Notice {
  readonly subject: string;
  readonly message: string;
}

/** SNS subjects are at most 100 printable ASCII characters. */
function subject(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function denialNotice(input: {
  roleArn: string;
  action: string;
  resource?: string;
  status?: GuardStatus;
}): Notice {
  const resource = input.resource ?? '<resource ARN>';
  const command = [
    'agent-guard approve',
    `--role ${shellQuote(input.roleArn)}`,
    `--actions ${shellQuote(input.action)}`,
    `--resources ${shellQuote(resource)}`,
    '--duration 30m',
    "--reason '<why this is safe>'",
  ].join(' ');
  const reason = input.status ? input.status.reason : 'see the account status parameter';
  return {
    subject: subject(`agent-guard: denied ${input.action} to an agent role`),
    message: [
      `The guard denied an AI-agent role a protected action.`,
      `Role:     ${input.roleArn}`,
      `Action:   ${input.action}`,
      `Resource: ${input.resource ?? 'not named in the CloudTrail event'}`,
      `Reason:   ${input.status?.locked ? 'the account is locked: ' : ''}${reason}`,
      '',
      'If an on-call engineer agrees the action is safe, they approve it for a bounded time with:',
      `  ${command}`,
    ].join('\n'),
  };
}

export function repairNotice(roleArn: string, repairs: readonly string[], actor: string | undefined): Notice {
  return {
    subject: subject('agent-guard: restored the guard on an agent role'),
    message: [
      `Guard parts were missing from an AI-agent role, and the guard put them back.`,
      `Role:  ${roleArn}`,
      `Found: ${repairs.join('; ')}`,
      `Changed by: ${actor ?? 'unknown (found by the scheduled sweep)'}`,
    ].join('\n'),
  };
}

export function statusNotice(status: GuardStatus): Notice {
  const headline =
    status.mode === 'MONITOR'
      ? status.protected
        ? 'would lock (monitor mode)'
        : 'would stay open (monitor mode)'
      : status.locked
        ? 'locked'
        : 'open';
  return {
    subject: subject(`agent-guard: account ${status.account} ${headline}`),
    message: [`Agent roles in account ${status.account}: ${headline}.`, `Why: ${status.reason}`].join('\n'),
  };
}

export function failureNotice(failures: readonly { roleName: string; error: string; locked: boolean }[]): Notice {
  return {
    subject: subject(`agent-guard: ${failures.length} agent role(s) could not be reconciled`),
    message: failures
      .map((f) => `${f.roleName}: ${f.error}; ${f.locked ? 'locked' : 'COULD NOT LOCK, check it by hand'}`)
      .join('\n'),
  };
}

export async function publish(sns: SNSClient, caller: AwsCaller, topicArn: string, notice: Notice): Promise<void> {
  await caller.call('sns:Publish', () =>
    sns.send(new PublishCommand({ TopicArn: topicArn, Subject: notice.subject, Message: notice.message })),
  );
}
