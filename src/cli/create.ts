import path from 'node:path';
import type prompts from 'prompts';
import yargs from 'yargs';
// layer/architectures, not the index: create's start-up needs no zip code.
import { architectures, parseArchitectures, type Architecture } from '../core/layer/architectures.js';
import { defaultFlushStrategy, eventTypes, languages, type EventType, type Language } from '../core/config.js';
import { CancelledError, CliError, errorMessage, usageError } from '../core/errors.js';
import { extensionNameProblem } from '../core/names.js';
import {
  ciProviders,
  ciTitles,
  iacKinds,
  iacTitles,
  parseCiProvider,
  parseIacKind,
  type CiProvider,
  type IacKind,
} from '../core/infrastructure/index.js';
import {
  checkTargetDirectory,
  flushTemplate,
  nameProblems,
  scaffold,
  type ScaffoldOptions,
  type ScaffoldResult,
} from '../core/create/index.js';
import { availableTemplates, templateInfo } from '../core/templates/index.js';
import { runCli, usageFailure, withInterruption } from './run.js';
import { bold, canPrompt, cyan, dim, green, helpWidth, noColorRequested, yellow } from './terminal.js';
import { controlCharacterProblem } from '../core/text.js';
import { toolkitVersion } from './version.js';

/** What the command line said; everything optional, the flag wins over any prompt. */
export interface CreateArguments {
  dir?: string | undefined;
  name?: string | undefined;
  lang?: string | undefined;
  template?: string | undefined;
  arch?: string | undefined;
  events?: string | undefined;
  module?: string | undefined;
  standalone?: boolean | undefined;
  'node-version'?: string | undefined;
  flush?: string | undefined;
  ci?: string | undefined;
  iac?: string | undefined;
  yes?: boolean | undefined;
  force?: boolean | undefined;
  interactive?: boolean | undefined;
  json?: boolean | undefined;
}

export const defaults = {
  language: 'go' as Language,
  template: 'basic',
  architectures: [...architectures] as Architecture[],
  events: [...eventTypes] as EventType[],
  ci: 'github' as CiProvider,
  iac: 'none' as IacKind,
};

const languageTitles: Record<Language, string> = {
  go: 'Go (static binary, runs next to any runtime)',
  ts: 'TypeScript (runs on a Node.js runtime, or bundles its own node)',
};

const flushChoices = [
  {
    title: 'adaptive: at the end of each invoke while invokes are rare, every second when they come often',
    value: 'adaptive',
  },
  { title: 'end: at the end of each invoke (timely; adds post-runtime time to each)', value: 'end' },
  { title: 'periodic:1000: every second, never holding an invoke up', value: 'periodic:1000' },
  { title: 'continuous: when a batch is full or a second old (what Managed Instances use)', value: 'continuous' },
];

/** The prompts we ask, as a function so that tests can drive it with prompts.inject. */
export type Ask = typeof prompts;

function parseEvents(input: string): EventType[] {
  const parts = input
    .split(',')
    .map((part) => part.trim().toUpperCase())
    .filter((part) => part !== '');
  const unknown = parts.filter((part) => !(eventTypes as readonly string[]).includes(part));
  if (unknown.length > 0 || parts.length === 0) {
    throw usageError(
      'E_CREATE_EVENTS_INVALID',
      `--events: unknown event "${unknown[0] ?? input}"`,
      'use INVOKE, SHUTDOWN or INVOKE,SHUTDOWN',
    );
  }
  return eventTypes.filter((event) => parts.includes(event));
}

function validLanguage(input: string): Language {
  const language = input.toLowerCase() === 'typescript' ? 'ts' : input.toLowerCase();
  if (!(languages as readonly string[]).includes(language)) {
    throw usageError('E_CREATE_LANGUAGE_UNKNOWN', `--lang: unknown language "${input}"`, 'use --lang go or --lang ts');
  }
  return language as Language;
}

/**
 * prompts colours with kleur, which reads its switch from the environment
 * once, when it loads, and knows NODE_DISABLE_COLORS but not NO_COLOR: so
 * NO_COLOR becomes NODE_DISABLE_COLORS for that moment only.
 */
