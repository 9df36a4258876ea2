import type { Architecture } from '../layer/index.js';
import type { EventType, Language } from '../config.js';
import type { CiProvider, IacKind } from '../infrastructure/index.js';
import type { ToolkitSource } from './toolkit-source.js';

export interface ScaffoldOptions {
  /** Where the project goes; created if missing. */
  directory: string;
  name: string;
  language: Language;
  template: string;
  architectures: Architecture[];
  events: EventType[];
  /** Go module path; defaults to the extension name. */
  goModule?: string | undefined;
  /** TypeScript: bundle a Linux node binary in the layer ("standalone": true in lambda-extension.json). */
  standalone?: boolean | undefined;
  /** TypeScript standalone: the Node.js major to bundle; default "24". */
  nodeVersion?: string | undefined;
  /**
   * Telemetry template only: the flush strategy compiled in as the default ("end", "periodic:<ms>",
   * "continuous" or "adaptive"; default "adaptive").
   */
  flush?: string | undefined;
  /** Write into a non-empty directory, adding and overwriting template files (never deleting others). */
  force?: boolean | undefined;
  /** GitHub Actions workflows in .github/; default none. */
  ci?: CiProvider | undefined;
  /** Infrastructure-as-code in infra/; default none. */
  iac?: IacKind | undefined;
  /** Aborting before the project is in place writes nothing and rejects with CancelledError. */
  signal?: AbortSignal | undefined;
}

export interface ScaffoldResult {
  directory: string;
  name: string;
  language: Language;
  template: string;
  ci: CiProvider;
  iac: IacKind;
  /** Every file written, relative to the directory. */
  files: string[];
  /** Files that existed before and were replaced (only with force). */
  overwritten: string[];
  /** Where the project's create-lambda-extension dependency points, and why. */
  toolkit: { dependency: string; origin: ToolkitSource['origin'] };
}
