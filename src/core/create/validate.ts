import { flushStrategyProblem, nodeVersionProblem } from '../config.js';
import type { ErrorCode } from '../error-codes.js';
import { usageError } from '../errors.js';
import { extensionNameProblem, goModuleProblem, npmNameProblem, packageNameOf } from '../names.js';
import { templateInfo } from '../templates/index.js';
import type { ScaffoldOptions } from './options.js';

/** The template whose extension ships telemetry, and so takes --flush. */
export const flushTemplate = 'telemetry';

/** Refuses options that would not give a project that installs and builds, naming the flag at fault. */
export async function validateScaffoldOptions(options: ScaffoldOptions): Promise<void> {
  const nameProblem = extensionNameProblem(options.name);
  if (nameProblem !== undefined)
    throw usageError('E_CREATE_NAME_INVALID', `--name: ${nameProblem}`, 'pass a valid --name');
  // Refuses a template that is not there, listing those that are.
  const { events: fixedEvents } = await templateInfo(options.language, options.template);
  if (options.architectures.length === 0)
    throw usageError('E_CREATE_ARCH_INVALID', '--arch: choose at least one of x86_64, arm64');
  if (options.events.length === 0)
    throw usageError('E_CREATE_EVENTS_INVALID', '--events: choose at least one of INVOKE, SHUTDOWN');
  if (options.standalone === true && options.language !== 'ts') {
    throw usageError(
      'E_CREATE_FLAGS_CONFLICT',
      '--standalone is for TypeScript extensions; a Go extension is a static binary that needs no runtime',
      'drop --standalone, or pass --lang ts',
    );
  }
  if (options.nodeVersion !== undefined) {
    const problem = nodeVersionProblem(options.nodeVersion);
    if (problem !== undefined)
      throw usageError('E_CREATE_NODE_VERSION_INVALID', `--node-version ${problem}`, 'pass --node-version 24 (or 22)');
    if (options.standalone !== true)
      throw usageError('E_CREATE_FLAGS_CONFLICT', '--node-version needs --standalone', 'add --standalone');
  }
  if (options.flush !== undefined) {
    if (options.template !== flushTemplate) {
      throw usageError(
        'E_CREATE_FLUSH_INVALID',
        `--flush: only the ${flushTemplate} template ships telemetry, and this is the ${options.template} template`,
        `leave out --flush, or pass --template ${flushTemplate}`,
      );
    }
    const problem = flushStrategyProblem(options.flush);
    if (problem !== undefined)
      throw usageError(
        'E_CREATE_FLUSH_INVALID',
        `--flush ${problem}`,
        'pass --flush adaptive (or end, periodic:1000, continuous)',
      );
  }
  if (fixedEvents !== undefined && fixedEvents.join(',') !== options.events.join(',')) {
    throw usageError(
      'E_CREATE_EVENTS_INVALID',
      `--events: the ${options.template} template always registers for ${fixedEvents.join(',')}`,
      `leave out --events, or pass --events ${fixedEvents.join(',')}`,
    );
  }
  const problems = nameProblems(options);
  if (problems.length > 0) throw usageError(problems[0]!.code, problems[0]!.message, problems[0]!.hint);
}

/**
 * The names a project is made of, checked as go and npm check them, so that
 * every accepted name gives a project that installs and builds.
 */
export function nameProblems(
  options: Pick<ScaffoldOptions, 'name' | 'language' | 'goModule'>,
): { message: string; hint: string; code: ErrorCode }[] {
  const problems: { message: string; hint: string; code: ErrorCode }[] = [];
  if (options.goModule !== undefined && options.language !== 'go') {
    problems.push({
      message: `--module: only Go projects have a module path, and this one is ${options.language === 'ts' ? 'TypeScript' : options.language}`,
      hint: 'leave out --module, or pass --lang go',
      code: 'E_CREATE_FLAGS_CONFLICT',
    });
  } else if (options.goModule !== undefined) {
    const problem = goModuleProblem(options.goModule);
    if (problem !== undefined)
      problems.push({
        message: `--module: ${problem}`,
        hint: 'pass a valid --module',
        code: 'E_CREATE_MODULE_INVALID',
      });
  } else if (options.language === 'go') {
    const problem = goModuleProblem(options.name);
    if (problem !== undefined) {
      problems.push({
        message: `--name: the Go module path defaults to the name, and ${problem}`,
        hint: `pass --module with a module path such as example.com/${options.name.replace(/[^A-Za-z0-9_-]/g, '') || 'my-extension'}, or choose another --name`,
        code: 'E_CREATE_NAME_INVALID',
      });
    }
  }
  const packageName = packageNameOf(options.name);
  const npmProblem = npmNameProblem(packageName);
  if (npmProblem !== undefined) {
    problems.push({
      message: `--name: package.json takes its name from the extension name, and ${npmProblem}`,
      hint: 'choose another --name',
      code: 'E_CREATE_NAME_INVALID',
    });
  }
  return problems;
}
