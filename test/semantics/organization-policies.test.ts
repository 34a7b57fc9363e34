import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';
import { ACCOUNT, PARTITION, REGION } from '../support/guarded-role';
import { decide, OrganizationPolicies, Principal, Request } from '../support/simulate';

/*
 * The README's organization policies, as a reader would paste them, evaluated by the IAM engine: the
 * SCP keeps direct invokes of the approval function from everyone but the guard's own roles (LAM-1,
 * LAM-2), and the RCP keeps agent-guard session tags out of every role (ORG-6).
 */

const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

/** The first JSON block after `heading` in the README. */
function jsonBlockAfter(heading: string): { text: string; document: PolicyDocumentJson } {
  const start = README.indexOf(heading);
  if (start < 0) throw new Error(`README: no text "${heading}"`);
  const block = /```json\n([\s\S]*?)\n```/.exec(README.slice(start));
  if (!block) throw new Error(`README: no JSON block after "${heading}"`);
  return { text: block[1], document: JSON.parse(block[1]) as PolicyDocumentJson };
}

const SCP = jsonBlockAfter('Close the gap for the whole organization with an SCP');
const RCP = jsonBlockAfter('As a backstop for session tags');

const ADMIN: Principal['identityPolicies'][number] = {
  name: 'AdministratorAccess',
  policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
};
const APPROVALS = `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:AgentGuardApprovals`;
const AGENT_ROLE = `arn:${PARTITION}:iam::${ACCOUNT}:role/ExampleAgentRole`;

function human(name: string, path = '/'): Principal {
  return { identityPolicies: [ADMIN], principalTags: {}, arn: `arn:${PARTITION}:iam::${ACCOUNT}:role${path}${name}` };
}

const ORG: OrganizationPolicies = { scp: SCP.document, rcp: RCP.document };
const invoke = (viaUrl: boolean | undefined): Request => ({
  action: 'lambda:InvokeFunction',
  resource: APPROVALS,
  context: viaUrl === undefined ? {} : { 'lambda:InvokedViaFunctionUrl': String(viaUrl) },
});

describe("the README's SCP", () => {
  test('fits the SCP size limit as printed (5,120 characters; ORG-7)', () => {
    expect(Buffer.byteLength(SCP.text, 'utf8')).toBeLessThanOrEqual(5120);
  });

  test.each([
    ['a direct invoke (no key)', undefined, 'ExplicitlyDenied'],
    ['an invoke that says it is not through the URL', false, 'ExplicitlyDenied'],
    ['the invoke a function URL makes', true, 'Allowed'],
  ])('an approver with AdministratorAccess: %s of the approval function', async (_name, viaUrl, expected) => {
    expect(await decide(human('OnCall'), invoke(viaUrl), ORG)).toBe(expected);
  });

  test("the guard's scheduler role (path /agent-guard/) may still invoke it directly, to end approvals", async () => {
    expect(await decide(human('AgentGuardScheduler', '/agent-guard/'), invoke(undefined), ORG)).toBe('Allowed');
  });

  test('without the SCP, the same approver could invoke it directly (the statement is what denies)', async () => {
    expect(await decide(human('OnCall'), invoke(undefined))).toBe('Allowed');
  });
});

describe("the README's RCP", () => {
  test.each(['agent-guard:agent', 'agent-guard:constrained', 'Agent-Guard:State'])(
    'refuses a session tag %s, even from a principal with AdministratorAccess',
    async (key) => {
      const request: Request = { action: 'sts:TagSession', resource: AGENT_ROLE, context: { 'aws:TagKeys': [key] } };
      expect(await decide(human('Admin'), request, ORG)).toBe('ExplicitlyDenied');
    },
  );

  test('lets other session tags through', async () => {
    const request: Request = { action: 'sts:TagSession', resource: AGENT_ROLE, context: { 'aws:TagKeys': ['team'] } };
    expect(await decide(human('Admin'), request, ORG)).toBe('Allowed');
  });
});
