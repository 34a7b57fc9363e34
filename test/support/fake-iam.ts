import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  DeleteConflictException,
  DeletePolicyCommand,
  DetachRolePolicyCommand,
  EntityAlreadyExistsException,
  GetAccountAuthorizationDetailsCommand,
  GetRoleCommand,
  IAMServiceException,
  LimitExceededException,
  ListAttachedRolePoliciesCommand,
  ListEntitiesForPolicyCommand,
  IAMClient,
  ListPoliciesCommand,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  PutRolePermissionsBoundaryCommand,
  TagRoleCommand,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { MANAGED_POLICY_MAX_CHARS, parseApprovalPolicyArn } from '../../lib/core/contract';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';

/**
 * An in-memory IAM that enforces the documented limits the guard and the approval function run into
 * (docs/AWS-BEHAVIOUR.md): the managed-policy quota per role, the managed policy size, and eventual
 * consistency, as writes that reads see only after `visibilityDelayReads` reads of the role.
 */

const DEFAULT_ACCOUNT_ID = '111122223333';

function iamError<T extends Error>(
  Type: new (options: { message: string; $metadata: object }) => T,
  message: string,
  status = 400,
): T {
  return new Type({ message, $metadata: { httpStatusCode: status } });
}

/** IAM's ValidationError, which the SDK raises as a plain service exception. */
function iamValidation(message: string): IAMServiceException {
  return new IAMServiceException({
    name: 'ValidationError',
    $fault: 'client',
    message,
    $metadata: { httpStatusCode: 400 },
  });
}

/** What reads return of a role, and what the lock watch counts as in force. */
export interface FakeRoleView {
  readonly attached: readonly string[];
  readonly boundary?: string;
  readonly trustPolicy?: string;
}

export interface FakeRole {
  readonly name: string;
  readonly path: string;
  readonly arn: string;
  readonly tags: Map<string, string>;
  /** Attached managed policy ARNs, in attach order, as written (reads may still see an older view). */
  attached: string[];
  boundary?: string;
  /** The trust policy as JSON text. */
  trustPolicy?: string;
  /** While writes have not propagated: what reads see, for `readsLeft` more reads of the role. */
  stale?: { view: FakeRoleView; readsLeft: number };
}

export interface FakePolicy {
  readonly arn: string;
  readonly name: string;
  readonly path: string;
  readonly document: string;
  readonly tags: Record<string, string>;
  readonly local: boolean;
  /** Sequence number of the call that created it; 0 for policies the account started with. */
  readonly createdSeq: number;
}

const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

export class FakeIam {
  public readonly roles = new Map<string, FakeRole>();
  public readonly policies = new Map<string, FakePolicy>();
  /** Managed policies a role may hold (IAM's default quota). */
  public attachQuota = 10;
  /** Items per page of List calls. */
  public pageSize = 100;
  /**
   * IAM is eventually consistent: after a write to a role's attachments, boundary or trust policy, this
   * many reads of the role (GetRole, ListAttachedRolePolicies, GetAccountAuthorizationDetails) still see
   * the role as it was before. 0 makes writes visible at once. Tags are visible at once.
   */
  public visibilityDelayReads = 0;

  constructor(
    private readonly seq: () => number = () => 0,
    public readonly account: string = DEFAULT_ACCOUNT_ID,
  ) {}

  /**
   * The managed policies in force on a role: attached and visible. A write that reads do not return
   * yet is not trusted to be in force, and a detach is taken to act at once.
   */
  public inForce(role: FakeRole): string[] {
    const visible = this.visible(role).attached;
    return role.attached.filter((arn) => visible.includes(arn));
  }

  /** What reads of the role return now, without counting as a read. */
  public visible(role: FakeRole): FakeRoleView {
    return role.stale?.view ?? { attached: role.attached, boundary: role.boundary, trustPolicy: role.trustPolicy };
  }

