import {
  ListParentsCommand,
  ListTagsForResourceCommand,
  OrganizationsClient,
  Tag,
} from '@aws-sdk/client-organizations';
import { AwsCaller, errorName } from '../shared/aws-caller';
import { ProductionSource } from '../../lib/core/config';
import { ProductionSignal } from './decide';

/**
 * The region of the Organizations endpoint for a function running in `region` (ORG-1): us-east-1 in
 * the `aws` partition, us-gov-west-1 in `aws-us-gov`, cn-northwest-1 in `aws-cn`. The partition
 * follows from the region's prefix.
 */
export function organizationsRegion(region: string | undefined): string {
  if (region?.startsWith('us-gov-')) return 'us-gov-west-1';
  if (region?.startsWith('cn-')) return 'cn-northwest-1';
  return 'us-east-1';
}

/**
 * Reads the production signal, caching Organizations answers (they change rarely, and the API is
 * rate-limited across the organization). Any error counts as production and is not cached.
 */
export class ProductionReader {
  private cached?: { signal: ProductionSignal; until: number };

  constructor(
    private readonly source: ProductionSource,
    private readonly accountId: string,
    private readonly organizations: OrganizationsClient,
    private readonly caller: AwsCaller,
    private readonly cacheSeconds: number,
  ) {}

  public async read(now: Date): Promise<ProductionSignal> {
    if (this.source.source === 'fixed') {
      return { production: this.source.production, reason: 'set in the guard configuration' };
    }
    if (this.cached && this.cached.until > now.getTime()) return this.cached.signal;
    try {
      const signal =
        this.source.source === 'account-tags'
          ? await this.fromAccountTags(this.source.tagKey, this.source.values)
          : await this.fromOrganizationalUnit(this.source.ouPath);
      this.cached = { signal, until: now.getTime() + this.cacheSeconds * 1000 };
      return signal;
    } catch (error) {
      this.cached = undefined;
      return {
        production: true,
        reason: `the Organizations lookup failed (${errorName(error)}), so the account counts as production`,
      };
    }
  }

  private async fromAccountTags(tagKey: string, values: readonly string[]): Promise<ProductionSignal> {
    const tags: Tag[] = [];
    let token: string | undefined;
    do {
      const page = await this.caller.call('organizations:ListTagsForResource', () =>
        this.organizations.send(new ListTagsForResourceCommand({ ResourceId: this.accountId, NextToken: token })),
      );
      tags.push(...(page.Tags ?? []));
      token = page.NextToken;
    } while (token);
    // Organizations tag keys and values are case-sensitive; production markers are compared as written.
    const value = tags.find((t) => t.Key === tagKey)?.Value;
    if (value !== undefined && values.includes(value)) {
      return { production: true, reason: `account tag ${tagKey}=${value}` };
    }
    return {
      production: false,
      reason: value === undefined ? `no account tag ${tagKey}` : `account tag ${tagKey}=${value}`,
    };
  }

  private async fromOrganizationalUnit(ouPath: string): Promise<ProductionSignal> {
    const path: string[] = [];
    let child = this.accountId;
    // An organization nests OUs at most five deep under the root.
    for (let depth = 0; depth < 6; depth++) {
      const page = await this.caller.call('organizations:ListParents', () =>
        this.organizations.send(new ListParentsCommand({ ChildId: child })),
      );
      const parent = page.Parents?.[0]?.Id;
      if (!parent) throw new Error('ListParents returned no parent');
      path.unshift(parent);
      if (parent.startsWith('r-')) break;
      child = parent;
    }
    const accountPath = path.join('/');
    const inside = accountPath === ouPath || accountPath.startsWith(`${ouPath}/`);
    return {
      production: inside,
      reason: inside ? `account is in OU ${ouPath}` : `account is in ${accountPath}, outside ${ouPath}`,
    };
  }
}
