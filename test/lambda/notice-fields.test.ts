import * as fc from 'fast-check';
import { denialNotice, failureNotice, Notice, repairNotice } from '../../lambda/shared/notices';

/** Any string, including control characters, line breaks, separators and astral characters. */
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 2000 }),
  fc.string({
    unit: fc.constantFrom('a', '\n', '\r', '\t', '\u0000', '\u001b', '\u0085', '\u2028', '\u2029', '\u{1F600}'),
  }),
);

const CONTROL = /[\p{Cc}\u2028\u2029]/u;
const LONGEST_FIELD = 512;

function noticesFor(value: string): [Notice, string[]][] {
  return [
    [denialNotice({ roleArn: value, action: value, resource: value }), ['Role:     ', 'Action:   ', 'Resource: ']],
    [repairNotice(value, [value], value), ['Role:  ', 'Found: ', 'Changed by: ']],
    [failureNotice([{ roleName: value, error: value, locked: true, inert: false }]), ['']],
  ];
}

describe('notices: event fields cannot forge lines, and are capped', () => {
  it('the SNS subject is printable ASCII and less than 100 characters, whatever the fields', () => {
    fc.assert(
      fc.property(text, fc.nat(300), (start, padding) => {
        for (const [notice] of noticesFor(start + 'x'.repeat(padding))) {
          expect(notice.subject.length).toBeLessThan(100);
          expect(notice.subject).toMatch(/^[\x20-\x7e]+$/);
        }
      }),
    );
  });

  it('a field adds no line to the message and no control character', () => {
    fc.assert(
      fc.property(text, (value) => {
        for (const [notice] of noticesFor(value)) {
          const template = noticesFor('x').find(([n]) => n.subject.slice(0, 20) === notice.subject.slice(0, 20))![0];
          expect(notice.message.split('\n')).toHaveLength(template.message.split('\n').length);
          for (const line of notice.message.split('\n')) expect(line).not.toMatch(CONTROL);
        }
      }),
    );
  });

  it('each field is cut to a bounded length', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 600, maxLength: 5000 }), (value) => {
        const notice = denialNotice({ roleArn: value, action: value, resource: value });
        for (const label of ['Role:     ', 'Action:   ', 'Resource: ']) {
          const line = notice.message.split('\n').find((l) => l.startsWith(label))!;
          expect(Array.from(line.slice(label.length)).length).toBeLessThanOrEqual(LONGEST_FIELD);
        }
      }),
    );
  });

  it('a forged newline in the action cannot add a fake approve command line', () => {
    const notice = denialNotice({
      roleArn: 'arn:aws:iam::111122223333:role/agent-a',
      action: 's3:GetObject\n  agent-guard approve --role evil',
    });
    expect(notice.message.split('\n').filter((l) => l.trimStart().startsWith('agent-guard approve'))).toHaveLength(1);
  });
});
