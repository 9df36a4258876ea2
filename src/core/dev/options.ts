import type { Architecture } from '../layer/architectures.js';
import type { EmulationPreference } from '../emulator/cpu-emulation/index.js';
import type { CpuEmulation, EmulatorOptions, InvokeEvent, NodeRuntime } from '../emulator/types.js';
import type { PreparedFunction } from '../function/index.js';
import type { ExtensionFile } from '../layer/extensions.js';
import type { DevFunctionOptions } from './function.js';

/**
 * What `ext dev` is asked for, and the one place where that becomes the
 * emulator's options: the emulator gets them resolved, once.
 */

/** `progress` is chatter a terminal user wants; `warning` and `error` matter everywhere. */
export type DevStatusKind = 'progress' | 'warning' | 'error';

export interface DevOptions extends Omit<EmulatorOptions, 'layerDirectory' | 'signal' | 'cpuEmulation'> {
  /** The project to build when no layer is given. */
  projectDirectory: string;
  /** A layer directory (the folder that becomes /opt) or a layer zip. Default: build the project. */
  layer?: string | undefined;
  /**
   * The function's architecture. Default: the layer's (from its ELF files, else its name), or this
   * machine's when building. Another one than this machine's runs under qemu (see cpu-emulation/).
   */
  architecture?: Architecture | undefined;
  /** How a foreign layer runs: binfmt_misc or qemu-<arch> (`auto`, the default, tries both), or `off`. */
  emulation?: EmulationPreference | undefined;
  /** Build and status messages ("building…", "change detected…", warnings, errors while watching). */
  onStatus?: ((message: string, kind: DevStatusKind) => void) | undefined;
  /** Compiler output while building. */
  onBuildOutput?: ((chunk: string) => void) | undefined;
  /** TypeScript: check types while building (see typecheck.ts); default true. A type error fails the build. */
  typecheck?: boolean | undefined;
  /**
   * A plain TypeScript project: the node binary to run it on. Default: the Linux node of the project's
   * runtime ("nodeVersion", else 22) for the layer's architecture, fetched from npm and cached (see dev/node.ts).
   */
  nodePath?: string | undefined;
  /** Where fetched node binaries are cached; default the CLI's cache folder. */
  nodeCacheDirectory?: string | undefined;
  signal?: AbortSignal | undefined;
  /**
   * The real function to run beside the layer, on the Runtime API (`ext dev --function`); each field
   * falls back on "dev.function" in lambda-extension.json. `false`: the simulated handler, whatever the
   * config says. Default: dev.function when the project has one, else the simulated handler.
   */
  functionCode?: DevFunctionOptions | false | undefined;
}

export interface PreparedLayer {
  directory: string;
  architecture?: Architecture | undefined;
  cpuEmulation?: CpuEmulation | undefined;
  /** The node that runs a TypeScript layer that ext dev built. */
  node?: NodeRuntime | undefined;
  /** Listed once, when a --layer is given; the emulator lists a build's output itself. */
  extensionFiles?: readonly ExtensionFile[] | undefined;
  cleanup(): Promise<void>;
}

/** The function's part of a run: its runtime command and the events, once prepared. */
export interface PreparedRun {
  prepared?: PreparedFunction | undefined;
  events?: InvokeEvent[] | undefined;
}

export function emulatorOptions(
  options: DevOptions,
  layer: PreparedLayer,
  signal: AbortSignal | undefined,
  run: PreparedRun = {},
): EmulatorOptions {
  const {
    projectDirectory: _project,
    layer: _layer,
    architecture: _architecture,
    emulation: _emulation,
    onStatus: _status,
    onBuildOutput: _output,
    typecheck: _typecheck,
    nodePath: _nodePath,
    nodeCacheDirectory: _nodeCache,
    signal: _signal,
    functionCode: _functionCode,
    ...rest
  } = options;
  const { prepared, events } = run;
  // The extensions share the function's credentials (--pass-aws-credentials), as on Lambda; else neither has any.
  const env = prepared === undefined ? rest.env : { ...(rest.env ?? {}), ...prepared.credentials };
  return {
    ...rest,
    ...(env === undefined ? {} : { env }),
    ...(prepared === undefined ? {} : { runtime: prepared.runtime, handler: prepared.handler }),
    ...(events === undefined ? {} : { events, invokes: rest.invokes ?? events.length }),
    layerDirectory: layer.directory,
    ...(layer.extensionFiles === undefined ? {} : { extensionFiles: layer.extensionFiles }),
    ...(layer.architecture === undefined ? {} : { architecture: layer.architecture }),
    ...(layer.cpuEmulation === undefined ? {} : { cpuEmulation: layer.cpuEmulation }),
    ...(layer.node === undefined ? {} : { node: layer.node }),
    ...(signal === undefined ? {} : { signal }),
  };
}
