export { ActionGroup } from './action-group';
export { AgentGuard } from './agent-guard';
export { GuardMode } from './guard-mode';
export { ProductionSignal } from './production-signal';
export type { AccountTagsOptions, OrganizationalUnitOptions } from './production-signal';
export { TrafficMetric } from './traffic-metric';
export type { AgentGuardProps } from './agent-guard';
export {
  AGENT_TAG,
  AGENT_TAG_VALUE,
  APPROVAL_TAG,
  BOUNDARY_POLICY_NAME,
  COMPONENT_TAG,
  DEFAULT_STATUS_PARAMETER,
  GUARD_PATH,
  STATE_OPEN,
  STATE_TAG,
} from './core/contract';
