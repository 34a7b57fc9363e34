import fc from 'fast-check';
import { decodeNames, encodeNames } from '../../lib/core/catalog/front-coding';
import { iamReference } from '../../lib/core/catalog/iam-reference';

const actionName = fc.stringMatching(/^[A-Za-z0-9-]{1,70}$/);

describe('front coding of action names', () => {
  test('decoding gives back every sorted list of IAM-style names, shared prefixes of any length included', () => {
    fc.assert(
      fc.property(fc.uniqueArray(actionName, { minLength: 1, maxLength: 40 }), fc.array(actionName), (names, tails) => {
        // Names that extend one another share long prefixes, which is where the coding saves most.
        const list = [...new Set([...names, ...names.flatMap((n, i) => (tails[i] ? [n + tails[i]] : []))])].sort();
        expect(decodeNames(encodeNames(list))).toEqual(list);
      }),
    );
  });

  test('the committed reference decodes to sorted, unique action names', () => {
    const names = iamReference.actionsOf('s3');
    expect(names).toContain('DeleteBucket');
    expect(names).toContain('DeleteBucketPolicy');
    expect([...names].sort()).toEqual(names);
    expect(new Set(names).size).toBe(names.length);
    expect(iamReference.expand('s3:DeleteBucket*')).toEqual(
      expect.arrayContaining(['s3:DeleteBucket', 's3:DeleteBucketPolicy']),
    );
    expect(iamReference.conditionKeyExists('s3:ResourceAccount')).toBe(true);
    expect(iamReference.conditionKeyExists('s3:NoSuchKey')).toBe(false);
  });
});
