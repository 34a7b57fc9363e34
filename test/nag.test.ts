import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { createExampleApp } from '../examples/example-app';

describe('cdk-nag AwsSolutions', () => {
  test('the example app synthesizes clean; each acknowledgement is justified in code', () => {
    const { app } = createExampleApp();
    expect(() => app.synth()).not.toThrow();
  });

  test('the checks do run: an unjustified wildcard fails synth', () => {
    const app = new App();
    const stack = new Stack(app, 'Control');
    new iam.ManagedPolicy(stack, 'Wide', {
      statements: [new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] })],
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5/);
  });
});
