import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AgentGuard } from '../lib';

export const EXAMPLE_STACK_NAME = 'AgentGuardExample';

/**
 * The context of the example app's `cdk.json`: the recommended feature flags, as `cdk init` writes
 * them. Tests build the app with it, so they synthesize what `cdk synth` does.
 */
export function exampleContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

/**
 * The example app: one stack with the guard and one AI-agent role that holds AdministratorAccess and
 * is constrained by the guard. The tests use it as their fixture, so it is what the README shows.
 */
export function createExampleApp(app: App = new App({ context: exampleContext() })): {
  app: App;
  stack: Stack;
  agentRole: iam.Role;
  guard: AgentGuard;
} {
  const stack = new Stack(app, EXAMPLE_STACK_NAME, {
    description: 'agent-guard example: a guarded AI-agent role',
  });
  const agentRole = new iam.Role(stack, 'ExampleAgentRole', {
    assumedBy: new iam.AccountRootPrincipal(),
    description: 'An AI coding agent, given AdministratorAccess and constrained by agent-guard',
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')],
  });
  Validations.of(agentRole).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AdministratorAccess]',
    reason:
      'The example shows the worst case: an agent with AdministratorAccess, held in check by the guard boundary and deny policies.',
  });
  const guard = new AgentGuard(stack, 'Guard', {
    agentRoles: [agentRole],
    // On-call engineers sign in through IAM Identity Center with the OnCall permission set.
    approvers: ['arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_OnCall_*'],
    // Every region that serves this account's traffic: CloudWatch metrics are regional.
    trafficRegions: ['us-east-1', 'eu-west-1'],
  });

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, agentRole, guard };
}
