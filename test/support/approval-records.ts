import { ApprovalRecord } from '../../lib/core/approval-api';

type PendingFields = Pick<
  ApprovalRecord,
  | 'kind'
  | 'status'
  | 'requestedBy'
  | 'approvers'
  | 'activatedAt'
  | 'expiresAt'
  | 'policySetId'
  | 'requestExpiresAt'
  | 'sortAt'
>;

/**
 * The fields that make an approval record a pending request: asked for by `requestedBy`, no approver yet,
 * nothing in force, and lapsing (and sorted) at `requestExpiresAt`. Spread over a record in force.
 */
export function pendingRequestFields(requestedBy: string, requestExpiresAt: string): PendingFields {
  return {
    kind: 'request',
    status: 'pending',
    requestedBy,
    approvers: [],
    activatedAt: undefined,
    expiresAt: undefined,
    policySetId: undefined,
    requestExpiresAt,
    sortAt: requestExpiresAt,
  };
}
