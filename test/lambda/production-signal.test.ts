import { GUARD_CONFIG_ENV } from '../../lib/core/config';
import { guardConfig } from '../support/guard-fixture';

/**
 * The guard handler's Organizations client, built as `lambda/guard/index.ts` builds it for a function
 * running in `region`: the module is loaded afresh with AWS_REGION set, and the client's region read back.
 */
async function organizationsClientRegion(region: string): Promise<string> {
  const saved = { region: process.env.AWS_REGION, config: process.env[GUARD_CONFIG_ENV] };
  process.env.AWS_REGION = region;
  process.env[GUARD_CONFIG_ENV] = JSON.stringify(guardConfig());
  try {
    const regions: Array<() => Promise<string>> = [];
    jest.isolateModules(() => {
      jest.doMock('@aws-sdk/client-organizations', () => {
        const actual = jest.requireActual<typeof import('@aws-sdk/client-organizations')>(
          '@aws-sdk/client-organizations',
        );
        class RecordingClient extends actual.OrganizationsClient {
          constructor(...args: ConstructorParameters<typeof actual.OrganizationsClient>) {
            super(...args);
            regions.push(() => this.config.region());
          }
        }
        return { ...actual, OrganizationsClient: RecordingClient };
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the handler module loads afresh, with this env
      require('../../lambda/guard/index');
    });
    expect(regions).toHaveLength(1);
    return await regions[0]();
  } finally {
    jest.dontMock('@aws-sdk/client-organizations');
    for (const [name, value] of [
      ['AWS_REGION', saved.region],
      [GUARD_CONFIG_ENV, saved.config],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe('guard handler: the Organizations endpoint follows the partition (ORG-1)', () => {
  it.each([
    ['us-east-1', 'us-east-1'],
    ['eu-west-1', 'us-east-1'],
    ['us-gov-west-1', 'us-gov-west-1'],
    ['us-gov-east-1', 'us-gov-west-1'],
    ['cn-north-1', 'cn-northwest-1'],
    ['cn-northwest-1', 'cn-northwest-1'],
  ])('a guard in %s reads Organizations in %s', async (functionRegion, endpointRegion) => {
    expect(await organizationsClientRegion(functionRegion)).toBe(endpointRegion);
  });
});
