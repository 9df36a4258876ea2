import { after, before } from 'node:test';

/**
 * For the tests of one file: dummy credentials, and none of this machine's
 * AWS set-up (profile, region, config and credential files), restored after.
 */
export function isolateAwsEnvironment(): void {
  const saved = { ...process.env };
  before(() => {
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    });
    delete process.env['AWS_PROFILE'];
    delete process.env['AWS_REGION'];
  });
  after(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });
}
