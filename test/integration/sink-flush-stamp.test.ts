import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EmulatorReport } from '../../src/core/emulator/index.js';
import { hostArchitecture } from '../../src/core/layer/architectures.js';
import { createAndBuild, describeRun, runExt } from '../helpers/run-cli.js';

/**
 * Issue 31.1 and 31.5: the flush strategy a built telemetry extension runs is telemetry.flush in
 * lambda-extension.json as it is at `ext build` (not only as it was at create), and <PREFIX>FLUSH overrides it
 * at run time. What ext dev --sink measures depends on it, hence its place beside the sink tests.
 */
for (const language of ['go', 'ts'] as const) {
  describe(`the ${language === 'go' ? 'Go' : 'TypeScript'} telemetry template's flush strategy`, () => {
    const name = `stamp-${language}`;
    const prefix = `${name.toUpperCase().replace(/[^A-Z0-9]+/gu, '_')}_`;
    let workspace: { path: string; cleanup: () => Promise<void> } | undefined;
    let project: string;
    let layer: string;
    before(async () => {
      ({ workspace, project, layer } = await createAndBuild(name, [
        ...['--lang', language, '--template', 'telemetry', '--flush', 'end'],
      ]));
    });
    after(async () => workspace?.cleanup());

    async function runningStrategy(...extra: string[]): Promise<unknown> {
      const result = await runExt(['dev', '--layer', layer, '--json', '--invokes', '1', ...extra], {
        timeoutMs: 120_000,
      });
      assert.equal(result.code, 0, describeRun(result));
      const report = JSON.parse(result.stdout) as EmulatorReport;
      const line = report.timeline
        .filter((entry) => entry.kind === 'output' && entry.extension === name)
        .map((entry) => JSON.parse(entry.text.slice(`[${name}] `.length)) as Record<string, unknown>)
        .find((entry) => entry['msg'] === 'flush strategy');
      assert.ok(line !== undefined, describeRun(result));
      return line['flush'];
    }

    it('is the one chosen at create, then the one in lambda-extension.json at the next build', async () => {
      assert.equal(await runningStrategy(), 'end');
      const configFile = path.join(project, 'lambda-extension.json');
      const config = JSON.parse(await readFile(configFile, 'utf8')) as { telemetry: { flush: string } };
      config.telemetry.flush = 'periodic:700';
      await writeFile(configFile, JSON.stringify(config, null, 2));
      const built = await runExt(['build', '--arch', hostArchitecture() ?? 'x86_64'], { cwd: project });
      assert.equal(built.code, 0, describeRun(built));
      assert.equal(await runningStrategy(), 'periodic:700');
    });

    it('<PREFIX>FLUSH overrides it at run time', async () => {
      assert.equal(await runningStrategy('--env', `${prefix}FLUSH=continuous`), 'continuous');
    });
  });
}
