export { ActionGroup } from './action-group';
export { AgentGuard } from './agent-guard';
export { GuardContract } from './guard-contract';
export { GuardMode } from './guard-mode';
export { ProductionSignal } from './production-signal';
export type { AccountTagsOptions, OrganizationalUnitOptions } from './production-signal';
export { TrafficMetric } from './traffic-metric';
export type { AgentGuardProps } from './agent-guard';