  /** What a read of the role returns now; each read brings the propagation of pending writes closer. */
  private read(role: FakeRole): FakeRoleView {
    if (role.stale && role.stale.readsLeft > 0) {
      role.stale.readsLeft--;
      return role.stale.view;
    }
    role.stale = undefined;
    return { ...this.visible(role), attached: [...role.attached] };
  }

  /** Call before a write to the role's view: reads keep seeing the view as it is now for a while. */
  private written(role: FakeRole): void {
    if (this.visibilityDelayReads === 0) return;
    const view = role.stale?.view ?? {
      attached: [...role.attached],
      boundary: role.boundary,
      trustPolicy: role.trustPolicy,
    };
    role.stale = { view, readsLeft: this.visibilityDelayReads };
  }

  public addPolicy(
    arn: string,
    document: PolicyDocumentJson | string = { Version: '2012-10-17', Statement: [] },
  ): void {
    const local = !arn.includes(':iam::aws:');
    const rest = arn.slice(arn.indexOf(':policy/') + ':policy'.length);
    const name = rest.slice(rest.lastIndexOf('/') + 1);
    const path = rest.slice(0, rest.lastIndexOf('/') + 1);
    const text = typeof document === 'string' ? document : JSON.stringify(document);
    this.policies.set(arn, { arn, name, path, document: text, tags: {}, local, createdSeq: 0 });
  }

  public addRole(
    name: string,
    options: {
      tags?: Record<string, string>;
      policies?: readonly string[];
      path?: string;
      boundary?: string;
      trustPolicy?: PolicyDocumentJson;
    } = {},
  ): FakeRole {
    const path = options.path ?? '/';
    const role: FakeRole = {
      name,
      path,
      arn: `arn:aws:iam::${this.account}:role${path}${name}`,
      tags: new Map(Object.entries(options.tags ?? {})),
      attached: [],
      boundary: options.boundary,
      trustPolicy: options.trustPolicy && JSON.stringify(options.trustPolicy),
    };
    for (const arn of options.policies ?? []) {
      if (!this.policies.has(arn)) this.addPolicy(arn);
      role.attached.push(arn);
    }
    this.roles.set(name, role);
    return role;
  }

  public role(name: string): FakeRole {
    const role = this.roles.get(name);
    if (!role) throw new Error(`fake IAM: no role ${name}`);
    return role;
  }

  /** Approval policies that exist now. */
  public approvalPolicies(): FakePolicy[] {
    return [...this.policies.values()].filter((p) => parseApprovalPolicyArn(p.arn));
  }

  /** The ARNs of the approval policies that exist now, sorted. */
  public approvalPolicyArns(): string[] {
    return this.approvalPolicies()
      .map((p) => p.arn)
      .sort();
  }

  public document(arn: string): PolicyDocumentJson {
    const policy = this.policies.get(arn);
    if (!policy) throw new Error(`fake IAM: no policy ${arn}`);
    return JSON.parse(policy.document) as PolicyDocumentJson;
  }

  private getRole(roleName: string | undefined): FakeRole {
    if (!roleName || !ROLE_NAME.test(roleName)) {
      throw iamValidation(
        `1 validation error detected: Value '${roleName}' at 'roleName' failed to satisfy constraint`,
      );
    }
    const role = this.roles.get(roleName);
    if (!role) throw iamError(NoSuchEntityException, `The role with name ${roleName} cannot be found.`, 404);
    return role;
  }

  private getPolicy(arn: string | undefined): FakePolicy {
    const policy = arn ? this.policies.get(arn) : undefined;
    if (!policy) throw iamError(NoSuchEntityException, `Policy ${arn} does not exist or is not attachable.`, 404);
    return policy;
  }

  private page<T>(
    items: readonly T[],
    marker: string | undefined,
  ): { items: T[]; IsTruncated: boolean; Marker?: string } {
    const start = marker === undefined ? 0 : Number(marker);
    const end = start + this.pageSize;
    const truncated = end < items.length;
    return { items: items.slice(start, end), IsTruncated: truncated, Marker: truncated ? String(end) : undefined };
  }

