import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ConfigError, loadConfig, reservedPort } from '../src/config.js';

// A fixed seed keeps `npm test` repeatable; FUZZ_SEED=<n> replays a failure or explores further.
fc.configureGlobal({ seed: Number(process.env['FUZZ_SEED'] ?? 1), ...fc.readConfigureGlobal() });

const portText = fc.oneof(
  fc.string(),
  fc.integer({ min: -10, max: 70_000 }).map(String),
  fc.constantFrom('9001', '9009', ' 8080 ', '0', '65535', '65536', '1e3', '0x10', '', ' '),
);

test('property: any <PREFIX>PORT is a port from 1 to 65535 other than 9001, or a ConfigError naming the variable', () => {
  fc.assert(
    fc.property(portText, (value) => {
      try {
        const { port } = loadConfig('MY_EXT_', { MY_EXT_PORT: value });
        assert.ok(Number.isInteger(port) && port >= 1 && port <= 65_535 && port !== reservedPort, `${value} gave ${port}`);
        if (value.trim() !== '') assert.equal(port, Number(value.trim()));
      } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        assert.match(error.message, /MY_EXT_PORT/);
      }
    }),
  );
});
