/**
 * `--account` and `--assume-role`: the on-call CLI acting on the guard of another account of the
 * organization. The account is checked against the credentials before any call is made, so an
 * approval never lands in the account a stale profile happens to point at.
 */
import { quote, usageError } from './errors';

const ACCOUNT = /^\d{12}$/;
/** IAM role names: 1 to 64 of letters, digits and `+=,.@_-` (docs/AWS-BEHAVIOUR.md STS-20). */
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const ROLE_ARN = /^arn:(aws[a-z-]{0,20}):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

/** Regions whose partition is not `aws`, by name prefix (IAM-43). Others need a full role ARN. */
const PARTITION_OF_PREFIX: readonly (readonly [string, string])[] = [
  ['cn-', 'aws-cn'],
  ['us-gov-', 'aws-us-gov'],
];
const OTHER_PARTITION_PREFIXES = ['eusc-', 'us-iso', 'eu-iso'];

export function checkAccount(value: string): string {
  if (ACCOUNT.test(value)) return value;
  throw usageError(`--account ${quote(value)} is not an AWS account id: give its 12 digits, such as 111122223333.`);
}

/**
 * The ARN of the role to assume in `account`, from `--assume-role` given as a name or an ARN. A name
 * takes the partition of `region`; an ARN must name `account`.
 */
export function assumeRoleArn(value: string, account: string | undefined, region: string | undefined): string {
  const arn = ROLE_ARN.exec(value);
  if (arn) {
    if (account !== undefined && arn[2] !== account) {
      throw usageError(`--assume-role ${quote(value)} is a role of account ${arn[2]}, not of --account ${account}.`);
    }
    return value;
  }
  if (!ROLE_NAME.test(value)) {
    throw usageError(
      `--assume-role ${quote(value)} is neither a role name (1 to 64 of letters, digits and +=,.@_-) nor a role ARN ` +
        'such as arn:aws:iam::111122223333:role/OnCall.',
    );
  }
  if (account === undefined) {
    throw usageError(`--assume-role ${quote(value)} is a role name: pass --account with it, or give the role's ARN.`);
  }
  if (region !== undefined && OTHER_PARTITION_PREFIXES.some((prefix) => region.startsWith(prefix))) {
    throw usageError(`--assume-role: give the role's full ARN in region ${region}, whose partition is not aws.`);
  }
  const partition = PARTITION_OF_PREFIX.find(([prefix]) => region?.startsWith(prefix))?.[1] ?? 'aws';
  return `arn:${partition}:iam::${account}:role/${value}`;
}

/** The account of an IAM ARN (role, user or session), or undefined. */
export function accountOfArn(arn: string): string | undefined {
  return /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1];
}

/** Refuses an agent role of another account than `--account`: the approval would be refused anyway. */
export function checkRoleInAccount(roleArn: string | undefined, account: string | undefined): void {
  if (roleArn === undefined || account === undefined) return;
  const of = accountOfArn(roleArn);
  if (of !== undefined && of !== account) {
    throw usageError(`--role ${quote(roleArn)} is a role of account ${of}, not of --account ${account}.`);
  }
}

/**
 * The session name of an assumed role: it shows in CloudTrail and in the approval record. Only
 * characters STS allows, at most 64 (STS-20).
 */
export function sessionName(user: string): string {
  const safe = user.replace(/[^\w+=,.@-]/g, '-').slice(0, 47);
  return `agent-guard-cli-${safe || 'user'}`;
}
