import { UninstallConfig } from '../../lib/core/config';
import { Uninstaller, UninstallLogger, UninstallSummary } from './uninstall';

/** The physical id of the clean-up resource. Constant, so an update never replaces it (a replacement deletes). */
export const PHYSICAL_ID = 'AgentGuardUninstall';

/** The fields of a CloudFormation custom resource event that the clean-up reads. */
export interface CustomResourceEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly StackId: string;
  readonly PhysicalResourceId?: string;
}

export interface CustomResourceResult {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string | number>;
}

/**
 * The custom resource's event handler (the `onEvent` of a CDK Provider). Create and Update do nothing.
 * Delete cleans the account, unless the guard is still running; it fails, naming what is left, when
 * something could not be cleaned, so CloudFormation stops before the boundary and shows why.
 */
export async function onEvent(
  event: CustomResourceEvent,
  config: UninstallConfig,
  uninstaller: Uninstaller,
  logger: UninstallLogger,
): Promise<CustomResourceResult> {
  if (event.RequestType !== 'Delete') return { PhysicalResourceId: event.PhysicalResourceId ?? PHYSICAL_ID };
  const physicalId = event.PhysicalResourceId ?? PHYSICAL_ID;
  if (event.StackId !== config.stackId) {
    throw new Error(`agent-guard clean-up: a Delete for stack ${event.StackId} is not for ${config.stackId}; refused.`);
  }
  if (await uninstaller.guardStillRunning()) {
    const reason =
      `the guard's rule ${config.guardRuleName} still exists, so the guard is not being removed ` +
      '(an update was rolled back, or the resource was replaced); nothing was changed';
    logger.warn(`agent-guard clean-up skipped: ${reason}`);
    return { PhysicalResourceId: physicalId, Data: { Skipped: reason } };
  }
  const summary = await uninstaller.run();
  if (summary.failures.length > 0) {
    const shown = summary.failures.slice(0, 5).join('; ');
    const more = summary.failures.length > 5 ? ` and ${summary.failures.length - 5} more (see the log)` : '';
    logger.error('agent-guard clean-up failed', { failures: [...summary.failures] });
    throw new Error(
      `agent-guard clean-up could not clean ${summary.failures.length} item(s): ${shown}${more}. ` +
        'Fix the cause and delete the stack again; the clean-up resumes where it stopped (docs/UNINSTALL.md).',
    );
  }
  return { PhysicalResourceId: physicalId, Data: responseData(summary) };
}

function responseData(summary: UninstallSummary): Record<string, number> {
  return {
    Roles: summary.roles,
    Users: summary.users,
    Groups: summary.groups,
    Gone: summary.gone,
    PoliciesDetached: summary.policiesDetached,
    BoundariesRemoved: summary.boundariesRemoved,
    RolesUntagged: summary.rolesUntagged,
    TrustStatementsRemoved: summary.trustStatementsRemoved,
    ApprovalPoliciesDeleted: summary.approvalPoliciesDeleted,
    Passes: summary.passes,
    IamReads: summary.calls.reads,
    IamWrites: summary.calls.writes,
  };
}
