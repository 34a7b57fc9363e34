import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  DeletePolicyCommand,
  DetachRolePolicyCommand,
  GetAccountAuthorizationDetailsCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  NoSuchEntityException,
  PutRolePermissionsBoundaryCommand,
  TagRoleCommand,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';

const ACCOUNT_ID = '111122223333';

export interface SharedRole {
  readonly name: string;
  readonly arn: string;
  readonly tags: Map<string, string>;
  boundaryArn?: string;
  attached: string[];
  trustPolicy: string;
}

/** One IAM write: when it started and ended (sequence numbers), by whom, to which role. */
interface WriteSpan {
  readonly writer: string;
  readonly role: string;
  readonly command: string;
  readonly start: number;
  end: number;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * One stateful IAM account that several invocations (the guard's and the approval function's) reach
 * through their own clients, each named as a writer. Every call takes a turn of the event loop before
 * and after it applies, so calls of concurrent invocations interleave as they would against IAM.
 *
 * Its overlap detector is the test's oracle for "two invocations never write one role at once": for
 * each role, each writer's writes span from the start of its first to the end of its last; two
 * writers' spans on one role must not intersect.
 */
export class SharedIamAccount {
  public readonly roles = new Map<string, SharedRole>();
  public readonly policies = new Map<string, string>();
  public readonly writes: WriteSpan[] = [];
  /** Awaited before each call applies; replace to hold one writer's call while others run. */
  public hold: (writer: string, command: string, input: Record<string, unknown>) => Promise<void> = () =>
    Promise.resolve();
  private seq = 0;

