import { ConditionBlock } from '../iam/policy-document';
import catalog from './destructive-actions.json';

/** An action that is destructive only under an extra condition, such as a Route 53 DELETE change. */
export interface ConditionalRule {
  readonly actions: readonly string[];
  readonly condition: ConditionBlock;
  readonly why: string;
}

/** One named group of the destructive catalog. */
export interface CatalogGroup {
  readonly description: string;
  readonly actions: readonly string[];
  readonly conditional: readonly ConditionalRule[];
}

/** The committed destructive-action catalog (lib/core/catalog/destructive-actions.json), by group name. */
export const destructiveCatalog = {
  source: catalog.source,
  groups: catalog.groups as Record<string, CatalogGroup>,
};
