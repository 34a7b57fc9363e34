export { ActionGroup } from './action-group';
export { AgentGuard } from './agent-guard';
export type { AgentGuardProps } from './agent-guard';
export {
  AGENT_TAG,
  AGENT_TAG_VALUE,
  APPROVAL_TAG,
  BOUNDARY_POLICY_NAME,
  COMPONENT_TAG,
  GUARD_PATH,
  STATE_OPEN,
  STATE_TAG,
} from './contract';
