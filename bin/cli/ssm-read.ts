/**
 * One SSM GetParameter, with the SDK imported only when it runs: the hook reads the status this way only
 * for a destructive command, and never loads the SDK otherwise.
 */
import type { SSMClientConfig } from '@aws-sdk/client-ssm';

/** A read that must answer fast (the hook's): one attempt, short socket timeouts, cancelled by `signal`. */
export interface QuickRead {
  readonly signal: AbortSignal;
  readonly requestTimeoutMs: number;
}

/** The parameter's value; undefined when it does not exist. */
export async function readParameterWith(
  config: SSMClientConfig,
  name: string,
  quick?: QuickRead,
): Promise<string | undefined> {
  const { GetParameterCommand, ParameterNotFound, SSMClient } = await import('@aws-sdk/client-ssm');
  const ssm = new SSMClient({
    ...config,
    ...(quick
      ? { maxAttempts: 1, requestHandler: { connectionTimeout: 1_000, requestTimeout: quick.requestTimeoutMs } }
      : {}),
  });
  // On timeout the sockets close at once, so nothing keeps the process alive after the decision.
  quick?.signal.addEventListener('abort', () => ssm.destroy());
  try {
    const { Parameter } = await ssm.send(
      new GetParameterCommand({ Name: name }),
      quick ? { abortSignal: quick.signal } : {},
    );
    return Parameter?.Value;
  } catch (error) {
    if (error instanceof ParameterNotFound) return undefined;
    throw error;
  } finally {
    ssm.destroy();
  }
}
