import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { repositoryRoot } from '../helpers/paths.js';

/**
 * The documentation holds together: every relative link in README.md,
 * CONTRIBUTING.md, ARCHITECTURE.md and docs/ leads to a file that exists, and
 * every #anchor to a heading of that file; the README fits on a few screens;
 * every ext command has its page, naming every flag its yargs builder declares.
 * Files only: web links are not fetched.
 */

/** Pages another change writes; a link to one is accepted while it is missing. Remove each once it exists. */
async function markdownFiles(): Promise<string[]> {
  const inDocs = (await readdir(path.join(repositoryRoot, 'docs'), { recursive: true }))
    .filter((file) => file.endsWith('.md'))
    .map((file) => path.posix.join('docs', file.split(path.sep).join('/')));
  return ['README.md', 'CONTRIBUTING.md', 'ARCHITECTURE.md', ...inDocs.sort()];
}

/** Markdown outside fenced code blocks, with inline code spans kept only as their text's length of spaces. */
function prose(markdown: string): string {
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(```+|~~~+)/u.exec(line)?.[1];
    if (marker !== undefined && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      lines.push('');
    } else lines.push(fence === undefined ? line : '');
  }
  return lines.join('\n');
}

/** Link targets: inline links and images, and reference definitions. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown).replace(/`[^`\n]*`/gu, 'code');
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/gu)].map((match) => match[1]!);
  const definitions = [...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gmu)].map((match) => match[1]!);
  return [...inline, ...definitions];
}

/** GitHub's anchors for a file's headings: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of prose(markdown).split('\n')) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/u.exec(line)?.[1];
    if (heading === undefined) continue;
    const text = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/gu, '$1')
      .replace(/<[^>]+>/gu, '')
      .toLowerCase();
    const base = text.replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /gu, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

describe('the documentation', () => {
  it('links only to files that exist, and to headings that exist in them', async () => {
    const problems: string[] = [];
    const anchorsOf = new Map<string, Set<string>>();
    const anchors = async (file: string) => {
      let found = anchorsOf.get(file);
      if (found === undefined) {
        found = headingAnchors(await readFile(path.join(repositoryRoot, file), 'utf8'));
        anchorsOf.set(file, found);
      }
      return found;
    };
    const files = await markdownFiles();
    for (const file of files) {
      const markdown = await readFile(path.join(repositoryRoot, file), 'utf8');
      for (const target of linkTargets(markdown)) {
        if (/^[a-z][a-z0-9+.-]*:/iu.test(target)) continue; // https:, mailto:: not fetched
        const [pathPart = '', anchor] = target.split('#', 2);
        const linked =
          pathPart === ''
            ? file
            : path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURIComponent(pathPart)));
        if (linked.startsWith('../')) {
          problems.push(`${file}: ${target} leaves the repository`);
          continue;
        }
        if (!existsSync(path.join(repositoryRoot, linked))) {
          problems.push(`${file}: ${target} (${linked} does not exist)`);
          continue;
        }
        if (anchor !== undefined && anchor !== '' && linked.endsWith('.md') && !(await anchors(linked)).has(anchor)) {
          problems.push(`${file}: ${target} (${linked} has no heading #${anchor})`);
        }
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(files.length >= 20, `found ${files.length} Markdown files`);
  });

  it('computes anchors as GitHub does', () => {
    const anchors = headingAnchors(
      "# `ext dev`: Lambda's environment\n## 6.2 Buffering\n## Flags\n```\n# not a heading\n```\n## Flags\n",
    );
    assert.deepEqual([...anchors], ['ext-dev-lambdas-environment', '62-buffering', 'flags', 'flags-1']);
  });

  it('has a README under 200 lines', async () => {
    const lines = (await readFile(path.join(repositoryRoot, 'README.md'), 'utf8')).trimEnd().split('\n').length;
    assert.ok(lines < 200, `README.md has ${lines} lines; move detail to docs/`);
  });

  it('has a page for create-lambda-extension and every ext command, naming every flag and argument', async () => {
    const commandsFolder = path.join(repositoryRoot, 'build', 'src', 'cli', 'commands');
    const modules = new Map<string, { module: CommandModule; file: string }>();
    for (const file of (await readdir(commandsFolder)).filter((name) => name.endsWith('.js'))) {
      const exported = (await import(pathToFileURL(path.join(commandsFolder, file)).href)) as Record<string, unknown>;
      for (const [name, value] of Object.entries(exported)) {
        if (typeof value === 'object' && value !== null && 'command' in value && 'builder' in value) {
          modules.set(name, { module: value as CommandModule, file: file.replace(/\.js$/u, '') });
        }
      }
    }
    // The top-level commands are those ext-commands.ts registers; nested ones (add ci) share their parent's page.
    const program = await readFile(path.join(repositoryRoot, 'src', 'cli', 'ext-commands.ts'), 'utf8');
    const topLevel = [...program.matchAll(/\.command\((\w+)\)/gu)].map((match) => match[1]!);
    assert.ok(topLevel.length >= 7, `ext-commands.ts registers ${topLevel.join(', ')}`);
    const pageOfFile = new Map<string, string>();
    for (const identifier of topLevel) {
      const found = modules.get(identifier);
      assert.ok(found !== undefined, `${identifier} is exported by a file of src/cli/commands/`);
      pageOfFile.set(found.file, String(found.module.command).split(' ')[0]!);
    }
    const problems: string[] = [];
    const pages = new Set(['create', ...pageOfFile.values()]);
    for (const page of pages) {
      if (!existsSync(path.join(repositoryRoot, 'docs', 'commands', `${page}.md`))) {
        problems.push(`docs/commands/${page}.md is missing`);
      }
    }
    for (const [identifier, { module, file }] of modules) {
      const owner = [...pageOfFile].find(([top]) => file === top || file.startsWith(`${top}-`))?.[1];
      if (owner === undefined) {
        problems.push(`${file}.js (${identifier}) belongs to no ext command`);
        continue;
      }
      const page = await readFile(path.join(repositoryRoot, 'docs', 'commands', `${owner}.md`), 'utf8').catch(() => '');
      const positionals = [...String(module.command).matchAll(/[<[](\w+)/gu)].map((match) => match[1]!);
      // getOptions() is yargs' own (untyped) view of what the builder declared.
      const builder = module.builder as unknown as (argv: Argv) => { getOptions(): { key: Record<string, unknown> } };
      const declared = Object.keys(builder(yargs([])).getOptions().key);
      for (const key of declared) {
        if (key === 'help' || key === 'version') continue;
        const shown = positionals.includes(key) ? key : `--${key}`;
        const escaped = shown.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');
        if (!new RegExp(`${escaped}(?![\\w-])`, 'u').test(page))
          problems.push(`docs/commands/${owner}.md does not mention ${shown}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
