/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  snapshotSerializers: ['<rootDir>/test/support/asset-hash-serializer.js'],
  testTimeout: 120000,
  // Jest runs one worker on a 2-core CI machine by default (cores - 1); the main process mostly waits,
  // so two workers use both cores. The IAM-engine suites dominate the run.
  maxWorkers: 2,
};
