import { GetParameterCommand, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AwsCaller } from '../shared/aws-caller';
import { GuardModeName } from '../../lib/core/config';
import { APPROVAL_HOWTO, GuardStatus } from '../../lib/core/status';
import { Decision, ProductionSignal, TrafficSignal } from './decide';

export interface StatusInput {
  readonly account: string;
  readonly mode: GuardModeName;
  readonly decision: Decision;
  readonly production: ProductionSignal;
  readonly traffic: TrafficSignal;
  readonly lookbackMinutes: number;
  readonly now: Date;
}

/** The fields whose change is worth a write and a notice; the traffic figure alone is not. */
function material(status: GuardStatus): string {
  return JSON.stringify([status.mode, status.locked, status.protected, status.production.value, status.traffic.active]);
}

export function buildStatus(input: StatusInput, previous: GuardStatus | undefined): GuardStatus {
  const { decision, production, traffic, now } = input;
  const sameState = previous && previous.locked === decision.locked && previous.protected === decision.protected;
  return {
    schemaVersion: 1,
    account: input.account,
    mode: input.mode,
    locked: decision.locked,
    protected: decision.protected,
    since: sameState ? previous.since : now.toISOString(),
    reason: decision.reason,
    production: { value: production.production, reason: production.reason },
    traffic: {
      active: traffic.active,
      requestsPerMinute: traffic.requestsPerMinute,
      thresholdPerMinute: traffic.thresholdPerMinute,
      lookbackMinutes: input.lookbackMinutes,
      reason: traffic.reason,
    },
    evaluatedAt: now.toISOString(),
    howToGetApproval: APPROVAL_HOWTO,
  };
}

/**
 * Publishes the status to SSM only when it changes materially, so a steady account costs no writes.
 * The last status is kept in memory and read back once per cold start.
 */
export class StatusPublisher {
  private last?: GuardStatus;
  private loaded = false;

  constructor(
    private readonly ssm: SSMClient,
    private readonly caller: AwsCaller,
    private readonly parameterName: string,
  ) {}

  /** Writes the status when it changed materially; otherwise returns the one in force. */
  public async publish(input: StatusInput): Promise<{ status: GuardStatus; changed: boolean }> {
    const previous = await this.previous();
    const status = buildStatus(input, previous);
    if (previous && material(previous) === material(status)) return { status: previous, changed: false };
    await this.caller.call('ssm:PutParameter', () =>
      this.ssm.send(
        new PutParameterCommand({
          Name: this.parameterName,
          Value: JSON.stringify(status, null, 1),
          Type: 'String',
          Overwrite: true,
        }),
      ),
    );
    this.last = status;
    return { status, changed: true };
  }

  /** The last status published, read from SSM once per cold start. */
  public async current(): Promise<GuardStatus | undefined> {
    return this.previous();
  }

  private async previous(): Promise<GuardStatus | undefined> {
    if (this.loaded) return this.last;
    try {
      const { Parameter } = await this.caller.call('ssm:GetParameter', () =>
        this.ssm.send(new GetParameterCommand({ Name: this.parameterName })),
      );
      this.last = parseStatus(Parameter?.Value);
    } catch (error) {
      if (!(error instanceof ParameterNotFound)) throw error;
    }
    this.loaded = true;
    return this.last;
  }
}

function parseStatus(value: string | undefined): GuardStatus | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<GuardStatus>;
    return parsed.schemaVersion === 1 ? (parsed as GuardStatus) : undefined;
  } catch {
    return undefined;
  }
}
