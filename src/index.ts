/**
 * The library API: the same core functions the bins call. None of them reads
 * argv, prompts, writes to stdout or exits; failures are CliError with a
 * message and a hint.
 */
export { architectures, parseArchitectures, type Architecture } from './core/layer/architectures.js';
export { build, type BuildOptions, type BuildProgress, type BuildResult, type BuiltLayer } from './core/build/index.js';
export { configProblems, readConfig, type EventType, type ExtensionConfig, type Language } from './core/config.js';
export { CancelledError, CliError } from './core/errors.js';
export { extensionNameProblem, isValidExtensionName } from './core/names.js';
export { scaffold, type ScaffoldOptions, type ScaffoldResult } from './core/create/index.js';
export { availableTemplates } from './core/templates/index.js';
export { inspect, type InspectFinding, type InspectOptions, type InspectReport } from './core/inspect/index.js';
export { pack, type PackedLayer, type PackOptions, type PackResult } from './core/pack/index.js';
export * from './core/emulator/index.js';
export { runDev, type DevOptions } from './core/dev/index.js';
export {
  publish,
  type LayerAudience,
  type PublishedMap,
  type PublishedMapEntry,
  type PublishOptions,
  type PublishProgress,
  type PublishResult,
  type PublishTarget,
} from './core/publish/index.js';
export {
  addCi,
  addIac,
  ciProviders,
  iacKinds,
  type AddCiOptions,
  type AddCiResult,
  type AddIacOptions,
  type AddIacResult,
  type CiProvider,
  type IacKind,
} from './core/infrastructure/index.js';
export type { DevFunctionOptions } from './core/dev/index.js';
export {
  functionRuntimes,
  loadEvents,
  parseEvents,
  prepareFunction,
  type FunctionRuntime,
  type PreparedFunction,
  type PrepareFunctionOptions,
} from './core/function/index.js';
