/**
 * The configuration the construct writes into each handler's environment, as JSON. The construct
 * fills these interfaces; each handler's zod schema checks them, so every value is defined once.
 */

/** Environment variable of the guard function's configuration. */
export const GUARD_CONFIG_ENV = 'AGENT_GUARD_CONFIG';
/** Environment variable of the approval function's configuration. */
export const APPROVALS_CONFIG_ENV = 'AGENT_GUARD_APPROVALS_CONFIG';

/** An AWS region name, such as `eu-west-1`. */
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d$/;
/** OU ids from the root down, `r-abcd/ou-abcd-11111111/...`. */
export const OU_PATH_PATTERN = /^r-[0-9a-z]{4,32}(\/ou-[0-9a-z]{4,32}-[0-9a-z]{8,32})+$/;
/** The GetMetricData id of a query: a lower-case letter first. */
export const METRIC_QUERY_ID_PATTERN = /^[a-z][A-Za-z0-9_]{0,254}$/;
/** A CloudWatch dimension name that a Metrics Insights query may name unquoted in GROUP BY. */
export const DIMENSION_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

/** Global secondary index of the approvals table, by status then `sortAt`. */
export const APPROVALS_STATUS_INDEX = 'byStatus';
/** Name prefix of an approval's one-shot expiry schedule. */
export const EXPIRY_SCHEDULE_PREFIX = 'AgentGuardExpire-';

export type GuardModeName = 'ENFORCE' | 'MONITOR';

/** Where the guard learns whether its account is production. */
export type ProductionSource =
  | { readonly source: 'fixed'; readonly production: boolean }
  | {
      readonly source: 'account-tags';
      readonly tagKey: string;
      readonly values: string[];
      /** Role in the management or delegated-admin account to read Organizations through. */
      readonly roleArn?: string;
    }
  | { readonly source: 'organizational-unit'; readonly ouPath: string; readonly roleArn?: string };

/**
 * A copy of every notice for a central target, typically in a security account (lib/central-notices.ts).
 * `sns-topic` publishes the same subject and message; `event-bus` puts one event per notice.
 */
export interface CentralNoticesTarget {
  readonly kind: 'sns-topic' | 'event-bus';
  readonly arn: string;
}

/** A KMS key ARN, `arn:<partition>:kms:<region>:<account>:key/<key id>`. Captures the partition and region. */
export const KMS_KEY_ARN_PATTERN =
  /^arn:(aws(?:-[a-z]+)*):kms:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:key\/[A-Za-z0-9-]{1,128}$/;

/**
 * A standard SNS topic ARN, `arn:<partition>:sns:<region>:<account>:<name>`; names are 1 to 256 letters,
 * digits, `-` and `_` (SNS-30). Captures the partition.
 */
export const SNS_TOPIC_ARN_PATTERN = /^arn:(aws(?:-[a-z]+)*):sns:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}$/;
/**
 * An EventBridge event bus ARN, `arn:<partition>:events:<region>:<account>:event-bus/<name>`; names are
 * 1 to 256 of `[/.\-_A-Za-z0-9]` (EB-30). Captures the partition.
 */
export const EVENT_BUS_ARN_PATTERN =
  /^arn:(aws(?:-[a-z]+)*):events:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:event-bus\/[/.\-_A-Za-z0-9]{1,256}$/;

export interface TrafficQuery {
  /** Id in GetMetricData; see {@link METRIC_QUERY_ID_PATTERN}. */
  readonly id: string;
  readonly label: string;
  /** A Metrics Insights query or a metric math expression that yields requests per period. */
  readonly expression: string;
  /**
   * The regions to read it in, one GetMetricData call each: metrics are regional (CW-5). A list, not
   * one query per region, so the configuration stays small (Lambda environment variables: 4 KB, LAM-8).
   */
  readonly regions: string[];
  /**
   * The dimension that names each source (`LoadBalancer`, `ApiName`, ...): the guard reads the query
   * grouped by it, so one call per region yields the total and the busiest sources. Absent for a custom
   * query, which is read as written and names no source.
   */
  readonly groupBy?: string;
}

export interface GuardConfig {
  readonly accountId: string;
  readonly mode: GuardModeName;
  /** Minutes between scheduled evaluations; the status carries it, so readers judge its heartbeat by it. */
  readonly scheduleMinutes: number;
  readonly production: ProductionSource;
  readonly productionCacheSeconds: number;
  readonly traffic: {
    readonly queries: TrafficQuery[];
    readonly thresholdPerMinute: number;
    readonly lookbackMinutes: number;
    /** How long the lock holds after live traffic drops to none at once. */
    readonly dropHoldMinutes: number;
  };
  readonly boundaryArn: string;
  readonly guardPolicyArns: string[];
  /**
   * The digest of the standard guard policies (lib/core/policy/guard-digest.ts): approval versions of
   * another digest were compiled against other guard policies and stand in for none.
   */
  readonly guardPolicyDigest: string;
  /** The account's quota of managed policies per role (IAM: 10 by default, up to 20 on request). */
  readonly managedPoliciesPerRole: number;
  /** Protected actions beyond the built-in catalog, and exemptions from it: exact names or patterns. */
  readonly extraProtectedActions: string[];
  readonly exemptActions: string[];
  /** Built-in groups taken out of the catalog (absent when none). */
  readonly exemptGroups?: string[];
  readonly statusParameterName: string;
  readonly topicArn: string;
  /** Where a copy of each notice goes as well (absent for none). */
  readonly centralNotices?: CentralNoticesTarget;
  readonly concurrency: number;
  /** The table of per-role leases that serialise role writes (lambda/shared/role-lease.ts). */
  readonly leaseTableName: string;
}

export interface ApprovalsConfig {
  readonly accountId: string;
  /** IAM ARN patterns (`*` wildcards) of the roles and users who may approve and revoke. */
  readonly approvers: string[];
  readonly requiredApprovals: number;
  readonly maxDurationSeconds: number;
  readonly breakGlassMaxSeconds: number;
  readonly requestTtlSeconds: number;
  readonly ticketPattern?: string;
  readonly retentionDays: number;
  readonly tableName: string;
  /** The table of per-role leases that serialise role writes (lambda/shared/role-lease.ts). */
  readonly leaseTableName: string;
  readonly topicArn: string;
  /** Where a copy of each notice goes as well (absent for none). */
  readonly centralNotices?: CentralNoticesTarget;
  readonly scheduleGroup: string;
  readonly schedulerRoleArn: string;
  readonly guardPolicyArns: string[];
  /**
   * The digest of the standard guard policies (lib/core/policy/guard-digest.ts): approval versions of
   * another digest were compiled against other guard policies and stand in for none.
   */
  readonly guardPolicyDigest: string;
  readonly customGroups: { readonly name: string; readonly actions: string[] }[];
  readonly exemptActions: string[];
  /** Built-in groups taken out of the catalog (absent when none). */
  readonly exemptGroups?: string[];
}

/** Environment variable of the clean-up (uninstall) function's configuration. */
export const UNINSTALL_CONFIG_ENV = 'AGENT_GUARD_UNINSTALL_CONFIG';

export interface UninstallConfig {
  /** The guard's stack: a Delete from any other stack is refused. */
  readonly stackId: string;
  readonly boundaryArn: string;
  readonly guardPolicyArns: string[];
  /**
   * An EventBridge rule of the guard that exists exactly while the guard can re-constrain roles. The
   * clean-up runs only once it is gone (on stack delete, CloudFormation deletes it first).
   */
  readonly guardRuleName: string;
  /** Principals cleaned at once. */
  readonly concurrency: number;
}
