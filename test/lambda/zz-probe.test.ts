import 'aws-sdk-client-mock-jest';
import { mockClient } from 'aws-sdk-client-mock';
import { SNSClient, PublishCommand } from '@aws-sdk/client-sns';
test('probe', async () => {
  const sns = mockClient(SNSClient);
  sns.on(PublishCommand).resolves({ MessageId: '1' });
  await new SNSClient({ region: 'us-east-1' }).send(new PublishCommand({ TopicArn: 'x', Message: 'hi' }));
  expect(sns).toHaveReceivedCommandWith(PublishCommand, { Message: 'hi' });
  expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
  expect(() => expect(sns).toHaveReceivedCommandTimes(PublishCommand, 2)).toThrow();
});
