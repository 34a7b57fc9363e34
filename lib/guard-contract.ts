import * as contract from './core/contract';

/**
 * The tags and names that agent-guard reads and writes, for tools, policies and tests that work with
 * guarded roles.
 *
 * They are part of the public API: a change to any of them is a breaking change.
 *
 * @example
 * declare const role: iam.Role;
 * Tags.of(role).add(GuardContract.AGENT_TAG, GuardContract.AGENT_TAG_VALUE);
 */
export class GuardContract {
  /**
   * The tag key `agent-guard:agent`, which makes an IAM role an agent role when its value is `true`.
   *
   * The guard constrains a role tagged so at run time; `AgentGuard.constrain` tags the roles it
   * constrains at synth.
   */
  public static readonly AGENT_TAG: string = contract.AGENT_TAG;

  /** The value `true` of `AGENT_TAG` that marks an agent role. */
  public static readonly AGENT_TAG_VALUE: string = contract.AGENT_TAG_VALUE;

  /**
   * The tag key `agent-guard:state`: an agent role's lock state, written by the guard only.
   *
   * The value `STATE_OPEN` unlocks destructive actions; absent, or any other value, means locked.
   */
  public static readonly STATE_TAG: string = contract.STATE_TAG;

  /** The value `open` of `STATE_TAG`, the only one that unlocks. */
  public static readonly STATE_OPEN: string = contract.STATE_OPEN;

  /**
   * The tag key `agent-guard:approval`: the id of the approval in force on an agent role.
   *
   * Written by the guard only. It grants nothing by itself.
   */
  public static readonly APPROVAL_TAG: string = contract.APPROVAL_TAG;

  /**
   * The tag key `agent-guard:constrained`: written by the guard only, with the value `CONSTRAINED_TAG_VALUE`.
   *
   * The guard writes it once it has read back that the role holds the boundary, the complete set of guard
   * deny policies and the trust policy's session-tag deny, and removes it before it repairs any of them.
   * The boundary allows nothing to a principal without it, so a role the guard could not verify can do
   * nothing at all.
   */
  public static readonly CONSTRAINED_TAG: string = contract.CONSTRAINED_TAG;

  /** The value `true` of `CONSTRAINED_TAG` that the boundary requires. */
  public static readonly CONSTRAINED_TAG_VALUE: string = contract.CONSTRAINED_TAG_VALUE;

  /** The tag key `agent-guard:component`, with the value `true` on every guard resource that takes tags. */
  public static readonly COMPONENT_TAG: string = contract.COMPONENT_TAG;

  /** The IAM path `/agent-guard/` of every managed policy and role that the guard owns. */
  public static readonly GUARD_PATH: string = contract.GUARD_PATH;

  /** The name `AgentGuardBoundary` of the permission boundary that every agent role carries. */
  public static readonly BOUNDARY_POLICY_NAME: string = contract.BOUNDARY_POLICY_NAME;

  /**
   * The SSM parameter `/agent-guard/status`, where the guard publishes the account status for agents.
   *
   * The status is JSON. The `statusParameterName` prop can name another parameter.
   */
  public static readonly DEFAULT_STATUS_PARAMETER: string = contract.DEFAULT_STATUS_PARAMETER;

  private constructor() {}
}
