import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { defaultFlushStrategy, defaultStandaloneNodeVersion, type EventType, type Language } from '../config.js';
import { infrastructureContext, type InfrastructureContext } from '../infrastructure/index.js';
import { settingsPrefixOf } from '../names.js';
import { projectContext, quotedList, type ProjectContext } from '../templates/index.js';
import type { ScaffoldOptions } from './options.js';
import type { ToolkitSource } from './toolkit-source.js';

/** Variables every template may use: these fields, and the project and infrastructure ones it extends. */
export interface RenderContext extends ProjectContext, InfrastructureContext {
  language: Language;
  template: string;
  events: EventType[];
  eventsJson: string;
  registersInvoke: boolean;
  registersShutdown: boolean;
  goModule: string;
  goVersion: string;
  toolkitVersion: string;
  /** What the generated package.json depends on: a registry range, or the exact checkout or tarball. */
  toolkitDependency: string;
  toolkitDependencyJson: string;
  toolkitFromRegistry: boolean;
  /** Prefix of the extension's settings (MY_EXT_ for my-ext), as the templates compute it at run time. */
  settingsPrefix: string;
  /** TypeScript: the layer carries its own node (see ext build --standalone). */
  standalone: boolean;
  /** Telemetry template: the flush strategy compiled in as the default ("adaptive" unless create --flush). */
  flush: string;
  /** The node version a standalone layer bundles ("24"); set, unused, for other layers. */
  nodeVersion: string;
}

export function renderContext(
  options: ScaffoldOptions,
  environment: { goVersion: string; toolkitVersion: string; toolkitSource?: ToolkitSource },
): RenderContext {
  const toolkitSource = environment.toolkitSource ?? {
    dependency: `^${environment.toolkitVersion}`,
    origin: 'registry',
  };
  return {
    ...infrastructureContext({
      name: options.name,
      language: options.language,
      architectures: options.architectures,
      ci: options.ci ?? 'none',
      iac: options.iac ?? 'none',
      template: options.template,
    }),
    ...projectContext(options),
    language: options.language,
    template: options.template,
    events: [...options.events],
    eventsJson: quotedList(options.events),
    registersInvoke: options.events.includes('INVOKE'),
    registersShutdown: options.events.includes('SHUTDOWN'),
    goModule: options.goModule ?? options.name,
    goVersion: environment.goVersion,
    toolkitVersion: environment.toolkitVersion,
    toolkitDependency: toolkitSource.dependency,
    toolkitDependencyJson: JSON.stringify(toolkitSource.dependency),
    toolkitFromRegistry: toolkitSource.origin === 'registry',
    settingsPrefix: settingsPrefixOf(options.name),
    standalone: options.standalone === true,
    nodeVersion: options.nodeVersion ?? defaultStandaloneNodeVersion,
    flush: options.flush ?? defaultFlushStrategy,
  };
}

/** `go1.26.8` → `1.26`; anything unexpected gives undefined. */
export function goDirectiveOf(goVersionOutput: string): string | undefined {
  const match = /^go(\d+)\.(\d+)/.exec(goVersionOutput.trim());
  if (match === null) return undefined;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  // log/slog, which the Go templates use, arrived in Go 1.21.
  if (major === 1 && minor < 21) return '1.21';
  return `${major}.${minor}`;
}

export const fallbackGoDirective = '1.22';

/**
 * The go on PATH sits in GOROOT/bin, and GOROOT/VERSION starts with its
 * version: reading it is much cheaper than starting the go tool.
 */
function goVersionFromGoroot(): string | undefined {
  for (const directory of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (directory === '') continue;
    try {
      const goroot = path.dirname(path.dirname(realpathSync(path.join(directory, 'go'))));
      return readFileSync(path.join(goroot, 'VERSION'), 'utf8').split('\n')[0];
    } catch {
      // Not in this directory, or not a standard GOROOT layout: keep looking, then ask go.
    }
  }
  return undefined;
}

/** The go directive for a new go.mod: the local Go's version, or a safe default without Go. */
export async function localGoDirective(): Promise<string> {
  const fromFile = goDirectiveOf(goVersionFromGoroot() ?? '');
  if (fromFile !== undefined) return fromFile;
  try {
    // Loaded here, on the rare path, rather than by every scaffold.
    const [{ execFile }, { promisify }] = await Promise.all([import('node:child_process'), import('node:util')]);
    const { stdout } = await promisify(execFile)('go', ['env', 'GOVERSION'], { timeout: 10_000 });
    return goDirectiveOf(stdout) ?? fallbackGoDirective;
  } catch {
    // No Go here yet: the project must still scaffold; ext build says how to install Go.
    return fallbackGoDirective;
  }
}
