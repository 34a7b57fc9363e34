import { GuardModeName } from './config';

/** One busy source of traffic: a load balancer, API, distribution or function URL. */
export interface TrafficSource {
  /** The traffic metric's label: `ALB`, `RestApi`, `HttpApi`, `CloudFront`, `LambdaUrl` (`-<region>` when pinned). */
  readonly kind: string;
  readonly region: string;
  /** The value of the metric's dimension (`LoadBalancer`, `ApiName`, ...), clipped. */
  readonly name: string;
  /** The highest requests per minute of this source in the lookback. */
  readonly peakPerMinute: number;
}

/** The account's status as agents read it from SSM (`/agent-guard/status` by default). */
export interface GuardStatus {
  readonly schemaVersion: 1;
  readonly account: string;
  readonly mode: GuardModeName;
  /** Protected actions are denied to agent roles now. */
  readonly locked: boolean;
  /** Production with live traffic; in monitor mode, true means "would lock". */
  readonly protected: boolean;
  /** When `locked` or `protected` last changed. */
  readonly since: string;
  readonly reason: string;
  readonly production: { readonly value: boolean; readonly reason: string };
  readonly traffic: {
    readonly active: boolean;
    readonly requestsPerMinute: number | null;
    readonly thresholdPerMinute: number;
    readonly lookbackMinutes: number;
    readonly reason: string;
    /**
     * The last evaluation that measured live traffic, or null once traffic was measured at or below the
     * threshold: a later evaluation that measures none at all is a drop.
     */
    readonly liveAt: string | null;
    /** The lock holds until then, because live traffic dropped to none at once; null when no hold. */
    readonly holdUntil: string | null;
    /**
     * The busiest sources, across every query and region, by peak requests per minute: the blast
     * radius. Custom metrics name none. Absent from statuses written before it existed.
     */
    readonly sources?: readonly TrafficSource[];
  };
  /**
   * For each protected catalog group, whether its actions can be undone (`yes`, `mostly`, `no`,
   * `unknown`; lib/core/agent/group-facts.ts). Absent from statuses written before it existed.
   */
  readonly undoable?: Readonly<Record<string, string>>;
  /**
   * Minutes between the guard's scheduled evaluations: a reader treats the status as locked once its
   * heartbeat is older than three of them. Absent from statuses written before it existed.
   */
  readonly scheduleMinutes?: number;
  /** The heartbeat: the evaluation that wrote this status. Every evaluation rewrites it. */
  readonly evaluatedAt: string;
  readonly howToGetApproval: string;
}

export const APPROVAL_HOWTO =
  'Protected actions need an on-call approval while locked. Ask for one with: ' +
  'agent-guard request --role <your role ARN> --actions <service:Action> --resources <resource ARN> ' +
  '--duration 30m --reason "<why>". An on-call engineer approves it with agent-guard approve --id <id>.';
