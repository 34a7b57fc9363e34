import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { createExampleApp, exampleContext } from '../examples/example-app';

interface ValidationReport {
  pluginReports: {
    pluginName: string;
    violations: unknown[];
    suppressedViolations?: {
      ruleName: string;
      reason?: string;
      violatingConstructs: { constructPath: string }[];
    }[];
  }[];
}

/**
 * Synthesizes with cfn-guard's Control Tower proactive controls. Synth throws on an unacknowledged
 * finding; the report says which.
 */
function synthWithCfnGuard(build: (app: App) => void): { report: ValidationReport; error?: unknown } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-guard-'));
  const app = new App({ outdir, context: exampleContext() });
  Validations.of(app).addPlugins(new CfnGuardValidator());
  build(app);
  let error: unknown;
  try {
    app.synth();
  } catch (e) {
    error = e;
  }
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
  return { report, error };
}

function cfnGuardReport(report: ValidationReport): ValidationReport['pluginReports'][number] {
  const [guard] = report.pluginReports.filter((r) => r.pluginName === 'cdk-validator-cfnguard');
  return guard;
}

describe('cfn-guard (cdk-validator-cfnguard, Control Tower proactive controls)', () => {
  test('the example app has no unacknowledged finding, and each acknowledgement carries its reason', () => {
    const { report, error } = synthWithCfnGuard((app) => createExampleApp(app));
    const guard = cfnGuardReport(report);
    expect(guard.violations).toEqual([]);
    expect(error).toBeUndefined();
    const acknowledged = (guard.suppressedViolations ?? []).flatMap((v) =>
      v.violatingConstructs.map((c) => {
        expect(v.reason).toMatch(/.{40}/);
        return `${v.ruleName} ${c.constructPath.replace(/^AgentGuardExample\/Guard\//, '')}`;
      }),
    );
    // Encryption findings are fixed, not acknowledged: log groups, the table and the key policy.
    expect(acknowledged.sort()).toEqual(
      [
        'cloudwatch_alarm_action_check Live/TrafficALB/Resource',
        'cloudwatch_alarm_action_check Live/TrafficCloudFront/Resource',
        'cloudwatch_alarm_action_check Live/TrafficHttpApi/Resource',
        'cloudwatch_alarm_action_check Live/TrafficLambdaUrl/Resource',
        'cloudwatch_alarm_action_check Live/TrafficRestApi/Resource',
        'iam_managed_policy_no_statements_with_admin_access_check Boundary/Resource',
        'iam_managed_policy_no_statements_with_full_access_check Boundary/Resource',
        'lambda_function_public_access_prohibited_check Approvals/Function/SingleUseRules',
        'lambda_inside_vpc_check Approvals/Function/Resource',
        'lambda_inside_vpc_check Live/Function/Resource',
        'lambda_inside_vpc_check Uninstall/Function/Resource',
        'lambda_inside_vpc_check Uninstall/Provider/framework-onEvent/Resource',
        'sqs_dlq_check Live/DeadLetters/Resource',
      ].sort(),
    );
  });

  test('the rules do run: an unencrypted log group fails synth', () => {
    const { report, error } = synthWithCfnGuard((app) => {
      new logs.LogGroup(new Stack(app, 'Control'), 'Plain');
    });
    expect(error).toBeDefined();
    expect(cfnGuardReport(report).violations).toEqual([
      expect.objectContaining({ ruleName: 'cloudwatch_log_group_encrypted_check' }),
    ]);
  });
});
