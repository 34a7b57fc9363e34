import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';

describe('resolveCatalog', () => {
  test('custom groups add actions, expanded from the IAM catalog', () => {
    const catalog = resolveCatalog({
      customGroups: [{ name: 'glue-jobs', actions: ['glue:UpdateCrawler', 'glue:StopCrawler*'] }],
    });
    expect(catalog.plain.get('glue:UpdateCrawler')).toBe('glue-jobs');
    expect(catalog.plain.get('glue:StopCrawler')).toBe('glue-jobs');
    expect(catalog.plain.get('glue:StopCrawlerSchedule')).toBe('glue-jobs');
  });

  test('an action a built-in group protects stays in that group when a custom group names it too', () => {
    const catalog = resolveCatalog({ customGroups: [{ name: 'glue-jobs', actions: ['glue:UpdateJob'] }] });
    expect(catalog.plain.get('glue:UpdateJob')).toBe('remote-execution');
  });

  test('a resource-scoped rule keeps its resources, and the others apply to every resource', () => {
    const rules = resolveCatalog().conditional;
    // API Gateway PUT and PATCH overwrite APIs, stages and domain names; elsewhere they only create or tag.
    const put = rules.find((r) => r.actions.includes('apigateway:PUT'))!;
    expect(put.resources).toContain('arn:*:apigateway:*::/restapis/*');
    expect(rules.find((r) => r.actions.includes('route53:ChangeResourceRecordSets'))!.resources).toBeUndefined();
  });

  test('exemptions take actions out, also out of conditional rules', () => {
    const catalog = resolveCatalog({ exemptActions: ['ec2:DeleteTags', 'route53:ChangeResourceRecordSets'] });
    expect(catalog.plain.has('ec2:DeleteTags')).toBe(false);
    expect(catalog.plain.has('ec2:DeleteVpc')).toBe(true);
    expect(catalog.conditional.some((r) => r.actions.includes('route53:ChangeResourceRecordSets'))).toBe(false);
  });

  test.each([
    [{ exemptActions: ['*:Delete*'] }, /not an IAM action.*literal service prefix/],
    [{ exemptActions: ['ec2:DescribeVpcs'] }, /not in the protected catalog/],
    [{ exemptActions: ['nosuchservice:DeleteThing'] }, /'nosuchservice' .* is not an IAM service prefix/],
    [{ customGroups: [{ name: 'typo', actions: ['ec2:DeleteVcp'] }] }, /matches no action of ec2.*Check the spelling/],
    [
      { customGroups: [{ name: 'Bad Name', actions: ['ec2:StopInstances'] }] },
      /lower-case letters, digits and hyphens/,
    ],
    [{ customGroups: [{ name: 'delete', actions: ['ec2:StopInstances'] }] }, /name of a built-in group/],
    [{ customGroups: [{ name: 'empty', actions: [] }] }, /has no actions/],
  ])('rejects %j', (selection, message) => {
    expect(() => resolveCatalog(selection)).toThrow(message);
  });
});
