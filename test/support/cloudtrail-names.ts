/**
 * CloudTrail logs Lambda API calls with the API version after the name (`DeleteFunction20150331`,
 * `UpdateFunctionCode20150331v2`), never the bare IAM action name (docs/AWS-BEHAVIOUR.md CT-1). The
 * fixtures that build CloudTrail records refuse a bare Lambda name, so no test feeds the code a record
 * that AWS would never send.
 */
export function assertCloudTrailEventName(eventSource: string, eventName: string): void {
  if (eventSource === 'lambda.amazonaws.com' && !/\d{8}(v\d+)?$/.test(eventName)) {
    throw new Error(
      `CloudTrail logs Lambda calls with their API version (CT-1): write ${eventName}20150331, not ${eventName}`,
    );
  }
}
