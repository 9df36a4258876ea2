/**
 * The layer contract: Lambda's rules and limits for layers, each defined once. `inspect`, `pack`, `dev` and
 * the emulator import it; nothing else restates them. Code that must load fast (every `ext` command's
 * flags) imports `limits.js` directly, which imports nothing.
 */
export * from './architecture-name.js';
export * from './architectures.js';
export * from './elf.js';
export * from './entries.js';
export * from './extensions.js';
export * from './limits.js';
export * from './links.js';
export * from './unpack.js';
