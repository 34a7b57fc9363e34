import { GetParameterCommand, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AwsCaller, errorName } from '../shared/aws-caller';
import { GuardModeName } from '../../lib/core/config';
import { GROUP_FACTS } from '../../lib/core/agent/group-facts';
import { APPROVAL_HOWTO, GuardStatus, TrafficSource } from '../../lib/core/status';
import { Decision, ProductionSignal, TrafficSignal } from './decide';
import { PreviousStatus, TrafficMemory } from './traffic-hold';

export interface StatusInput {
  readonly account: string;
  readonly mode: GuardModeName;
  readonly decision: Decision;
  readonly production: ProductionSignal;
  readonly traffic: TrafficSignal;
  readonly trafficMemory: TrafficMemory;
  readonly lookbackMinutes: number;
  readonly scheduleMinutes: number;
  /** Built-in groups taken out of the catalog: their actions are not protected, so not listed. */
  readonly exemptGroups: readonly string[];
  readonly now: Date;
}

/**
 * Longest texts, in bytes of their JSON form. Everything else in the status is bounded (ids, numbers,
 * times, the fixed how-to, the group table), so with these the status stays under the Standard tier's
 * 4 KB (SSM-1); test/lambda/status-notices.test.ts writes the worst case.
 */
const TEXT_BYTES = { decision: 700, signal: 400, sourceName: 96, region: 32 } as const;
/** The busiest sources the status names: enough to see the blast radius, few enough to fit 4 KB. */
export const STATUS_SOURCES = 5;

/** The JSON bytes of `text` inside its quotes: a quote or control character takes more than one. */
function jsonBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text), 'utf8') - 2;
}

/**
 * `text` cut so that its JSON form holds at most `bytes` bytes (UTF-8, escapes counted), on a
 * character boundary, marked with `...` when cut.
 */
export function clip(text: string, bytes: number): string {
  if (jsonBytes(text) <= bytes) return text;
  let out = '';
  let used = 0;
  for (const char of text) {
    const size = jsonBytes(char);
    if (used + size > bytes - 3) break;
    out += char;
    used += size;
  }
  return `${out}...`;
}

/** The busiest live sources, clipped for the status. */
function topSources(sources: readonly TrafficSource[]): TrafficSource[] {
  return [...sources]
    .filter((s) => s.peakPerMinute > 0)
    .sort((a, b) => b.peakPerMinute - a.peakPerMinute)
    .slice(0, STATUS_SOURCES)
    .map((s) => ({
      kind: s.kind,
      region: clip(s.region, TEXT_BYTES.region),
      name: clip(s.name, TEXT_BYTES.sourceName),
      peakPerMinute: Math.round(s.peakPerMinute * 100) / 100,
    }));
}

/** Whether each protected built-in group's actions can be undone (lib/core/agent/group-facts.ts). */
function undoable(exemptGroups: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    Object.entries(GROUP_FACTS)
      .filter(([group]) => !exemptGroups.includes(group))
      .map(([group, fact]) => [group, fact.undoable]),
  );
}

/** The fields whose change is worth a notice; the traffic figure alone is not. */
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
    reason: clip(decision.reason, TEXT_BYTES.decision),
    production: { value: production.production, reason: clip(production.reason, TEXT_BYTES.signal) },
    traffic: {
      active: traffic.active,
      requestsPerMinute: traffic.requestsPerMinute,
      thresholdPerMinute: traffic.thresholdPerMinute,
      lookbackMinutes: input.lookbackMinutes,
      reason: clip(traffic.reason, TEXT_BYTES.signal),
      liveAt: input.trafficMemory.liveAt,
      holdUntil: input.trafficMemory.holdUntil,
      sources: topSources(traffic.sources),
    },
    undoable: undoable(input.exemptGroups),
    scheduleMinutes: input.scheduleMinutes,
    evaluatedAt: now.toISOString(),
    howToGetApproval: APPROVAL_HOWTO,
  };
}

/**
 * Reads the last status and publishes the new one. Every evaluation writes (the heartbeat, and the
 * traffic memory the next evaluation needs); a notice is due only when the status changed materially.
 * The status is read fresh at each evaluation, since another invocation may have written it.
 */
export class StatusPublisher {
  private last?: GuardStatus;
  private loaded = false;

  constructor(
    private readonly ssm: SSMClient,
    private readonly caller: AwsCaller,
    private readonly parameterName: string,
  ) {}

  /** The status in force: none before the first evaluation; never throws. */
  public async read(): Promise<PreviousStatus> {
    try {
      const { Parameter } = await this.caller.call('ssm:GetParameter', () =>
        this.ssm.send(new GetParameterCommand({ Name: this.parameterName })),
      );
      this.last = parseStatus(Parameter?.Value);
    } catch (error) {
      if (!(error instanceof ParameterNotFound)) return { readable: false, error: errorName(error) };
      this.last = undefined;
    }
    this.loaded = true;
    return { readable: true, status: this.last };
  }

  /** Writes the status; `changed` when it differs materially from `previous`. */
  public async publish(
    input: StatusInput,
    previous: GuardStatus | undefined,
  ): Promise<{ status: GuardStatus; changed: boolean }> {
    const status = buildStatus(input, previous);
    await this.caller.call('ssm:PutParameter', () =>
      this.ssm.send(
        new PutParameterCommand({
          Name: this.parameterName,
          Value: JSON.stringify(status),
          Type: 'String',
          Tier: 'Standard',
          Overwrite: true,
        }),
      ),
    );
    this.last = status;
    this.loaded = true;
    return { status, changed: !previous || material(previous) !== material(status) };
  }

  /** The last status read or written by this container, or read once now (for notices). */
  public async current(): Promise<GuardStatus | undefined> {
    if (this.loaded) return this.last;
    const previous = await this.read();
    if (!previous.readable) throw new Error(`the status could not be read (${previous.error})`);
    return previous.status;
  }
}

/** A status of this schema; older ones of schema 1 get the traffic memory they lacked (none). */
function parseStatus(value: string | undefined): GuardStatus | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(value) as Omit<GuardStatus, 'traffic'> & {
      traffic: Omit<GuardStatus['traffic'], keyof TrafficMemory> & Partial<TrafficMemory>;
    };
    if (parsed.schemaVersion !== 1) return undefined;
    return { ...parsed, traffic: { liveAt: null, holdUntil: null, ...parsed.traffic } };
  } catch {
    return undefined;
  }
}
