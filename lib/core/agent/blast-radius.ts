/**
 * The blast radius in words, for agents: the busiest sources of traffic the guard named in its status.
 * `check`, `explain`, the hook and `status` all say it the same way.
 */
import { GuardStatus, TrafficSource } from '../status';

const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** `ALB app/prod-api/50dc... in eu-west-1, 1,240 req/min`: one source, its name cut to `nameChars`. */
export function describeSource(source: TrafficSource, nameChars = 60): string {
  const chars = [...source.name];
  const name = chars.length > nameChars ? `${chars.slice(0, nameChars - 3).join('')}...` : source.name;
  return `${source.kind} ${name} in ${source.region}, ${number.format(source.peakPerMinute)} req/min`;
}

/**
 * `live: <source>; <source>` for the first `count` sources of the status, busiest first, or undefined
 * when the status names none (no live source, only custom metrics, or a status from before sources).
 */
export function liveSources(status: GuardStatus | undefined, count = Infinity, nameChars?: number): string | undefined {
  const sources = sourcesOf(status).slice(0, count);
  if (sources.length === 0) return undefined;
  return `live: ${sources.map((s) => describeSource(s, nameChars)).join('; ')}`;
}

/** The sources a status names, busiest first; parsed from JSON, so entries that are not sources are skipped. */
export function sourcesOf(status: GuardStatus | undefined): TrafficSource[] {
  const listed: unknown = status?.traffic?.sources;
  return (Array.isArray(listed) ? listed : []).filter(isSource);
}

function isSource(value: unknown): value is TrafficSource {
  const s = value as Partial<TrafficSource> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.kind === 'string' &&
    typeof s.region === 'string' &&
    typeof s.name === 'string' &&
    typeof s.peakPerMinute === 'number'
  );
}
