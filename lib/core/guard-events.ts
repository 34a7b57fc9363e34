/** The IAM calls on roles that the guard reacts to at once (DESIGN.md, threat model item 5). */
export const ROLE_EVENT_NAMES: readonly string[] = [
  'CreateRole',
  'TagRole',
  'UntagRole',
  'PutRolePermissionsBoundary',
  'DeleteRolePermissionsBoundary',
  'DetachRolePolicy',
  'PutRolePolicy',
  'DeleteRolePolicy',
  'UpdateAssumeRolePolicy',
];

/** Error codes CloudTrail records for calls that IAM refused. */
export const ACCESS_DENIED_CODES: readonly string[] = [
  'AccessDenied',
  'AccessDeniedException',
  'Client.UnauthorizedOperation',
];
