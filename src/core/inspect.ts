/**
 * `ext inspect`: checks any layer zip for what breaks extensions on Lambda.
 * The checks live in src/core/inspect/; this module keeps the public imports.
 */
export * from './inspect/index.js';