  /** A role as GetRole returns it; IAM returns policy documents URL-encoded. */
  private roleDetail(role: FakeRole, view: FakeRoleView) {
    return {
      RoleName: role.name,
      RoleId: `AROA${role.name.toUpperCase()}`,
      Arn: role.arn,
      Path: role.path,
      CreateDate: new Date('2026-01-01T00:00:00Z'),
      Tags: [...role.tags].map(([Key, Value]) => ({ Key, Value })),
      PermissionsBoundary: view.boundary
        ? { PermissionsBoundaryType: 'PermissionsBoundaryPolicy' as const, PermissionsBoundaryArn: view.boundary }
        : undefined,
      AssumeRolePolicyDocument: view.trustPolicy && encodeURIComponent(view.trustPolicy),
    };
  }

  /** An IAMClient whose every call goes to this fake, answered or thrown a microtask later, as the SDK would. */
  public client(): IAMClient {
    const send = async (command: unknown): Promise<unknown> => {
      await Promise.resolve();
      return { $metadata: { httpStatusCode: 200 }, ...(this.send(command) as object) };
    };
    return { send } as unknown as IAMClient;
  }

  public send(command: unknown): unknown {
    if (command instanceof GetRoleCommand) {
      const role = this.getRole(command.input.RoleName);
      return { Role: this.roleDetail(role, this.read(role)) };
    }
    if (command instanceof GetAccountAuthorizationDetailsCommand) {
      if (!(command.input.Filter ?? []).includes('Role'))
        throw new Error('fake IAM: only the Role filter is implemented');
      const { items, IsTruncated, Marker } = this.page([...this.roles.values()], command.input.Marker);
      return {
        RoleDetailList: items.map((role) => {
          const view = this.read(role);
          return {
            ...this.roleDetail(role, view),
            AttachedManagedPolicies: view.attached.map((arn) => ({
              PolicyArn: arn,
              PolicyName: this.policies.get(arn)?.name,
            })),
          };
        }),
        IsTruncated,
        Marker,
      };
    }
    if (command instanceof ListAttachedRolePoliciesCommand) {
      const role = this.getRole(command.input.RoleName);
      const { items, IsTruncated, Marker } = this.page(this.read(role).attached, command.input.Marker);
      return {
        AttachedPolicies: items.map((arn) => ({ PolicyArn: arn, PolicyName: this.policies.get(arn)?.name })),
        IsTruncated,
        Marker,
      };
    }
    if (command instanceof CreatePolicyCommand) {
      const { PolicyName: name, Path: path = '/', PolicyDocument: document } = command.input;
      if (!name || !document) throw iamValidation('PolicyName and PolicyDocument are required');
      if ([...this.policies.values()].some((p) => p.local && p.name === name)) {
        throw iamError(
          EntityAlreadyExistsException,
          `A policy called ${name} already exists. Duplicate names are not allowed.`,
          409,
        );
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(document);
      } catch {
        throw iamError(MalformedPolicyDocumentException, 'Syntax errors in policy.');
      }
      const size = document.replace(/\s/g, '').length;
      if (size > MANAGED_POLICY_MAX_CHARS) {
        throw iamError(LimitExceededException, `Cannot exceed quota for PolicySize: ${MANAGED_POLICY_MAX_CHARS}`, 409);
      }
      if (typeof parsed !== 'object' || parsed === null || !('Statement' in parsed)) {
        throw iamError(MalformedPolicyDocumentException, 'Policy document must contain Statement.');
      }
      const arn = `arn:aws:iam::${this.account}:policy${path}${name}`;
      const tags = Object.fromEntries((command.input.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      this.policies.set(arn, { arn, name, path, document, tags, local: true, createdSeq: this.seq() });
      return { Policy: { PolicyName: name, Arn: arn, Path: path, DefaultVersionId: 'v1', AttachmentCount: 0 } };
    }
    if (command instanceof DeletePolicyCommand) {
      const policy = this.getPolicy(command.input.PolicyArn);
      if (!policy.local) throw iamValidation('AWS managed policies cannot be deleted');
      const holders = [...this.roles.values()].filter((r) => r.attached.includes(policy.arn));
      if (holders.length > 0) {
        throw iamError(DeleteConflictException, 'Cannot delete a policy attached to entities.', 409);
      }
      this.policies.delete(policy.arn);
      return {};
    }
    if (command instanceof AttachRolePolicyCommand) {
      const role = this.getRole(command.input.RoleName);
      const policy = this.getPolicy(command.input.PolicyArn);
      if (role.attached.includes(policy.arn)) return {};
      if (role.attached.length >= this.attachQuota) {
        throw iamError(LimitExceededException, `Cannot exceed quota for PoliciesPerRole: ${this.attachQuota}`, 409);
      }
      this.written(role);
      role.attached.push(policy.arn);
      return {};
    }
    if (command instanceof DetachRolePolicyCommand) {
      const role = this.getRole(command.input.RoleName);
      const arn = command.input.PolicyArn ?? '';
      if (!role.attached.includes(arn)) {
        throw iamError(NoSuchEntityException, `Policy ${arn} was not found.`, 404);
      }
      this.written(role);
      role.attached = role.attached.filter((a) => a !== arn);
      return {};
    }
    if (command instanceof PutRolePermissionsBoundaryCommand) {
      const role = this.getRole(command.input.RoleName);
      this.getPolicy(command.input.PermissionsBoundary);
      this.written(role);
      role.boundary = command.input.PermissionsBoundary;
      return {};
    }
    if (command instanceof UpdateAssumeRolePolicyCommand) {
      const role = this.getRole(command.input.RoleName);
      try {
        JSON.parse(command.input.PolicyDocument ?? '');
      } catch {
        throw iamError(MalformedPolicyDocumentException, 'Syntax errors in policy.');
      }
      this.written(role);
      role.trustPolicy = command.input.PolicyDocument;
      return {};
    }
    if (command instanceof TagRoleCommand) {
      const role = this.getRole(command.input.RoleName);
      for (const tag of command.input.Tags ?? []) role.tags.set(tag.Key ?? '', tag.Value ?? '');
      if (role.tags.size > 50) throw iamError(LimitExceededException, 'Cannot exceed quota for TagsPerRole: 50', 409);
      return {};
    }
    if (command instanceof UntagRoleCommand) {
      const role = this.getRole(command.input.RoleName);
      for (const key of command.input.TagKeys ?? []) role.tags.delete(key);
      return {};
    }
    if (command instanceof ListPoliciesCommand) {
      const { Scope: scope = 'All', PathPrefix: prefix = '/' } = command.input;
      const all = [...this.policies.values()]
        .filter((p) => (scope === 'All' ? true : scope === 'Local' ? p.local : !p.local))
        .filter((p) => p.path.startsWith(prefix))
        .sort((a, b) => a.name.localeCompare(b.name));
      const { items, IsTruncated, Marker } = this.page(all, command.input.Marker);
      return {
        Policies: items.map((p) => ({ PolicyName: p.name, Arn: p.arn, Path: p.path })),
        IsTruncated,
        Marker,
      };
    }
    if (command instanceof ListEntitiesForPolicyCommand) {
      const policy = this.getPolicy(command.input.PolicyArn);
      const roles = [...this.roles.values()].filter((r) => r.attached.includes(policy.arn));
      const { items, IsTruncated, Marker } = this.page(
        command.input.EntityFilter && command.input.EntityFilter !== 'Role' ? [] : roles,
        command.input.Marker,
      );
      return {
        PolicyRoles: items.map((r) => ({ RoleName: r.name, RoleId: `AROA${r.name.toUpperCase()}` })),
        PolicyUsers: [],
        PolicyGroups: [],
        IsTruncated,
        Marker,
      };
    }
    throw new Error(`fake IAM does not implement ${(command as object).constructor.name}`);
  }
}
