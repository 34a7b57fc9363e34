import fc from 'fast-check';
import { PolicyDocumentJson, PolicyStatementJson } from '../../lib/core/iam/policy-document';
import { policyProblems, PolicyKind } from '../../lib/core/policy/validate-policy';

const doc = (...statements: PolicyStatementJson[]): PolicyDocumentJson => ({
  Version: '2012-10-17',
  Statement: statements,
});
const deny = (extra: Partial<PolicyStatementJson>): PolicyStatementJson => ({
  Sid: 'Test',
  Effect: 'Deny',
  Action: 'ec2:Delete*',
  Resource: '*',
  ...extra,
});

describe('policyProblems', () => {
  test('accepts a well-formed deny', () => {
    expect(
      policyProblems(
        doc(deny({ Condition: { StringNotEquals: { 'aws:PrincipalTag/agent-guard:state': 'open' } } })),
        PolicyKind.MANAGED,
      ),
    ).toEqual([]);
  });

  test.each([
    ['a vendor wildcard', deny({ Action: '*:Delete*' }), /literal service prefix/],
    ['a service that does not exist', deny({ Action: 'ec3:Delete*' }), /'ec3' .* is not an IAM service prefix/],
    ['a pattern that matches nothing', deny({ Action: 'ec2:Delte*' }), /matches no IAM action/],
    [
      'an unknown operator',
      deny({ Condition: { StringMatches: { 'aws:PrincipalTag/x': 'y' } } }),
      /'StringMatches' is not an IAM condition operator/,
    ],
    [
      'IfExists on Null',
      deny({ Condition: { NullIfExists: { 'aws:PrincipalTag/x': 'true' } } }),
      /not an IAM condition operator/,
    ],
    [
      'an unknown key',
      deny({ Condition: { StringEquals: { 'aws:PrincipleTag/x': 'y' } } }),
      /'aws:PrincipleTag\/x' is not known/,
    ],
    [
      'a policy variable in a date',
      deny({ Condition: { DateGreaterThan: { 'aws:CurrentTime': '${aws:PrincipalTag/expiry}' } } }),
      /literal UTC date/,
    ],
    [
      'a Null value that is not boolean',
      deny({ Condition: { Null: { 'aws:PrincipalTag/x': 'yes' } } }),
      /'true' or 'false'/,
    ],
    ['Action and NotAction together', deny({ NotAction: 's3:Get*' }), /exactly one of Action and NotAction/],
    ['no resource', deny({ Resource: undefined }), /exactly one of Resource and NotResource/],
    ['a resource that is not an ARN', deny({ Resource: 'my-bucket' }), /neither \* nor an ARN/],
    ['a Sid with punctuation', deny({ Sid: 'not-ok' }), /letters and digits only/],
    ['a principal in an identity policy', deny({ Principal: { AWS: '*' } }), /cannot name a Principal/],
  ])('finds %s', (_what, statement, message) => {
    const problems = policyProblems(doc(statement), PolicyKind.MANAGED);
    expect(problems.join('\n')).toMatch(message);
  });

  test('finds a repeated Sid and an oversized document', () => {
    const actions = Array.from({ length: 600 }, () => 'ec2:DeleteVpcEndpointServiceConfigurations');
    const problems = policyProblems(doc(deny({ Action: actions }), deny({})), PolicyKind.MANAGED);
    expect(problems).toEqual(
      expect.arrayContaining([expect.stringMatching(/over IAM's limit of 6144/), 'repeats Sid Test']),
    );
  });

  test('a trust policy statement needs a principal and is held to 2,048 characters', () => {
    const problems = policyProblems(doc({ Effect: 'Deny', Action: 'sts:TagSession' }), PolicyKind.TRUST);
    expect(problems.join('\n')).toMatch(/needs a Principal/);
  });

  test('never throws on arbitrary input, and always finds something wrong with junk', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (action, operator, key) => {
        const problems = policyProblems(
          doc(deny({ Action: `x${action}`, Condition: { [`Z${operator}`]: { [`q${key}`]: 'v' } } })),
          PolicyKind.MANAGED,
        );
        expect(problems.length).toBeGreaterThan(0);
      }),
    );
  });
});
