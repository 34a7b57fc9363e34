import { ConditionBlock } from '../iam/policy-document';
import catalog from './destructive-actions.json';

/**
 * Actions that are destructive only under an extra condition, such as a Route 53 DELETE change, or only
 * on some resources, such as API Gateway `PUT` on APIs, stages and domain names.
 */
export interface ConditionalRule {
  readonly actions: readonly string[];
  /** Empty when the rule is scoped by resource only. */
  readonly condition: ConditionBlock;
  readonly why: string;
  /** ARN patterns the deny applies to. @default ['*'] */
  readonly resources?: readonly string[];
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
