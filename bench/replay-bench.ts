/**
 * Replay benchmark (`npm run bench`): how fast `agent-guard replay` reads CloudTrail logs, and how much
 * memory it holds while doing so. It writes synthetic logs in a trail's S3 layout to a temporary folder
 * (REPLAY_BENCH_MB of JSON, 1024 by default, in 8 MB files, every other one gzipped), runs the CLI bundled
 * as the package builds it in a child process (summary output, as a person runs it), and prints MB/s of
 * JSON per wall second and per CPU second (the second holds on a busy machine, where the child, run at low
 * priority, gets a share of a core), and the child's peak RSS, for an eighth of the data and for all of it:
 * flat memory shows as the same peak for both. The folder is deleted afterwards. Figures come from a shared machine and are
 * printed, never asserted.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bundleCli } from '../scripts/build';

const TOTAL_MB = Number(process.env.REPLAY_BENCH_MB ?? 1024);
const FILE_MB = 8;
const ACCOUNT = '111122223333';

/** A record like CloudTrail's: a mix of agent and other callers, actions, resources and errors. */
function record(i: number): object {
  const agent = i % 3 === 0;
  const calls = [
    ['ec2.amazonaws.com', 'DescribeInstances', undefined],
    [
      'ec2.amazonaws.com',
      'TerminateInstances',
      `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-${(i % 5000).toString(16).padStart(17, '0')}`,
    ],
    ['s3.amazonaws.com', 'GetObject', `arn:aws:s3:::prod-assets/key-${i % 10000}`],
    [
      'cloudformation.amazonaws.com',
      'DeleteStack',
      `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/app-${i % 50}/id`,
    ],
    [
      'lambda.amazonaws.com',
      'UpdateFunctionCode20150331v2',
      `arn:aws:lambda:us-east-1:${ACCOUNT}:function:fn-${i % 200}`,
    ],
    ['monitoring.amazonaws.com', 'PutMetricData', undefined],
  ] as const;
  const [eventSource, eventName, arn] = calls[i % calls.length];
  return {
    eventVersion: '1.09',
    userIdentity: agent
      ? {
          type: 'AssumedRole',
          principalId: `AROAEXAMPLE:session-${i % 7}`,
          arn: `arn:aws:sts::${ACCOUNT}:assumed-role/agent-${i % 4}/session-${i % 7}`,
          accountId: ACCOUNT,
          accessKeyId: 'ASIAEXAMPLE',
          sessionContext: {
            sessionIssuer: {
              type: 'Role',
              principalId: 'AROAEXAMPLE',
              arn: `arn:aws:iam::${ACCOUNT}:role/agent-${i % 4}`,
              accountId: ACCOUNT,
              userName: `agent-${i % 4}`,
            },
            attributes: { creationDate: '2026-11-02T00:00:00Z', mfaAuthenticated: 'false' },
          },
        }
      : { type: 'AWSService', invokedBy: 'autoscaling.amazonaws.com' },
    eventTime: new Date(Date.UTC(2026, 10, 2) + i * 1000).toISOString().replace('.000', ''),
    eventSource,
    eventName,
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2.15.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11.6',
    requestParameters: { instancesSet: { items: [{ instanceId: `i-${i.toString(16)}` }] }, filterSet: {} },
    responseElements: null,
    requestID: `req-${i}`,
    eventID: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    readOnly: eventName.startsWith('Describe') || eventName.startsWith('Get'),
    ...(arn ? { resources: [{ accountId: ACCOUNT, type: 'AWS::Resource', ARN: arn }] } : {}),
    ...(i % 11 === 0 ? { errorCode: 'AccessDenied', errorMessage: 'not authorized' } : {}),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
  };
}

/** Writes the logs; returns the JSON bytes and the bytes on disk. */
function generate(dir: string, megabytes: number): { json: number; disk: number } {
  let json = 0;
  let disk = 0;
  let i = 0;
  for (let file = 0; json < megabytes * 1e6; file++) {
    const records: string[] = [];
    let size = 0;
    while (size < FILE_MB * 1e6) {
      const text = JSON.stringify(record(i++));
      records.push(text);
      size += text.length + 1;
    }
    const body = Buffer.from(`{"Records":[${records.join(',')}]}`);
    const day = join(
      dir,
      `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/${String(2 + (file % 28)).padStart(2, '0')}`,
    );
    mkdirSync(day, { recursive: true });
    const name = `${ACCOUNT}_CloudTrail_us-east-1_20261102T${String(file).padStart(4, '0')}Z_${file}.json`;
    const bytes = file % 2 === 0 ? gzipSync(body, { level: 1 }) : body;
    writeFileSync(join(day, file % 2 === 0 ? `${name}.gz` : name), bytes);
    json += body.length;
    disk += bytes.length;
  }
  return { json, disk };
}

/** Runs the bundle on `dir`; returns wall and CPU seconds and the child's peak RSS in MB. */
function replay(
  bundle: string,
  preload: string,
  dir: string,
): { seconds: number; cpuSeconds: number; peakMb: number; status: number | null } {
  const nice = existsSync('/usr/bin/nice') ? ['/usr/bin/nice', '-n', '10'] : [];
  const [command, ...args] = [
    ...nice,
    process.execPath,
    '-r',
    preload,
    bundle,
    'replay',
    dir,
    '--agent-role',
    'agent-*',
  ];
  const start = process.hrtime.bigint();
  const child = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const usage = /maxRSS (\d+) cpu (\d+)/.exec(child.stderr);
  if (!usage) throw new Error(`no resource usage from the child (exit ${child.status}): ${child.stderr.slice(0, 500)}`);
  return { seconds, cpuSeconds: Number(usage[2]) / 1e6, peakMb: Number(usage[1]) / 1024, status: child.status };
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'replay-bench-'));
  try {
    // Bundled as the package builds the CLI.
    const { file: bundle } = await bundleCli(scratch);
    // The child reports its own peak resident set (KiB) and CPU time (µs) as it exits: process.resourceUsage.
    const preload = join(scratch, 'peak.js');
    writeFileSync(
      preload,
      "process.on('exit', () => { const u = process.resourceUsage(); require('fs').writeSync(2, `\\nmaxRSS ${u.maxRSS} cpu ${u.userCPUTime + u.systemCPUTime}\\n`); });",
    );
    const sizes = [Math.max(FILE_MB, Math.round(TOTAL_MB / 8)), TOTAL_MB];
    console.log(`replay bench: synthetic CloudTrail logs, ${FILE_MB} MB files, every other one gzipped`);
    for (const megabytes of sizes) {
      const dir = join(scratch, `logs-${megabytes}`);
      const { json, disk } = generate(dir, megabytes);
      const { seconds, cpuSeconds, peakMb, status } = replay(bundle, preload, dir);
      rmSync(dir, { recursive: true, force: true });
      console.log(
        `  ${(json / 1e6).toFixed(0).padStart(5)} MB JSON (${(disk / 1e6).toFixed(0)} MB on disk): ` +
          `${seconds.toFixed(1)} s wall, ${(json / 1e6 / seconds).toFixed(1)} MB/s; ` +
          `${cpuSeconds.toFixed(1)} s CPU, ${(json / 1e6 / cpuSeconds).toFixed(1)} MB per CPU-second; ` +
          `peak RSS ${peakMb.toFixed(0)} MB, exit ${status}`,
      );
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
