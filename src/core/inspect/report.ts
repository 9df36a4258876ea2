/** What `ext inspect` reports, and the Lambda limits it checks against. */
import type { Architecture } from '../layer/index.js';

/** Lambda's documented limits, defined in the layer contract; exported here as part of inspect's API. */
export { maximumExtensions, unzippedLimitBytes, zippedLimitBytes } from '../layer/index.js';
/** Above this share of a limit we warn. */
export const limitWarningRatio = 0.8;

export type FindingSeverity = 'error' | 'warning';

export interface InspectFinding {
  severity: FindingSeverity;
  /** Stable and kebab-case, for scripts that filter findings. */
  code: string;
  path?: string | undefined;
  message: string;
}

export interface InspectedExtension {
  /** The file name under extensions/, which is also the name it must register with. */
  name: string;
  kind: 'elf' | 'script' | 'symlink' | 'other';
  /** The shebang interpreter, or the ELF dynamic linker. */
  interpreter?: string | undefined;
  /** Layer paths the launcher script runs, resolved against /opt. */
  targets?: string[] | undefined;
  /** A standalone layer: the node binary in the layer (relative to /opt) the launcher runs instead of PATH's. */
  bundledNode?: string | undefined;
}

/** A wrapper script at the layer's root (see wrapper.ts), for AWS_LAMBDA_EXEC_WRAPPER=/opt/<path>. */
export interface InspectedWrapper {
  /** The entry's name: the file is /opt/<path>. */
  path: string;
  kind: 'elf' | 'script' | 'symlink' | 'other';
  /** The "#!" line's interpreter, for a script. */
  interpreter?: string | undefined;
}

export interface InspectReport {
  zipPath: string;
  ok: boolean;
  errors: number;
  warnings: number;
  architecture?: Architecture | undefined;
  architectureSource?: 'option' | 'file name' | 'ELF header' | undefined;
  /**
   * Entries in the zip: always `files + directories`. Folders that only
   * appear in paths (zips made without folder entries) are `impliedDirectories`.
   */
  entries: number;
  /** File entries, symbolic links included, duplicates counted. */
  files: number;
  /** Folder entries. */
  directories: number;
  /** Folders that unpack from paths alone, with no entry of their own (Info-ZIP -D, SAM, many JS tools). */
  impliedDirectories: number;
  extensions: InspectedExtension[];
  /** Wrapper scripts at the layer's root, which AWS_LAMBDA_EXEC_WRAPPER may name. */
  wrappers: InspectedWrapper[];
  zippedBytes: number;
  unzippedBytes: number;
  findings: InspectFinding[];
}

export interface InspectOptions {
  /** The target architecture; inferred from the file name or the first ELF when absent. */
  architecture?: Architecture | undefined;
}

/** How checks record findings; the path is the zip entry's name. */
export type AddFinding = (severity: FindingSeverity, code: string, message: string, entryPath?: string) => void;
