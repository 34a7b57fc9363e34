import { destructiveCatalog } from './core/catalog/destructive-catalog';

/**
 * A named group of protected actions. The built-in groups are always protected; approvals and
 * reports refer to groups by name. Add your own with {@link ActionGroup.custom}.
 */
export class ActionGroup {
  /** Delete, terminate, remove, deregister, release, drop and purge actions of every IAM service, batch deletes, and data-plane deletes such as `dynamodb:PartiQLDelete`. */
  public static readonly DELETE = new ActionGroup('delete');
  /** Deletion- or termination-protection off, such as `rds:ModifyDBInstance` or `cloudformation:UpdateTerminationProtection`. */
  public static readonly PROTECTION_OFF = new ActionGroup('protection-off');
  /** Stack updates and teardown, and assuming the CDK deploy and publishing roles. */
  public static readonly STACK_REPLACE = new ActionGroup('stack-replace');
  /** Scaling to zero (now or by schedule), stopping, fault injection, and detaching serving capacity from traffic. */
  public static readonly SCALE_TO_ZERO = new ActionGroup('scale-to-zero');
  /** Lifecycle and retention rules, TTLs and key deletion, which destroy data later. */
  public static readonly DATA_EXPIRY = new ActionGroup('data-expiry');
  /** Route 53 change batches with a `DELETE` change, domain transfers and name-server updates. */
  public static readonly DNS_DELETE = new ActionGroup('dns-delete');
  /** Resource-based policy and ACL writes, which a permission boundary does not cap. */
  public static readonly RESOURCE_POLICY = new ActionGroup('resource-policy');
  /**
   * Running code with the existing, stronger role of a resource: SSM commands, sessions and associations,
   * ECS Exec and tasks, CodeBuild builds, Lambda code and configuration, Glue jobs, EKS access entries.
   */
  public static readonly REMOTE_EXECUTION = new ActionGroup('remote-execution');
  /** Cutting a resource off its traffic, data or users: detach, disassociate, unassign, unshare, unsubscribe, revoke. */
  public static readonly DETACH = new ActionGroup('detach');
  /** Replacing a resource or its data in place: replace, reset, backtrack, swap, in-place restores, API Gateway `PUT`/`PATCH`. */
  public static readonly OVERWRITE = new ActionGroup('overwrite');
  /** Turning off GuardDuty, Security Hub, Config recording, Macie or IAM Access Analyzer, or archiving their findings. */
  public static readonly DETECTION_OFF = new ActionGroup('detection-off');

  /** Every built-in group, in catalog order. */
  public static builtIn(): ActionGroup[] {
    return Object.keys(destructiveCatalog.groups).map((name) => new ActionGroup(name));
  }

  /**
   * A group of your own, protected like the built-in ones.
   *
   * @param name lower-case letters, digits and hyphens; not the name of a built-in group
   * @param actions exact actions (`dynamodb:UpdateTable`) or patterns (`glue:Update*`), expanded from the IAM catalog
   */
  public static custom(name: string, actions: string[]): ActionGroup {
    return new ActionGroup(name, [...actions]);
  }

  private constructor(
    /** The group's name, as approvals and reports spell it. */
    public readonly name: string,
    /** The actions of a custom group; undefined for a built-in group, whose actions come from the catalog. */
    public readonly customActions?: string[],
  ) {}
}