async function loadPrompts(): Promise<Ask> {
  const before = process.env['NODE_DISABLE_COLORS'];
  if (noColorRequested()) process.env['NODE_DISABLE_COLORS'] = '1';
  try {
    return (await import('prompts')).default;
  } finally {
    if (before === undefined) delete process.env['NODE_DISABLE_COLORS'];
    else process.env['NODE_DISABLE_COLORS'] = before;
  }
}

/** The part of prompts' text prompt that line editing touches (its own fields, set by prompts on every key). */
interface TextPromptState {
  value: string;
  cursor: number;
  red: boolean;
  render: () => void;
  _: (text: string, key: { ctrl?: boolean; name?: string } | undefined) => void;
  [lineEditingInstalled]?: true;
}
const lineEditingInstalled = Symbol('line editing installed');

/**
 * prompts' text prompt types Ctrl-U (and Ctrl-W) in as characters. A shell
 * erases with them, and people clear a wrong default that way: so, installed
 * on its first render, Ctrl-U erases before the cursor and Ctrl-W the word
 * before it. Called by prompts with the prompt as `this`.
 */
function lineEditingKeys(this: unknown): void {
  const prompt = this as TextPromptState;
  if (prompt[lineEditingInstalled] === true || typeof prompt._ !== 'function') return;
  prompt[lineEditingInstalled] = true;
  const insert = prompt._.bind(prompt);
  prompt._ = (text, key) => {
    if (key?.ctrl !== true || (key.name !== 'u' && key.name !== 'w')) return insert(text, key);
    const before = prompt.value.slice(0, prompt.cursor);
    const kept = key.name === 'u' ? '' : before.replace(/[^\s/]*[\s/]*$/u, '');
    prompt.value = kept + prompt.value.slice(prompt.cursor);
    prompt.cursor = kept.length;
    prompt.red = false;
    prompt.render();
  };
}

/** What a prompt's validate says about a typed name or path: a message, or true. */
function typedTextProblem(value: string, what: string): string | true {
  const problem = controlCharacterProblem(value);
  return problem === undefined
    ? true
    : `The ${what} ${problem.replace(/^it /, '')}: delete it and type the ${what} again`;
}

/**
 * Turns flags (and, on a terminal, answers) into scaffold options. Flags win;
 * prompts fill gaps only when interactive; otherwise documented defaults, or
 * a failure listing the flags that are missing.
 */
