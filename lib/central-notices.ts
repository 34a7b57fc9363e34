import { Aws, CfnRule, Fn, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CentralNoticesTarget, EVENT_BUS_ARN_PATTERN, KMS_KEY_ARN_PATTERN, SNS_TOPIC_ARN_PATTERN } from './core/config';

/** Options of a central SNS topic. */
export interface CentralTopicOptions {
  /**
   * The ARN of the customer managed KMS key the topic is encrypted with. Publishing to an encrypted topic
   * needs `kms:GenerateDataKey*` and `kms:Decrypt` on its key, and across accounts the publisher's own
   * policy must allow them too (SNS-32, ORG-30): the functions get exactly those on this key. The key
   * policy must allow the member accounts as well.
   *
   * @default - the topic is not encrypted with a customer managed key
   */
  readonly keyArn?: string;
}

/**
 * Where the guard sends a copy of every notice, besides its own notices topic: typically a topic or
 * event bus in a security account that watches every member account.
 *
 * The guard and approval functions publish each notice to both at once. A copy the central target does
 * not take is logged and counted (`Errors` and `CentralNoticeFailures` metrics); the local notice goes
 * out regardless. The functions' roles get exactly `sns:Publish` on the topic, or `events:PutEvents` on
 * the bus. The central target's own policy must let the member accounts send (see the README).
 */
export class CentralNotices {
  /** The central topic's KMS key, if it has one of its own. */
  private readonly keyArn?: string;

  /**
   * A standard SNS topic, in any account and region of the guard's partition. Each notice is published
   * with the same subject and message as on the local topic.
   *
   * Its topic policy must allow `sns:Publish` to the member accounts, for example with
   * `aws:PrincipalOrgID`. If it is encrypted, it needs a customer managed key whose key policy lets those
   * accounts use `kms:GenerateDataKey*` and `kms:Decrypt`; the AWS managed key `alias/aws/sns` cannot be
   * shared across accounts.
   *
   * @param topicArn the topic's ARN, as a literal string
   */
  public static snsTopic(topicArn: string, options: CentralTopicOptions = {}): CentralNotices {
    return new CentralNotices('sns-topic', topicArn, options.keyArn);
  }

  /**
   * An EventBridge event bus, in any account and region of the guard's partition. Each notice is one
   * event: `source` `agent-guard`, `detail-type` the kind of notice (`denial`, `repair`, `status`,
   * `traffic-drop`, `failure`, `approval`), and `detail` `{ account, subject, message }`.
   *
   * Its resource policy must allow `events:PutEvents` to the member accounts, for example with
   * `aws:PrincipalOrgID`.
   *
   * @param eventBusArn the event bus's ARN, as a literal string
   */
  public static eventBus(eventBusArn: string): CentralNotices {
    return new CentralNotices('event-bus', eventBusArn);
  }

  private constructor(
    private readonly kind: CentralNoticesTarget['kind'],
    /** The target's ARN. */
    public readonly arn: string,
    keyArn?: string,
  ) {
    const factory = kind === 'sns-topic' ? 'CentralNotices.snsTopic' : 'CentralNotices.eventBus';
    if (Token.isUnresolved(arn)) {
      throw new Error(
        `${factory}: pass the ARN as a literal string, not a token. The functions check it when they start, ` +
          'so an ARN that only resolves at deploy time could stop them from loading.',
      );
    }
    if (kind === 'sns-topic' && arn.endsWith('.fifo')) {
      throw new Error(
        `${factory}: ${arn} is a FIFO topic; give a standard topic. Publishing to a FIFO topic needs a message ` +
          'group id, which the guard does not send.',
      );
    }
    if (!(kind === 'sns-topic' ? SNS_TOPIC_ARN_PATTERN : EVENT_BUS_ARN_PATTERN).test(arn)) {
      const shape =
        kind === 'sns-topic'
          ? 'arn:<partition>:sns:<region>:<account>:<topic name>'
          : 'arn:<partition>:events:<region>:<account>:event-bus/<bus name>';
      throw new Error(`${factory}: '${arn}' is not of the form ${shape}.`);
    }
    this.keyArn = topicKey(arn, keyArn);
  }

  /** @internal The target as the functions' configuration carries it. */
  public get _json(): CentralNoticesTarget {
    return { kind: this.kind, arn: this.arn };
  }

  /**
   * @internal Checks the target is in the guard's partition (at synth, or by a template rule when the
   * stack's region is a token, as in a StackSet) and grants each function exactly the one action on it.
   */
  public _bind(scope: Construct, grantees: readonly iam.IGrantable[]): void {
    const partition = this.arn.split(':')[1];
    const stackPartition = Stack.of(scope).partition;
    if (!Token.isUnresolved(stackPartition)) {
      if (stackPartition !== partition) {
        throw new Error(
          `centralNotices: ${this.arn} is in partition ${partition}, but the guard's stack is in ${stackPartition}. ` +
            'IAM credentials of one partition are not valid in another; give a target in the same partition.',
        );
      }
    } else {
      new CfnRule(scope, 'CentralNoticesPartition', {
        assertions: [
          {
            assert: Fn.conditionEquals(Aws.PARTITION, partition),
            assertDescription: `centralNotices ${this.arn} must be in the partition the guard is deployed in.`,
          },
        ],
      });
    }
    const action = this.kind === 'sns-topic' ? 'sns:Publish' : 'events:PutEvents';
    for (const grantee of grantees) {
      iam.Grant.addToPrincipal({ grantee, actions: [action], resourceArns: [this.arn] });
      if (this.keyArn) {
        iam.Grant.addToPrincipal({
          grantee,
          actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
          resourceArns: [this.keyArn],
        });
      }
    }
  }
}

/** The key of a central topic: a literal KMS key ARN in the topic's partition and region (SNS keys are regional). */
function topicKey(topicArn: string, keyArn: string | undefined): string | undefined {
  if (keyArn === undefined) return undefined;
  const key = Token.isUnresolved(keyArn) ? undefined : KMS_KEY_ARN_PATTERN.exec(keyArn);
  if (!key) {
    throw new Error(
      `CentralNotices.snsTopic: keyArn '${keyArn}' must be a literal KMS key ARN, ` +
        'arn:<partition>:kms:<region>:<account>:key/<key id> (not an alias).',
    );
  }
  const [, partition, , region] = topicArn.split(':');
  if (key[1] !== partition || key[2] !== region) {
    throw new Error(
      `CentralNotices.snsTopic: keyArn ${keyArn} must be in the topic's partition and region (${partition}, ${region}): ` +
        'a topic is encrypted with a key of its own region.',
    );
  }
  return keyArn;
}
