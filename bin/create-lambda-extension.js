#!/usr/bin/env node
// Start-up is mostly V8 compiling the bundled CLI: Node 22.1 and later keep
// that work in a cache between runs (Node 20 has no such API and skips this).
import module from 'node:module';

module.enableCompileCache?.();
const { main } = await import('../build/cli/create.mjs');
await main();