export async function resolveCreateOptions(
  args: CreateArguments,
  interactive: boolean,
  ask?: Ask,
): Promise<ScaffoldOptions> {
  const onCancel = () => {
    throw new CancelledError();
  };
  const question = async <T>(object: Omit<prompts.PromptObject, 'name'>): Promise<T> => {
    // prompts is only loaded when there is someone to ask.
    ask ??= await loadPrompts();
    const prompt = object.type === 'text' ? { ...object, onRender: lineEditingKeys } : object;
    return ((await ask({ ...prompt, name: 'value' }, { onCancel })) as { value: T }).value;
  };
  // prompts' own `min` says "You must select a minimum of 1 choices": we ask again, in our words.
  const chooseAtLeastOne = async <T>(message: string, choices: prompts.Choice[]): Promise<T[]> => {
    for (let shown = message; ; shown = `${message} (choose at least one)`) {
      const chosen = await question<T[]>({
        type: 'multiselect',
        message: shown,
        choices,
        hint: 'space to toggle, enter to confirm',
        instructions: false,
      });
      if (chosen.length > 0) return chosen;
    }
  };

  if (args.name !== undefined) {
    const problem = extensionNameProblem(args.name);
    if (problem !== undefined) throw usageError('E_CREATE_NAME_INVALID', `--name: ${problem}`, 'pass a valid --name');
  }
  if (args.dir !== undefined) {
    const problem = controlCharacterProblem(args.dir);
    if (problem !== undefined)
      throw usageError(
        'E_CREATE_DIRECTORY_UNUSABLE',
        `[dir]: ${problem}`,
        'pass a directory name without control characters',
      );
  }
  let directory = args.dir ?? (args.name === undefined ? undefined : args.name);
  if (directory === undefined) {
    if (!interactive) {
      throw usageError(
        'E_CREATE_DIRECTORY_MISSING',
        'missing the project directory: pass [dir] or --name',
        'for example: create-lambda-extension my-extension --yes',
      );
    }
    directory = await question<string>({
      type: 'text',
      message: 'Project directory',
      initial: 'my-extension',
      validate: async (value: string) => {
        if (value.trim() === '') return 'Enter a directory';
        const problem = typedTextProblem(value, 'directory name');
        if (problem !== true) return problem;
        // An occupied folder is a typo or a second thought: ask again rather than end the wizard.
        try {
          await checkTargetDirectory(value.trim(), args.force);
        } catch (error) {
          if (!(error instanceof CliError)) throw error;
          return `${value.trim()} is not empty: type another name, or rerun with --force to add the template files to it`;
        }
        return true;
      },
    });
    directory = directory.trim();
  }
  let name = args.name ?? path.basename(path.resolve(directory));
  if (args.name === undefined && extensionNameProblem(name) !== undefined) {
    if (!interactive) {
      throw usageError(
        'E_CREATE_NAME_INVALID',
        `--name: the directory name "${name}" is not a valid extension name; ${extensionNameProblem(name)!.replace(/^.*?; /, '')}`,
        'pass --name NAME',
      );
    }
    name = await question<string>({
      type: 'text',
      message: 'Extension name (its file name in /opt/extensions)',
      initial:
        path
          .basename(path.resolve(directory))
          .replace(/[^A-Za-z0-9._-]/g, '-')
          .replace(/^[^A-Za-z0-9]+/, '') || 'my-extension',
      validate: (value: string) => {
        const problem = typedTextProblem(value, 'name');
        return problem !== true ? problem : (extensionNameProblem(value) ?? true);
      },
    });
  }

  // Refuse an occupied directory before asking anything else, not after.
  if (interactive) await checkTargetDirectory(directory, args.force);

  let language: Language;
  if (args.lang !== undefined) language = validLanguage(args.lang);
  else if (interactive) {
    language = await question<Language>({
      type: 'select',
      message: 'Language',
      choices: languages.map((value) => ({ title: languageTitles[value], value })),
      initial: 0,
    });
  } else language = defaults.language;
  // A name that go or npm would refuse fails now, before the remaining questions.
  const nameProblem = nameProblems({ name, language, goModule: args.module })[0];
  if (nameProblem !== undefined) throw usageError(nameProblem.code, nameProblem.message, nameProblem.hint);

  let template = args.template;
  if (template === undefined) {
    const templates = await availableTemplates(language);
    if (interactive && templates.length > 1) {
      template = await question<string>({
        type: 'select',
        message: 'Template',
        choices: await Promise.all(
          templates.map(async (value) => ({
            title: value,
            description: (await templateInfo(language, value)).description,
            value,
          })),
        ),
        initial: Math.max(0, templates.indexOf(defaults.template)),
      });
    } else template = defaults.template;
  }

  let chosenArchitectures: Architecture[];
  if (args.arch !== undefined) {
    try {
      chosenArchitectures = parseArchitectures(args.arch);
    } catch (error) {
      throw usageError(
        'E_CREATE_ARCH_INVALID',
        `--arch: ${errorMessage(error)}`,
        'pass --arch x86_64, --arch arm64 or --arch x86_64,arm64',
      );
    }
  } else if (interactive) {
    chosenArchitectures = await chooseAtLeastOne<Architecture>(
      'Architectures',
      architectures.map((value) => ({ title: value, value, selected: true })),
    );
  } else chosenArchitectures = defaults.architectures;

  const fixedEvents = (await templateInfo(language, template)).events;
  let events: EventType[];
  if (args.events !== undefined) events = parseEvents(args.events);
  else if (fixedEvents !== undefined) events = fixedEvents;
  else if (interactive) {
    events = await chooseAtLeastOne<EventType>(
      'Events to register for',
      eventTypes.map((value) => ({ title: value, value, selected: true })),
    );
  } else events = defaults.events;

  // Only the telemetry template ships telemetry; validateScaffoldOptions refuses --flush elsewhere.
  let flush = args.flush;
  if (flush === undefined && template === flushTemplate && interactive) {
    flush = await question<string>({
      type: 'select',
      message: 'When the extension ships telemetry',
      choices: flushChoices,
      initial: flushChoices.findIndex((choice) => choice.value === defaultFlushStrategy),
    });
  }

  let standalone = args.standalone;
  if (standalone === undefined && language === 'ts' && interactive) {
    standalone = await question<boolean>({
      type: 'toggle',
      message:
        'Bundle node in the layer, so it runs beside Python, Java, .NET, Ruby and provided.al2023 functions too (+40 MB zipped)?',
      initial: false,
      active: 'yes',
      inactive: 'no',
    });
  }

  let ci: CiProvider;
  if (args.ci !== undefined) ci = parseCiProvider(args.ci);
  else if (interactive) {
    ci = await question<CiProvider>({
      type: 'select',
      message: 'Continuous integration',
      choices: ciProviders.map((value) => ({ title: ciTitles[value], value })),
      initial: ciProviders.indexOf(defaults.ci),
    });
  } else ci = defaults.ci;

  let iac: IacKind;
  if (args.iac !== undefined) iac = parseIacKind(args.iac);
  else if (interactive) {
    iac = await question<IacKind>({
      type: 'select',
      message: 'Infrastructure as code for the layer',
      choices: iacKinds.map((value) => ({ title: iacTitles[value], value })),
      initial: iacKinds.indexOf(defaults.iac),
    });
  } else iac = defaults.iac;

  return {
    directory,
    name,
    language,
    template,
    architectures: chosenArchitectures,
    events,
    goModule: args.module,
    ...(standalone === true ? { standalone } : {}),
    ...(args['node-version'] === undefined ? {} : { nodeVersion: args['node-version'] }),
    ...(flush === undefined ? {} : { flush }),
    force: args.force,
    ci,
    iac,
  };
}

