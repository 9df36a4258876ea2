import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

/*
 * Loaded with `node --import` before every unit test file (npm run test:unit): the unit tier runs in-process, so
 * starting a process, listening or connecting on a socket, or fetching throws at once, naming the rule. The static
 * half of the guard is test/unit/tier-guard.test.ts (what unit files import); this half catches what the code under
 * test does at run time.
 */
function refuse(what: string): () => never {
  return () => {
    throw new Error(`the unit tier runs in-process: ${what} is not allowed; put this test in test/integration/`);
  };
}

for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const) {
  Object.defineProperty(childProcess, name, { value: refuse(`child_process.${name}`), writable: true });
}
net.Server.prototype.listen = refuse('listening on a socket');
net.Socket.prototype.connect = refuse('connecting a socket');
globalThis.fetch = refuse('fetch');
// The named ESM exports (`import { spawn } from 'node:child_process'`) follow the patched default export.
syncBuiltinESMExports();
