import * as z from 'zod/mini';

/** True only when A and B are the same type; a schema typed against an interface must match it exactly. */
export type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** A DynamoDB table name: 3 to 255 characters of `[a-zA-Z0-9_.-]`. */
export const tableName = z.string().check(z.regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'must be a DynamoDB table name'));

/**
 * Reads the JSON configuration the construct put in environment variable `name`, and checks it
 * with `schema`; throws a message that names every bad field.
 */
export function loadEnvConfig<T>(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  schema: z.ZodMiniType<T>,
): T {
  const raw = env[name];
  if (!raw) throw new Error(`${name} is not set; the AgentGuard construct sets it.`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`${name} is not JSON.`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(`${name} is invalid: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