/** A path as a POSIX shell reads it back: bare when it is plainly safe, else in single quotes. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

export function nextSteps(result: ScaffoldResult, cwd = process.cwd()): string {
  // A path that climbs out of the working directory reads better absolute.
  const fromHere = path.relative(cwd, result.directory) || '.';
  const relative = fromHere.startsWith('..') ? result.directory : fromHere;
  const lines = [
    `${green('✔')} Scaffolded ${bold(result.name)} (${result.language}, ${result.template}) in ${relative}`,
  ];
  if (result.overwritten.length > 0) {
    lines.push(yellow(`  overwrote ${result.overwritten.length} file(s): ${result.overwritten.join(', ')}`));
  }
  const step = (command: string, comment: string) => `  ${cyan(command.padEnd(20))} ${dim(`# ${comment}`)}`;
  lines.push('', 'Next steps:');
  // `cd -x` would read the name as a flag.
  const enter = relative.startsWith('-') ? `./${relative}` : relative;
  if (relative !== '.') lines.push(step(`cd ${shellQuote(enter)}`, 'enter the project'));
  lines.push(step('npm install', 'installs the ext command'));
  // npm scripts, not `npx ext`: npx would fetch an unrelated registry package named `ext` when the install failed.
  lines.push(
    step(
      'npm run build',
      result.language === 'go'
        ? 'builds Linux binaries per architecture into dist/'
        : 'bundles it with a launcher into dist/<arch>/',
    ),
  );
  lines.push(step('npm run pack', `writes dist/${result.name}-<arch>.zip, verified`));
  lines.push(step('npm run dev', 'runs it against a local Lambda emulator'));
  lines.push(step(result.language === 'go' ? 'go test ./...' : 'npm test', 'runs its own tests'));
  const vendored = /^file:\.\/(.+)$/u.exec(result.toolkit.dependency)?.[1];
  if (vendored !== undefined) {
    // An unpublished toolkit travels with the project, so its CI and other clones can install it.
    lines.push('', `${dim('Toolkit:')} ${vendored} (not on the registry yet): commit it with the project`);
  }
  if (result.ci === 'github') {
    lines.push(
      ...(vendored === undefined ? [''] : []),
      `${dim('CI:')} .github/workflows/test.yml and release.yml; set the repository variable AWS_ROLE_ARN`,
    );
  }
  if (result.iac !== 'none') {
    lines.push(`${dim('Deploy:')} see infra/README.md (${iacTitles[result.iac]})`);
  }
  return `${lines.join('\n')}\n`;
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  await runCli(async () => {
    const args = (await yargs(argv)
      .scriptName('create-lambda-extension')
      .usage('$0 [dir] [options]\n\nScaffold an AWS Lambda extension project in Go or TypeScript.')
      .command('$0 [dir]', false)
      .positional('dir', { type: 'string', describe: 'Project directory (its base name is the default --name)' })
      .options({
        name: {
          type: 'string',
          describe: 'Extension name: its file name in /opt/extensions and Lambda-Extension-Name',
        },
        lang: { type: 'string', describe: 'Language: go or ts', defaultDescription: 'go' },
        template: {
          type: 'string',
          describe:
            "Template: basic, telemetry (a Telemetry API subscriber), cache (parameters and secrets on localhost, as AWS's extension serves them) or proxy (a Runtime API proxy the function runs through)",
          defaultDescription: 'basic',
        },
        arch: {
          type: 'string',
          describe: 'Architectures: x86_64, arm64 or both, comma-separated',
          defaultDescription: 'x86_64,arm64',
        },
        events: {
          type: 'string',
          describe: 'Events to register for: INVOKE, SHUTDOWN',
          defaultDescription: 'INVOKE,SHUTDOWN',
        },
        module: { type: 'string', describe: 'Go module path', defaultDescription: 'the extension name' },
        standalone: {
          type: 'boolean',
          describe:
            'TypeScript: bundle a Linux node binary in the layer, so it runs beside any Amazon Linux 2023 runtime, not only Node.js',
        },
        'node-version': {
          type: 'string',
          describe: 'With --standalone: the Node.js major to bundle',
          defaultDescription: '24',
        },
        flush: {
          type: 'string',
          describe:
            'Telemetry template: when it ships, end, periodic:<ms>, continuous or adaptive (overridable at run time by <PREFIX>FLUSH)',
          defaultDescription: 'adaptive',
        },
        ci: {
          type: 'string',
          describe: 'CI workflows: github (test on push, publish on a v* tag) or none',
          defaultDescription: 'github',
        },
        iac: {
          type: 'string',
          describe: 'Infrastructure as code for the layer, in infra/: sam, cdk, terraform or none',
          defaultDescription: 'none',
        },
        yes: { type: 'boolean', alias: 'y', describe: 'Accept defaults for everything not given; never prompt' },
        force: {
          type: 'boolean',
          describe: 'Write into a non-empty directory (adds and overwrites template files, deletes nothing)',
        },
        interactive: {
          type: 'boolean',
          describe: 'Ask for what flags did not give (default: only on a terminal and outside CI)',
        },
        json: { type: 'boolean', describe: 'Print the result as JSON' },
      })
      .example('$0 my-ext', 'Ask for the rest on a terminal')
      .example('$0 my-ext --lang ts --arch arm64 --yes', 'No questions: TypeScript, arm64 only')
      .example('$0 my-ext --lang ts --standalone --yes', 'TypeScript with its own node: runs beside any AL2023 runtime')
      .example('$0 --name my-ext --lang go --events SHUTDOWN --no-interactive', 'For scripts and CI')
      .example('$0 my-ext --template telemetry --flush periodic:1000 --yes', 'Telemetry shipped every second')
      .example('$0 my-ext --template proxy --yes', 'A Runtime API proxy: hooks on every event and response')
      .example('$0 my-ext --iac sam --ci github --yes', 'With a SAM template and GitHub Actions workflows')
      .strict()
      .version(toolkitVersion())
      .alias('v', 'version')
      .alias('h', 'help')
      .wrap(helpWidth())
      .fail(usageFailure('create-lambda-extension'))
      .parseAsync()) as CreateArguments;
    if (args.interactive === true && args.yes !== true && !canPrompt(args)) {
      throw usageError(
        'E_CREATE_NO_TERMINAL',
        '--interactive: there is no terminal to ask on (stdin or stdout is not a TTY)',
        'leave out --interactive and pass the answers as flags, or --yes for the defaults',
      );
    }
    const options = await resolveCreateOptions(args, canPrompt(args));
    // Ctrl-C while the files are written: the staging folder goes, nothing is left behind.
    const result = await withInterruption((signal) => scaffold({ ...options, signal }));
    process.stdout.write(args.json === true ? `${JSON.stringify(result, null, 2)}\n` : nextSteps(result));
  }, argv);
}
