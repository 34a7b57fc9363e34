/**
 * Front coding for the sorted action names of a service, which share long prefixes (`DeleteBucket`,
 * `DeleteBucketPolicy`, ...): each name after the first may start with one mark that says how many
 * leading characters it shares with the name before it. Names are comma-separated. The marks are
 * characters that no IAM action name holds and JSON needs no escape for.
 */
const SHARED_MARKS = "!#$%&'()*+./:;<=>?@[]^_`{|}~";

export function encodeNames(names: readonly string[]): string {
  let previous = '';
  return names
    .map((name) => {
      let shared = 0;
      while (shared < SHARED_MARKS.length && shared < previous.length && previous[shared] === name[shared]) shared++;
      if (shared === name.length) shared--; // a name that is a prefix of the one before keeps one character
      previous = name;
      return shared > 0 ? SHARED_MARKS[shared - 1] + name.slice(shared) : name;
    })
    .join(',');
}

export function decodeNames(coded: string): string[] {
  let previous = '';
  return coded.split(',').map((entry) => {
    const shared = SHARED_MARKS.indexOf(entry[0]) + 1;
    previous = previous.slice(0, shared) + entry.slice(shared > 0 ? 1 : 0);
    return previous;
  });
}
