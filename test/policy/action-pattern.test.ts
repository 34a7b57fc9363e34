import fc from 'fast-check';
import { iamReference } from '../../lib/core/catalog/iam-reference';
import { actionMatches, compressService } from '../../lib/core/iam/action-pattern';

describe('actionMatches', () => {
  test.each([
    ['ec2:Delete*', 'ec2:DeleteVpc', true],
    ['ec2:delete*', 'EC2:DELETEVPC', true],
    ['ec2:Delete?pc', 'ec2:DeleteVpc', true],
    ['ec2:Delete*', 'ec2:DescribeVpcs', false],
    ['ec2:DeleteVpc', 'ec2:DeleteVpcEndpoints', false],
    ['s3:Delete*', 's3x:DeleteBucket', false],
    ['*', 'anything:AtAll', true],
  ])('%s matches %s: %s', (pattern, action, expected) => {
    expect(actionMatches(pattern, action)).toBe(expected);
  });
});

describe('compressService', () => {
  const all = [
    'DeleteBucket',
    'DeleteObject',
    'DescribeBucket',
    'GetObject',
    'PurgeQueue',
    'PutObject',
    'RemoveTag',
    'Restore',
  ];

  test('shortens a prefix only while everything under it is a target', () => {
    const patterns = compressService(
      'svc',
      all,
      new Set(['DeleteBucket', 'DeleteObject', 'PurgeQueue', 'RemoveTag']),
      1,
    );
    expect(patterns).toEqual(['svc:Del*', 'svc:Pur*', 'svc:Rem*']);
  });

  test('keeps an exact name where a longer non-target shares it as a prefix', () => {
    expect(compressService('svc', ['DeleteVpc', 'DeleteVpcEndpoint'], new Set(['DeleteVpc']), 1)).toEqual([
      'svc:DeleteVpc',
    ]);
  });

  test('never shortens below the minimum prefix', () => {
    expect(compressService('svc', all, new Set(['PurgeQueue']), 4)).toEqual(['svc:Purg*']);
  });

  test('puts a wildcard before the verb where no other action has it (IAM-60)', () => {
    const images = ['BatchDeleteImage', 'DeleteImage', 'DescribeImages', 'PutImage'];
    expect(compressService('ecr', images, new Set(['BatchDeleteImage', 'DeleteImage']), 3)).toEqual(['ecr:*Delete*']);
    // A read that holds the verb rules `*Delete*` out; the verb and the next word still end both names.
    expect(
      compressService('ecr', [...images, 'DescribeDeleteImageStatus'], new Set(['BatchDeleteImage', 'DeleteImage']), 3),
    ).toEqual(['ecr:*DeleteImage']);
  });

  // The oracle is brute force: every action of a real service, matched one by one.
  test.each(['ec2', 'rds', 's3', 'sagemaker', 'iam'])(
    'on %s, random subsets of its actions are matched exactly',
    (service) => {
      const all = iamReference.actionsOf(service);
      fc.assert(
        fc.property(
          fc.array(fc.boolean(), { minLength: all.length, maxLength: all.length }),
          fc.integer({ min: 1, max: 5 }),
          (picks, minPrefix) => {
            const targets = new Set(all.filter((_, i) => picks[i]));
            const patterns = compressService(service, all, targets, minPrefix);
            const wrong = all.filter(
              (action) => patterns.some((p) => actionMatches(p, `${service}:${action}`)) !== targets.has(action),
            );
            expect(wrong).toEqual([]);
          },
        ),
        { numRuns: 25 },
      );
    },
  );

  test('is sound and complete for any universe and target set', () => {
    const name = fc.stringMatching(/^[A-Z][a-zA-Z]{0,7}$/);
    fc.assert(
      fc.property(
        fc.uniqueArray(name, {
          minLength: 1,
          maxLength: 40,
          comparator: (a, b) => a.toLowerCase() === b.toLowerCase(),
        }),
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        fc.integer({ min: 0, max: 5 }),
        (universe, picks, minPrefix) => {
          const targets = new Set(universe.filter((_, i) => picks[i]));
          const patterns = compressService('svc', universe, targets, minPrefix);
          for (const action of universe) {
            const matched = patterns.some((p) => actionMatches(p, `svc:${action}`));
            expect(matched).toBe(targets.has(action));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
