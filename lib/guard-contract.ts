import * as contract from './core/contract';

/**
 * The tags and names that agent-guard reads and writes, for tools, policies and tests that work with
 * guarded roles. They are part of the public API: a change to any of them is a breaking change.
 *
 * @example
 * declare const role: iam.Role;
 * Tags.of(role).add(GuardContract.AGENT_TAG, GuardContract.AGENT_TAG_VALUE);
 */
export class GuardContract {
  /**
   * Tag an IAM role with this key and the value {@link GuardContract.AGENT_TAG_VALUE} to make it an
   * AI-agent role; the guard constrains such a role at run time.
   */
  public static readonly AGENT_TAG: string = contract.AGENT_TAG;

  /** The value of {@link GuardContract.AGENT_TAG} that marks an agent role. */
  public static readonly AGENT_TAG_VALUE: string = contract.AGENT_TAG_VALUE;

  /**
   * The lock state of an agent role, written by the guard only. The value
   * {@link GuardContract.STATE_OPEN} unlocks destructive actions; absent, or any other value, means
   * locked.
   */
  public static readonly STATE_TAG: string = contract.STATE_TAG;

  /** The only value of {@link GuardContract.STATE_TAG} that unlocks. */
  public static readonly STATE_OPEN: string = contract.STATE_OPEN;

  /**
   * The id of the approval in force on an agent role, written by the guard only. It grants nothing
   * by itself.
   */
  public static readonly APPROVAL_TAG: string = contract.APPROVAL_TAG;

  /** Carried, with the value `true`, by every resource the guard deploys that can be tagged. */
  public static readonly COMPONENT_TAG: string = contract.COMPONENT_TAG;

  /** The IAM path of every managed policy and role the guard owns. */
  public static readonly GUARD_PATH: string = contract.GUARD_PATH;

  /** The name of the permission boundary managed policy that every agent role carries. */
  public static readonly BOUNDARY_POLICY_NAME: string = contract.BOUNDARY_POLICY_NAME;

  /**
   * The SSM parameter where the guard publishes the account status (JSON) for agents to read, unless
   * `statusParameterName` names another.
   */
  public static readonly DEFAULT_STATUS_PARAMETER: string = contract.DEFAULT_STATUS_PARAMETER;

  private constructor() {}
}
