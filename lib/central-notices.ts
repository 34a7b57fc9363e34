import { Aws, CfnRule, Fn, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CentralNoticesTarget, EVENT_BUS_ARN_PATTERN, SNS_TOPIC_ARN_PATTERN } from './core/config';

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
  public static snsTopic(topicArn: string): CentralNotices {
    return new CentralNotices('sns-topic', topicArn);
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
    for (const grantee of grantees) iam.Grant.addToPrincipal({ grantee, actions: [action], resourceArns: [this.arn] });
  }
}
