import * as z from 'zod/mini';
import { Exactly, loadEnvConfig } from '../shared/env-config';
import { UNINSTALL_CONFIG_ENV, UninstallConfig } from '../../lib/core/config';

const arn = z.string().check(z.regex(/^arn:aws[a-z-]*:/, 'must be an ARN'));

export const uninstallConfigSchema = z.object({
  stackId: z.string().check(z.regex(/^arn:aws[a-z-]*:cloudformation:/, 'must be a stack ARN')),
  boundaryArn: arn,
  guardPolicyArns: z.array(arn).check(z.minLength(1), z.maxLength(10)),
  guardRuleName: z.string().check(z.regex(/^[\w.-]{1,64}$/)),
  concurrency: z.int().check(z.gte(1), z.lte(16)),
});

// The schema checks exactly the interface the construct fills: neither may drift from the other.
const schemaMatchesInterface: Exactly<z.infer<typeof uninstallConfigSchema>, UninstallConfig> = true;
void schemaMatchesInterface;

/** Reads and checks the configuration; throws a message that names every bad field. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): UninstallConfig {
  return loadEnvConfig(env, UNINSTALL_CONFIG_ENV, uninstallConfigSchema);
}
