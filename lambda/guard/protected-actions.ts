import { GUARD_PATH } from '../../lib/core/contract';
import { destructiveCatalog } from '../../lib/core/catalog/destructive-catalog';
import { actionMatches } from '../../lib/core/iam/action-pattern';

/**
 * Tells whether a refused call was the guard's doing: IAM names the denying policy in most
 * AccessDenied messages, and otherwise the action is looked up in the protected catalog (the
 * built-in groups, plus the app's own groups, minus its exemptions).
 */
export class ProtectedActions {
  private readonly builtIn: ReadonlySet<string>;

  constructor(
    private readonly extra: readonly string[],
    private readonly exempt: readonly string[],
    exemptGroups: readonly string[] = [],
  ) {
    const kept = Object.entries(destructiveCatalog.groups).filter(([name]) => !exemptGroups.includes(name));
    const all = kept.flatMap(([, g]) => [...g.actions, ...g.conditional.flatMap((rule) => rule.actions)]);
    this.builtIn = new Set(all.map((a) => a.toLowerCase()));
  }

  public isProtected(action: string): boolean {
    if (this.exempt.some((pattern) => actionMatches(pattern, action))) return false;
    return this.builtIn.has(action.toLowerCase()) || this.extra.some((pattern) => actionMatches(pattern, action));
  }

  public deniedByGuard(action: string, errorMessage: string | undefined): boolean {
    return (errorMessage ?? '').includes(`:policy${GUARD_PATH}`) || this.isProtected(action);
  }
}