  public addRole(
    name: string,
    options: { tags?: Record<string, string>; boundaryArn?: string; attached?: string[]; trust?: PolicyDocumentJson },
  ): SharedRole {
    const trust = options.trust ?? {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: 'sts:AssumeRole' }],
    };
    const role: SharedRole = {
      name,
      arn: `arn:aws:iam::${ACCOUNT_ID}:role/${name}`,
      tags: new Map(Object.entries(options.tags ?? {})),
      boundaryArn: options.boundaryArn,
      attached: [...(options.attached ?? [])],
      trustPolicy: JSON.stringify(trust),
    };
    for (const arn of role.attached) this.policies.set(arn, this.policies.get(arn) ?? '{}');
    this.roles.set(name, role);
    return role;
  }

  public role(name: string): SharedRole {
    const role = this.roles.get(name);
    if (!role) throw new Error(`shared IAM: no role ${name}`);
    return role;
  }

  /** An IAM client whose writes are recorded as `writer`'s. */
  public client(writer: string): IAMClient {
    return { send: (command: unknown) => this.send(writer, command) } as unknown as IAMClient;
  }

  /** Pairs of writers whose writes to one role overlapped in time, as `role: a [s-e] / b [s-e]`. */
  public overlaps(): string[] {
    const spans = new Map<string, { writer: string; start: number; end: number }>();
    for (const w of this.writes) {
      const key = `${w.role}\u0000${w.writer}`;
      const span = spans.get(key);
      spans.set(
        key,
        span ? { ...span, end: Math.max(span.end, w.end) } : { writer: w.writer, start: w.start, end: w.end },
      );
    }
    const found: string[] = [];
    const list = [...spans].map(([key, span]) => ({ role: key.split('\u0000')[0], ...span }));
    for (const [i, a] of list.entries()) {
      for (const b of list.slice(i + 1)) {
        if (a.role === b.role && a.start < b.end && b.start < a.end) {
          found.push(`${a.role}: ${a.writer} [${a.start}-${a.end}] / ${b.writer} [${b.start}-${b.end}]`);
        }
      }
    }
    return found;
  }

  private async send(writer: string, command: unknown): Promise<unknown> {
    const name = (command as object).constructor.name.replace(/Command$/, '');
    const input = (command as { input: { RoleName?: string } }).input;
    const write = /^(Tag|Untag|Attach|Detach|PutRole|Update)/.test(name) && input.RoleName !== undefined;
    const span: WriteSpan | undefined = write
      ? { writer, role: input.RoleName!, command: name, start: ++this.seq, end: 0 }
      : undefined;
    await tick();
    await this.hold(writer, name, input);
    try {
      return { $metadata: { httpStatusCode: 200 }, ...this.apply(command) };
    } finally {
      await tick();
      if (span) {
        span.end = ++this.seq;
        this.writes.push(span);
      }
    }
  }

  private get(name: string | undefined): SharedRole {
    const role = name === undefined ? undefined : this.roles.get(name);
    if (!role) {
      throw new NoSuchEntityException({
        message: `The role with name ${name} cannot be found.`,
        $metadata: { httpStatusCode: 404 },
      });
    }
    return role;
  }

  private apply(command: unknown): object {
    const tags = (role: SharedRole) => [...role.tags].map(([Key, Value]) => ({ Key, Value }));
    const boundary = (role: SharedRole) =>
      role.boundaryArn
        ? { PermissionsBoundaryType: 'PermissionsBoundaryPolicy', PermissionsBoundaryArn: role.boundaryArn }
        : undefined;
    const attached = (role: SharedRole) =>
      role.attached.map((arn) => ({ PolicyArn: arn, PolicyName: arn.split('/').pop() }));
    if (command instanceof GetAccountAuthorizationDetailsCommand) {
      return {
        IsTruncated: false,
        RoleDetailList: [...this.roles.values()].map((role) => ({
          RoleName: role.name,
          Arn: role.arn,
          Path: '/',
          Tags: tags(role),
          PermissionsBoundary: boundary(role),
          AttachedManagedPolicies: attached(role),
          AssumeRolePolicyDocument: encodeURIComponent(role.trustPolicy),
        })),
      };
    }
    if (command instanceof GetRoleCommand) {
      const role = this.get(command.input.RoleName);
      return {
        Role: {
          RoleName: role.name,
          Arn: role.arn,
          Path: '/',
          Tags: tags(role),
          PermissionsBoundary: boundary(role),
          AssumeRolePolicyDocument: encodeURIComponent(role.trustPolicy),
        },
      };
    }
    if (command instanceof ListAttachedRolePoliciesCommand) {
      return { AttachedPolicies: attached(this.get(command.input.RoleName)), IsTruncated: false };
    }
    if (command instanceof TagRoleCommand) {
      const role = this.get(command.input.RoleName);
      for (const tag of command.input.Tags ?? []) role.tags.set(tag.Key!, tag.Value ?? '');
      return {};
    }
    if (command instanceof UntagRoleCommand) {
      const role = this.get(command.input.RoleName);
      for (const key of command.input.TagKeys ?? []) role.tags.delete(key);
      return {};
    }
    if (command instanceof AttachRolePolicyCommand) {
      const role = this.get(command.input.RoleName);
      const arn = command.input.PolicyArn!;
      if (!this.policies.has(arn)) {
        throw new NoSuchEntityException({
          message: `Policy ${arn} does not exist.`,
          $metadata: { httpStatusCode: 404 },
        });
      }
      if (!role.attached.includes(arn)) role.attached.push(arn);
      return {};
    }
    if (command instanceof DetachRolePolicyCommand) {
      const role = this.get(command.input.RoleName);
      const arn = command.input.PolicyArn!;
      if (!role.attached.includes(arn)) {
        throw new NoSuchEntityException({
          message: `Policy ${arn} is not attached.`,
          $metadata: { httpStatusCode: 404 },
        });
      }
      role.attached = role.attached.filter((a) => a !== arn);
      return {};
    }
    if (command instanceof PutRolePermissionsBoundaryCommand) {
      this.get(command.input.RoleName).boundaryArn = command.input.PermissionsBoundary;
      return {};
    }
    if (command instanceof UpdateAssumeRolePolicyCommand) {
      this.get(command.input.RoleName).trustPolicy = command.input.PolicyDocument!;
      return {};
    }
    if (command instanceof CreatePolicyCommand) {
      const arn = `arn:aws:iam::${ACCOUNT_ID}:policy${command.input.Path ?? '/'}${command.input.PolicyName}`;
      this.policies.set(arn, command.input.PolicyDocument!);
      return { Policy: { Arn: arn, PolicyName: command.input.PolicyName } };
    }
    if (command instanceof DeletePolicyCommand) {
      this.policies.delete(command.input.PolicyArn!);
      return {};
    }
    throw new Error(`shared IAM does not model ${(command as object).constructor.name}`);
  }
}
