import { Template } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../../lambda/guard/config';
import { GUARD_CONFIG_ENV, GuardConfig } from '../../lib/core/config';
import { resolveIntrinsics } from './guarded-role';

type Resources = Parameters<typeof resolveIntrinsics>[1];

/** The guard function's configuration as the function reads it, with intrinsics resolved. */
export function functionConfig(template: Template): GuardConfig {
  const resources = template.toJSON().Resources as Resources;
  const fn = Object.values(resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName === 'AgentGuardEvaluator',
  )!;
  const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  return loadConfig({ [GUARD_CONFIG_ENV]: resolveIntrinsics(variables[GUARD_CONFIG_ENV], resources) as string });
}
