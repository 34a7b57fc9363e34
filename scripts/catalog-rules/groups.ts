import { GroupSpec } from './audit';

/**
 * The groups of the destructive catalog, in catalog order. Every action belongs to one group only (its
 * verb's rule decides which), so the order matters only for how reports list them.
 */
export const GROUPS: Record<string, GroupSpec> = {
  delete: {
    description: 'Deleting a resource or its data: delete, terminate, remove, deregister, release, drop, purge.',
  },
  'protection-off': {
    description: 'Turning deletion or termination protection off, or weakening what protects data from deletion.',
  },
  'stack-replace': {
    description: 'Stack updates and teardown, which is how a "recreate" usually arrives, and the CDK deploy roles.',
  },
  'scale-to-zero': {
    description: 'Scaling serving capacity to zero, stopping it, injecting faults, or detaching it from traffic.',
  },
  'data-expiry': {
    description: 'Rules that expire or destroy data later: lifecycle, retention, TTL and key deletion.',
  },
  'dns-delete': {
    description: 'Route 53 changes that DELETE records, and domain transfers or name-server changes.',
  },
  'resource-policy': {
    description: 'Resource-based policy and ACL writes, which a permission boundary does not cap (threat 7).',
  },
  'remote-execution': {
    description: "Running code inside existing compute, which acts with that compute's role, not the agent's.",
  },
  detach: {
    description: 'Cutting a resource off its traffic, data or users: detach, disassociate, unassign, unshare, revoke.',
  },
  overwrite: {
    description: 'Replacing a live resource or its data in place: replace, reset, restore in place, backtrack, swap.',
  },
  'detection-off': {
    description: "Turning off the account's detection: GuardDuty, Security Hub, Config, Macie and Access Analyzer.",
  },
};
