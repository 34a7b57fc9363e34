import { DescribeRuleCommand, EventBridgeClient, ResourceNotFoundException } from '@aws-sdk/client-eventbridge';
import {
  DeleteConflictException,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DeleteRolePermissionsBoundaryCommand,
  DeleteUserPermissionsBoundaryCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListEntitiesForPolicyCommand,
  ListPoliciesCommand,
  ListPolicyVersionsCommand,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { AGENT_TAG, AGENT_TAG_VALUE, CONSTRAINED_TAG, STATE_TAG } from '../../lib/core/contract';
import { UninstallConfig } from '../../lib/core/config';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';
import { TRUST_DENY_STATEMENT } from '../../lib/core/policy/trust-deny';
import { AwsCaller } from '../../lambda/shared/aws-caller';
import { Uninstaller } from '../../lambda/uninstall/uninstall';
import { ASSUME_STATEMENT, encodePolicy, RecordingLogger } from './guard-fixture';

export const ACCOUNT_ID = '111122223333';
export const STACK_ID = `arn:aws:cloudformation:us-east-1:${ACCOUNT_ID}:stack/Guard/0b1c2d3e-0000-4000-8000-000000000001`;
export const GUARD_RULE = 'AgentGuardSchedule';
export const BOUNDARY_ARN = `arn:aws:iam::${ACCOUNT_ID}:policy/agent-guard/AgentGuardBoundary`;
export const GUARD_POLICY_ARNS = [
  `arn:aws:iam::${ACCOUNT_ID}:policy/agent-guard/AgentGuardDeny1`,
  `arn:aws:iam::${ACCOUNT_ID}:policy/agent-guard/AgentGuardDeny2`,
];
export const ADMIN_POLICY_ARN = 'arn:aws:iam::aws:policy/AdministratorAccess';
/** A customer policy under the guard path that is not the guard's: it must be left alone. */
export const OTHER_GUARD_PATH_POLICY = `arn:aws:iam::${ACCOUNT_ID}:policy/agent-guard/TeamReadOnly`;

export function approvalArn(setId: string, index: number, count = 2): string {
  return `arn:aws:iam::${ACCOUNT_ID}:policy/agent-guard/AgentGuardApproval-${setId}-${index}of${count}`;
}

export function uninstallConfig(overrides: Partial<UninstallConfig> = {}): UninstallConfig {
  return {
    stackId: STACK_ID,
    boundaryArn: BOUNDARY_ARN,
    guardPolicyArns: [...GUARD_POLICY_ARNS],
    guardRuleName: GUARD_RULE,
    concurrency: 4,
    ...overrides,
  };
}

function iamError<T extends Error>(
  Type: new (options: { message: string; $metadata: object }) => T,
  message: string,
  status: number,
): T {
  return new Type({ message, $metadata: { httpStatusCode: status } });
}

export interface FakePrincipal {
  readonly name: string;
  tags: Map<string, string>;
  attached: string[];
  boundary?: string;
  /** Roles only: the trust policy, JSON. */
  trust?: string;
}

export interface FakeManagedPolicy {
  readonly arn: string;
  readonly path: string;
  readonly name: string;
  /** Version ids; the first is the default. */
  versions: string[];
}

/**
 * A small IAM account, stateful, that enforces what the clean-up depends on (docs/AWS-BEHAVIOUR.md):
 * NoSuchEntity for missing principals, policies and attachments; DeletePolicy refused (DeleteConflict)
 * while the policy is attached to any user, group or role, is any principal's permissions boundary, or
 * has versions besides the default; DeletePolicyVersion refused for the default version; list calls
 * paged by MaxItems and Marker.
 */
export class FakeIamAccount {
  public readonly roles = new Map<string, FakePrincipal>();
  public readonly users = new Map<string, FakePrincipal>();
  public readonly groups = new Map<string, FakePrincipal>();
  public readonly policies = new Map<string, FakeManagedPolicy>();
  /** Items per page of List calls, at most; MaxItems lowers it. */
  public pageSize = 100;
  /** Every command received, by name without `Command`. */
  public readonly calls: { command: string; input: Record<string, unknown> }[] = [];
  /** Throw this instead of running a command, when it returns an error. */
  public fault?: (command: string, input: Record<string, unknown>) => Error | undefined;
  /** Runs after every command, to change the account under the clean-up's feet. */
  public after?: (command: string, input: Record<string, unknown>) => void;

  public addPolicy(arn: string, versions = ['v1']): void {
    const rest = arn.slice(arn.indexOf(':policy/') + ':policy'.length);
    const path = rest.slice(0, rest.lastIndexOf('/') + 1);
    this.policies.set(arn, { arn, path, name: rest.slice(rest.lastIndexOf('/') + 1), versions });
  }

  public addRole(
    name: string,
    spec: { tags?: Record<string, string>; policies?: string[]; boundary?: string; trust?: PolicyDocumentJson },
  ): FakePrincipal {
    const role: FakePrincipal = {
      name,
      tags: new Map(Object.entries(spec.tags ?? {})),
      attached: [...(spec.policies ?? [])],
      boundary: spec.boundary,
      trust: JSON.stringify(spec.trust ?? { Version: '2012-10-17', Statement: [ASSUME_STATEMENT] }),
    };
    for (const arn of [...role.attached, ...(role.boundary ? [role.boundary] : [])]) {
      if (!this.policies.has(arn)) this.addPolicy(arn);
    }
    this.roles.set(name, role);
    return role;
  }

  public addUser(name: string, spec: { policies?: string[]; boundary?: string }): FakePrincipal {
    const user: FakePrincipal = {
      name,
      tags: new Map(),
      attached: [...(spec.policies ?? [])],
      boundary: spec.boundary,
    };
    this.users.set(name, user);
    return user;
  }

  public addGroup(name: string, policies: string[]): FakePrincipal {
    const group: FakePrincipal = { name, tags: new Map(), attached: [...policies] };
    this.groups.set(name, group);
    return group;
  }

  public role(name: string): FakePrincipal {
    const role = this.roles.get(name);
    if (!role) throw new Error(`fake IAM: no role ${name}`);
    return role;
  }

  public trust(name: string): PolicyDocumentJson {
    return JSON.parse(this.role(name).trust!) as PolicyDocumentJson;
  }

  private principals(): FakePrincipal[] {
    return [...this.roles.values(), ...this.users.values(), ...this.groups.values()];
  }

  private get(map: Map<string, FakePrincipal>, kind: string, name: string | undefined): FakePrincipal {
    const found = name ? map.get(name) : undefined;
    if (!found) throw iamError(NoSuchEntityException, `The ${kind} with name ${name} cannot be found.`, 404);
    return found;
  }

  private policy(arn: string | undefined): FakeManagedPolicy {
    const found = arn ? this.policies.get(arn) : undefined;
    if (!found) throw iamError(NoSuchEntityException, `Policy ${arn} does not exist or is not attachable.`, 404);
    return found;
  }

  private page<T>(items: readonly T[], marker: string | undefined, maxItems: number | undefined) {
    const size = Math.min(this.pageSize, maxItems ?? 100);
    const start = marker === undefined ? 0 : Number(marker);
    const end = start + size;
    const truncated = end < items.length;
    return { items: items.slice(start, end), IsTruncated: truncated, Marker: truncated ? String(end) : undefined };
  }

  private detach(principal: FakePrincipal, arn: string | undefined): void {
    if (!arn || !principal.attached.includes(arn)) {
      throw iamError(NoSuchEntityException, `Policy ${arn} was not found.`, 404);
    }
    principal.attached = principal.attached.filter((a) => a !== arn);
  }

  public send(command: unknown): unknown {
    const name = (command as object).constructor.name.replace(/Command$/, '');
    const input = (command as { input: Record<string, unknown> }).input;
    this.calls.push({ command: name, input });
    const error = this.fault?.(name, input);
    if (error) throw error;
    const result = this.run(command);
    this.after?.(name, input);
    return result;
  }

  private run(command: unknown): unknown {
    if (command instanceof GetRoleCommand) {
      const role = this.get(this.roles, 'role', command.input.RoleName);
      return {
        Role: {
          RoleName: role.name,
          RoleId: `AROA${role.name.toUpperCase()}`,
          Arn: `arn:aws:iam::${ACCOUNT_ID}:role/${role.name}`,
          Path: '/',
          CreateDate: new Date('2026-01-01T00:00:00Z'),
          AssumeRolePolicyDocument: encodePolicy(role.trust!),
          Tags: [...role.tags].map(([Key, Value]) => ({ Key, Value })),
          PermissionsBoundary: role.boundary
            ? { PermissionsBoundaryType: 'PermissionsBoundaryPolicy', PermissionsBoundaryArn: role.boundary }
            : undefined,
        },
      };
    }
    if (command instanceof ListAttachedRolePoliciesCommand) {
      const role = this.get(this.roles, 'role', command.input.RoleName);
      const { items, IsTruncated, Marker } = this.page(role.attached, command.input.Marker, command.input.MaxItems);
      return {
        AttachedPolicies: items.map((arn) => ({ PolicyArn: arn, PolicyName: arn.split('/').pop() })),
        IsTruncated,
        Marker,
      };
    }
    if (command instanceof UntagRoleCommand) {
      const role = this.get(this.roles, 'role', command.input.RoleName);
      for (const key of command.input.TagKeys ?? []) role.tags.delete(key);
      return {};
    }
    if (command instanceof UpdateAssumeRolePolicyCommand) {
      const role = this.get(this.roles, 'role', command.input.RoleName);
      const document = JSON.parse(command.input.PolicyDocument ?? '') as PolicyDocumentJson;
      const statements = [document.Statement].flat();
      if (statements.length === 0) throw iamError(MalformedPolicyDocumentException, 'Statement is empty.', 400);
      role.trust = command.input.PolicyDocument;
      return {};
    }
    if (command instanceof DetachRolePolicyCommand) {
      this.detach(this.get(this.roles, 'role', command.input.RoleName), command.input.PolicyArn);
      return {};
    }
    if (command instanceof DetachUserPolicyCommand) {
      this.detach(this.get(this.users, 'user', command.input.UserName), command.input.PolicyArn);
      return {};
    }
    if (command instanceof DetachGroupPolicyCommand) {
      this.detach(this.get(this.groups, 'group', command.input.GroupName), command.input.PolicyArn);
      return {};
    }
    if (command instanceof DeleteRolePermissionsBoundaryCommand) {
      this.get(this.roles, 'role', command.input.RoleName).boundary = undefined;
      return {};
    }
    if (command instanceof DeleteUserPermissionsBoundaryCommand) {
      this.get(this.users, 'user', command.input.UserName).boundary = undefined;
      return {};
    }
    if (command instanceof ListPoliciesCommand) {
      const { Scope: scope = 'All', PathPrefix: prefix = '/' } = command.input;
      const all = [...this.policies.values()]
        .filter((p) => scope !== 'Local' || !p.arn.includes(':iam::aws:'))
        .filter((p) => p.path.startsWith(prefix))
        .sort((a, b) => a.name.localeCompare(b.name));
      const { items, IsTruncated, Marker } = this.page(all, command.input.Marker, command.input.MaxItems);
      return { Policies: items.map((p) => ({ PolicyName: p.name, Arn: p.arn, Path: p.path })), IsTruncated, Marker };
    }
    if (command instanceof ListEntitiesForPolicyCommand) {
      const policy = this.policy(command.input.PolicyArn);
      const usage = command.input.PolicyUsageFilter;
      const holds = (p: FakePrincipal) =>
        (usage !== 'PermissionsBoundary' && p.attached.includes(policy.arn)) ||
        (usage !== 'PermissionsPolicy' && p.boundary === policy.arn);
      const entities = [
        ...[...this.roles.values()].filter(holds).map((r) => ({ kind: 'role', name: r.name })),
        ...[...this.users.values()].filter(holds).map((u) => ({ kind: 'user', name: u.name })),
        ...[...this.groups.values()].filter(holds).map((g) => ({ kind: 'group', name: g.name })),
      ];
      const { items, IsTruncated, Marker } = this.page(entities, command.input.Marker, command.input.MaxItems);
      return {
        PolicyRoles: items.filter((e) => e.kind === 'role').map((e) => ({ RoleName: e.name })),
        PolicyUsers: items.filter((e) => e.kind === 'user').map((e) => ({ UserName: e.name })),
        PolicyGroups: items.filter((e) => e.kind === 'group').map((e) => ({ GroupName: e.name })),
        IsTruncated,
        Marker,
      };
    }
    if (command instanceof ListPolicyVersionsCommand) {
      const policy = this.policy(command.input.PolicyArn);
      return { Versions: policy.versions.map((v, i) => ({ VersionId: v, IsDefaultVersion: i === 0 })) };
    }
    if (command instanceof DeletePolicyVersionCommand) {
      const policy = this.policy(command.input.PolicyArn);
      const index = policy.versions.indexOf(command.input.VersionId ?? '');
      if (index < 0) throw iamError(NoSuchEntityException, `Version ${command.input.VersionId} not found.`, 404);
      if (index === 0) throw iamError(DeleteConflictException, 'Cannot delete the default version of a policy.', 409);
      policy.versions.splice(index, 1);
      return {};
    }
    if (command instanceof DeletePolicyCommand) {
      const policy = this.policy(command.input.PolicyArn);
      if (this.principals().some((p) => p.attached.includes(policy.arn) || p.boundary === policy.arn)) {
        throw iamError(DeleteConflictException, 'Cannot delete a policy attached to entities.', 409);
      }
      if (policy.versions.length > 1) {
        throw iamError(DeleteConflictException, 'This policy has more than one version.', 409);
      }
      this.policies.delete(policy.arn);
      return {};
    }
    throw new Error(`fake IAM does not implement ${(command as object).constructor.name}`);
  }
}

/** EventBridge with the guard's rules: DescribeRule finds them until they are deleted. */
export class FakeRules {
  public readonly rules = new Set<string>();
  public send(command: unknown): unknown {
    if (command instanceof DescribeRuleCommand) {
      const name = command.input.Name ?? '';
      if (!this.rules.has(name)) {
        throw new ResourceNotFoundException({ message: `Rule ${name} does not exist.`, $metadata: {} });
      }
      return { Name: name, Arn: `arn:aws:events:us-east-1:${ACCOUNT_ID}:rule/${name}` };
    }
    throw new Error(`fake EventBridge does not implement ${(command as object).constructor.name}`);
  }
}

/** The guard's trust-policy deny, with the usual assume statement. */
export const GUARDED_TRUST: PolicyDocumentJson = {
  Version: '2012-10-17',
  Statement: [ASSUME_STATEMENT, TRUST_DENY_STATEMENT],
};

/** A role as the guard leaves it: boundary, guard policies, state tag, trust deny, and its own policy. */
export function addGuardedRole(
  iam: FakeIamAccount,
  name: string,
  extra: { state?: string; tags?: Record<string, string>; policies?: string[] } = {},
): FakePrincipal {
  return iam.addRole(name, {
    tags: {
      [AGENT_TAG]: AGENT_TAG_VALUE,
      [STATE_TAG]: extra.state ?? 'locked',
      [CONSTRAINED_TAG]: 'true',
      team: 'platform',
      ...extra.tags,
    },
    policies: extra.policies ?? [ADMIN_POLICY_ARN, ...GUARD_POLICY_ARNS],
    boundary: BOUNDARY_ARN,
    trust: GUARDED_TRUST,
  });
}

export interface UninstallFixture {
  readonly iam: FakeIamAccount;
  readonly rules: FakeRules;
  readonly caller: AwsCaller;
  readonly logger: RecordingLogger;
  readonly config: UninstallConfig;
  uninstaller(remainingMs?: () => number): Uninstaller;
}

/**
 * An account with the guard's boundary and policies, a team policy under the guard path, and no guard
 * rule (the stack's delete has removed it); or `account`, as an earlier run left it. Clients route
 * every command to the fakes.
 */
export function newUninstallFixture(config: Partial<UninstallConfig> = {}, account?: FakeIamAccount): UninstallFixture {
  const iam = account ?? new FakeIamAccount();
  const rules = new FakeRules();
  if (!account) {
    for (const arn of [BOUNDARY_ARN, ...GUARD_POLICY_ARNS, ADMIN_POLICY_ARN, OTHER_GUARD_PATH_POLICY]) {
      iam.addPolicy(arn);
    }
  }
  const caller = new AwsCaller({ sleep: () => Promise.resolve() });
  const logger = new RecordingLogger();
  const resolved = uninstallConfig(config);
  const client = <T>(fake: { send(command: unknown): unknown }): T =>
    ({ send: (command: unknown) => Promise.resolve().then(() => fake.send(command)) }) as unknown as T;
  return {
    iam,
    rules,
    caller,
    logger,
    config: resolved,
    uninstaller: (remainingMs) =>
      new Uninstaller({
        config: resolved,
        iam: client<IAMClient>(iam),
        events: client<EventBridgeClient>(rules),
        caller,
        logger,
        remainingMs,
      }),
  };
}
