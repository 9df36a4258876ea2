/**
 * `node build/scripts/error-docs.js`: writes docs/reference/errors.md from the
 * catalog (src/core/error-codes.ts: each code's meaning, its area block) and
 * from the throw sites in src/ (each code's exit codes and hints, read from
 * the `new CliError(…, { code, exitCode, hint })` and `usageError(message,
 * hint, code)` calls with the TypeScript parser). A unit test
 * (test/unit/error-codes.test.ts) fails when the file and this output differ,
 * so a new code or a changed hint means running this script again.
 */
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Where a code is thrown: the exit code and the hint it comes with, as far as the source says them. */
export interface ErrorSite {
  code: string;
  /** The source file, relative to the repository, with `/`. */
  file: string;
  exitCode: number;
  /** The hints the site can print; `<name>` stands for a value filled in at run time. Empty when computed. */
  hints: string[];
}

/** One code of the catalog, in the block (`// --- area ---`) it is listed in. */
export interface CatalogEntry {
  code: string;
  meaning: string;
  area: string;
}

export const docsPath = path.join('docs', 'reference', 'errors.md');
const catalogPath = path.join('src', 'core', 'error-codes.ts');
const errorCodePattern = /^E_[A-Z0-9_]+$/;

/** The catalog in file order, each code with its area (the `// --- area ---` block above it; "general" before any). */
export function readCatalog(root: string): CatalogEntry[] {
  const file = path.join(root, catalogPath);
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const entries: CatalogEntry[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isPropertyAssignment(node) &&
      ts.isIdentifier(node.name) &&
      errorCodePattern.test(node.name.text) &&
      ts.isStringLiteralLike(node.initializer)
    ) {
      const comments = source.getFullText().slice(node.getFullStart(), node.getStart());
      const heading = [...comments.matchAll(/\/\/ --- (.+?) ---/g)].at(-1)?.[1];
      entries.push({
        code: node.name.text,
        meaning: node.initializer.text,
        area: heading ?? entries.at(-1)?.area ?? 'general',
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return entries;
}

/** Every TypeScript source file under src/, sorted, relative to the root with `/`. */
export function sourceFiles(root: string): string[] {
  return readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => `src/${file.split(path.sep).join('/')}`)
    .sort();
}

/** The throw sites of every code in src/ (the catalog itself excluded). */
export function errorSites(root: string): ErrorSite[] {
  const sites: ErrorSite[] = [];
  for (const file of sourceFiles(root)) {
    if (file === catalogPath.split(path.sep).join('/')) continue;
    const text = readFileSync(path.join(root, file), 'utf8');
    if (!/E_[A-Z]/.test(text)) continue;
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && calleeName(node) === 'usageError') sites.push(...usageErrorSites(node, file));
      else if (ts.isObjectLiteralExpression(node)) sites.push(...objectSites(node, file));
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return sites;
}

function calleeName(call: ts.CallExpression | ts.NewExpression): string | undefined {
  const callee = call.expression;
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  return undefined;
}

/** `usageError(message, hint?, code = 'E_USAGE')`: exit code 2. */
function usageErrorSites(call: ts.CallExpression, file: string): ErrorSite[] {
  const [, hint, code] = call.arguments;
  const codes = code === undefined ? ['E_USAGE'] : literalCodes(code);
  const hints = hint === undefined ? [] : renderText(hint);
  return codes.map((each) => ({ code: each, file, exitCode: 2, hints }));
}

/** An options object with `code: 'E_…'` (or a parameter typed as a union of codes): its exitCode and hint. */
function objectSites(object: ts.ObjectLiteralExpression, file: string): ErrorSite[] {
  const property = (name: string): ts.Expression | undefined => {
    for (const member of object.properties) {
      if (ts.isPropertyAssignment(member) && ts.isIdentifier(member.name) && member.name.text === name)
        return member.initializer;
      if (ts.isShorthandPropertyAssignment(member) && member.name.text === name) return member.name;
    }
    return undefined;
  };
  const code = property('code');
  if (code === undefined) return [];
  const codes = literalCodes(code);
  if (codes.length === 0) return [];
  const exit = property('exitCode');
  const exitCode = exit !== undefined && ts.isNumericLiteral(exit) ? Number(exit.text) : 1;
  const hint = property('hint');
  // `code: missing ? A : B, hint: missing ? X : Y`: A goes with X, B with Y.
  if (
    hint !== undefined &&
    ts.isConditionalExpression(code) &&
    ts.isConditionalExpression(hint) &&
    code.condition.getText() === hint.condition.getText()
  ) {
    return [
      ...literalCodes(code.whenTrue).map((each) => ({ code: each, file, exitCode, hints: renderText(hint.whenTrue) })),
      ...literalCodes(code.whenFalse).map((each) => ({
        code: each,
        file,
        exitCode,
        hints: renderText(hint.whenFalse),
      })),
    ];
  }
  const hints = hint === undefined ? [] : renderText(hint);
  return codes.map((each) => ({ code: each, file, exitCode, hints }));
}

/** The codes an expression can be: a literal, either side of `?:` or `??`, or a parameter typed as literals. */
function literalCodes(expression: ts.Expression): string[] {
  if (ts.isStringLiteralLike(expression)) return errorCodePattern.test(expression.text) ? [expression.text] : [];
  if (ts.isParenthesizedExpression(expression)) return literalCodes(expression.expression);
  if (ts.isConditionalExpression(expression))
    return [...literalCodes(expression.whenTrue), ...literalCodes(expression.whenFalse)];
  if (ts.isBinaryExpression(expression) && expression.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)
    return literalCodes(expression.right);
  if (ts.isIdentifier(expression)) {
    const parameter = findDeclaration(expression, expression.text);
    if (parameter !== undefined && ts.isParameter(parameter) && parameter.type !== undefined) {
      const types = ts.isUnionTypeNode(parameter.type) ? parameter.type.types : [parameter.type];
      return types.flatMap((type) =>
        ts.isLiteralTypeNode(type) && ts.isStringLiteral(type.literal) && errorCodePattern.test(type.literal.text)
          ? [type.literal.text]
          : [],
      );
    }
  }
  return [];
}

/** The nearest declaration of `name` visible from `node`: a parameter, or a const in the file. */
function findDeclaration(node: ts.Node, name: string): ts.Node | undefined {
  for (let scope: ts.Node | undefined = node; scope !== undefined; scope = scope.parent) {
    if (ts.isFunctionLike(scope)) {
      const parameter = scope.parameters.find((each) => ts.isIdentifier(each.name) && each.name.text === name);
      if (parameter !== undefined) return parameter;
    }
  }
  let found: ts.Node | undefined;
  const visit = (each: ts.Node): void => {
    if (found !== undefined) return;
    if (ts.isVariableDeclaration(each) && ts.isIdentifier(each.name) && each.name.text === name) found = each;
    else if (ts.isFunctionDeclaration(each) && each.name?.text === name) found = each;
    else ts.forEachChild(each, visit);
  };
  visit(node.getSourceFile());
  return found;
}

/** Values bound to a called function's parameters while its body is rendered (`packHint(outFlag)`). */
type Bindings = ReadonlyMap<string, ts.Expression>;

/**
 * The texts an expression can print, a value known only at run time shown as `NAME`: string and template
 * literals, `?:`, `+`, a const or a one-expression function of the same file. Empty when computed otherwise.
 */
function renderText(expression: ts.Expression, bindings: Bindings = new Map(), depth = 0): string[] {
  if (depth > 6) return [];
  if (ts.isStringLiteralLike(expression)) return [expression.text];
  if (ts.isParenthesizedExpression(expression)) return renderText(expression.expression, bindings, depth + 1);
  if (ts.isConditionalExpression(expression))
    return [
      ...renderText(expression.whenTrue, bindings, depth + 1),
      ...renderText(expression.whenFalse, bindings, depth + 1),
    ];
  if (ts.isTemplateExpression(expression)) {
    let texts = [expression.head.text];
    for (const span of expression.templateSpans) {
      const parts = placeholder(span.expression, bindings, depth);
      texts = texts.flatMap((text) => parts.map((part) => `${text}${part}${span.literal.text}`));
    }
    return texts;
  }
  if (ts.isBinaryExpression(expression) && expression.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    const left = renderText(expression.left, bindings, depth + 1);
    const right = renderText(expression.right, bindings, depth + 1);
    return left.flatMap((start) => right.map((end) => `${start}${end}`));
  }
  if (ts.isIdentifier(expression)) {
    const bound = bindings.get(expression.text);
    if (bound !== undefined) return renderText(bound, new Map(), depth + 1);
    const declaration = findDeclaration(expression, expression.text);
    if (declaration !== undefined && ts.isVariableDeclaration(declaration) && declaration.initializer !== undefined)
      return renderText(declaration.initializer, new Map(), depth + 1);
    return [];
  }
  // `[...suggestions, help].join(' ')`: the fixed elements; the spread ones are extras known only at run time.
  if (
    ts.isCallExpression(expression) &&
    ts.isPropertyAccessExpression(expression.expression) &&
    expression.expression.name.text === 'join' &&
    ts.isArrayLiteralExpression(expression.expression.expression)
  ) {
    const separator = expression.arguments[0];
    const glue = separator !== undefined && ts.isStringLiteralLike(separator) ? separator.text : ',';
    let texts = [''];
    for (const element of expression.expression.expression.elements) {
      if (ts.isSpreadElement(element)) continue;
      const parts = renderText(element, bindings, depth + 1);
      if (parts.length === 0) return [];
      texts = texts.flatMap((text) => parts.map((part) => (text === '' ? part : `${text}${glue}${part}`)));
    }
    return texts;
  }
  if (ts.isCallExpression(expression) && ts.isIdentifier(expression.expression)) {
    const called = functionBody(findDeclaration(expression, expression.expression.text));
    if (called !== undefined) {
      const bound = new Map<string, ts.Expression>();
      called.parameters.forEach((parameter, index) => {
        const argument = expression.arguments[index];
        if (ts.isIdentifier(parameter.name) && argument !== undefined) bound.set(parameter.name.text, argument);
      });
      return renderText(called.returned, bound, depth + 1);
    }
  }
  return [];
}

/** A function declared as `function f(…) { return x; }` or `const f = (…) => x`: its parameters and x. */
function functionBody(
  declaration: ts.Node | undefined,
): { parameters: readonly ts.ParameterDeclaration[]; returned: ts.Expression } | undefined {
  let fn: ts.SignatureDeclaration | undefined;
  let body: ts.ConciseBody | undefined;
  if (declaration !== undefined && ts.isFunctionDeclaration(declaration)) [fn, body] = [declaration, declaration.body];
  else if (
    declaration !== undefined &&
    ts.isVariableDeclaration(declaration) &&
    declaration.initializer !== undefined &&
    (ts.isArrowFunction(declaration.initializer) || ts.isFunctionExpression(declaration.initializer))
  )
    [fn, body] = [declaration.initializer, declaration.initializer.body];
  if (fn === undefined || body === undefined) return undefined;
  if (!ts.isBlock(body)) return { parameters: fn.parameters, returned: body };
  const only = body.statements.length === 1 ? body.statements[0] : undefined;
  if (only !== undefined && ts.isReturnStatement(only) && only.expression !== undefined)
    return { parameters: fn.parameters, returned: only.expression };
  return undefined;
}

/**
 * What `${expression}` in a hint reads as: a constant's text; an optional part (`cond ? '' : ' --out DIR'`) in
 * brackets; else the value's name in capitals, the way hints write `--s3-bucket BUCKET`.
 */
function placeholder(expression: ts.Expression, bindings: Bindings, depth: number): string[] {
  if (ts.isIdentifier(expression)) {
    const bound = bindings.get(expression.text);
    if (bound !== undefined) return placeholder(bound, new Map(), depth + 1);
    const declaration = findDeclaration(expression, expression.text);
    const initializer =
      declaration !== undefined && ts.isVariableDeclaration(declaration) ? declaration.initializer : undefined;
    const constant =
      initializer !== undefined &&
      ts.isVariableDeclarationList(declaration!.parent) &&
      (declaration!.parent.flags & ts.NodeFlags.Const) !== 0;
    if (constant && (ts.isStringLiteralLike(initializer) || ts.isTemplateExpression(initializer))) {
      const texts = renderText(initializer, new Map(), depth + 1);
      if (texts.length === 1) return texts;
    }
    if (initializer !== undefined && ts.isConditionalExpression(initializer)) {
      const branches = [initializer.whenTrue, initializer.whenFalse];
      const empty = branches.findIndex((branch) => ts.isStringLiteralLike(branch) && branch.text === '');
      const other = empty < 0 ? [] : renderText(branches[1 - empty]!, new Map(), depth + 1);
      if (other.length === 1 && other[0]!.startsWith(' ')) return [` [${other[0]!.slice(1)}]`];
    }
    return [capitals(expression.text)];
  }
  if (ts.isPropertyAccessExpression(expression)) return [capitals(expression.name.text)];
  if (ts.isConditionalExpression(expression)) {
    const whenTrue = renderText(expression.whenTrue, bindings, depth + 1);
    const whenFalse = renderText(expression.whenFalse, bindings, depth + 1);
    if (whenTrue.length > 0 && whenFalse.length > 0) return [...new Set([...whenTrue, ...whenFalse])];
  }
  return ['…'];
}

/** `layerName` → `LAYER_NAME`. */
function capitals(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

const exitCodeMeanings: Record<number, string> = {
  1: 'the command failed',
  2: 'a usage error: a flag or argument is wrong',
  70: 'a bug of ours (internal error)',
  130: 'cancelled',
};

/** docs/reference/errors.md, from the catalog and the sites. */
export function renderErrorDocs(catalog: readonly CatalogEntry[], sites: readonly ErrorSite[]): string {
  const lines = [
    '# Error codes',
    '',
    '<!-- Generated by scripts/error-docs.ts from src/core/error-codes.ts and the throw sites in src/.',
    '     Do not edit: run `npm run build && node build/scripts/error-docs.js`. -->',
    '',
    'Every failure of `create-lambda-extension` and `ext` carries a stable code. On stderr it reads',
    '',
    '```',
    'error[E_PUBLISH_STALE]: dist/manifest.json: the sources changed after ext pack made these zips, …',
    'hint: run ext pack, then ext publish; --allow-stale publishes the older zips anyway',
    '```',
    '',
    'and with `--json` the command prints one document on stdout:',
    '`{"error":{"code":"E_PUBLISH_STALE","message":"…","hint":"…","exitCode":1}}`.',
    'Scripts branch on `code` (or the exit code), never on the message: messages may be reworded, a code keeps',
    'its meaning. A bug of ours is `E_INTERNAL`; `internal error:` and a stack trace on stderr, exit code 70.',
    '',
    'Exit codes: ' +
      Object.entries(exitCodeMeanings)
        .map(([code, meaning]) => `${code} ${meaning}`)
        .join('; ') +
      '.',
    '',
    'Below, each code with its exit code, what it means, and the fix: the hints the command prints with it',
    '(a word in capitals, such as `REGION`, is filled in with the value at fault; `[…]` is there when it applies).',
  ];
  const areas = [...new Set(catalog.map((entry) => entry.area))];
  for (const area of areas) {
    lines.push('', `## ${area === 'general' ? 'General' : area[0]!.toUpperCase() + area.slice(1)}`);
    for (const entry of catalog.filter((each) => each.area === area)) {
      const own = sites.filter((site) => site.code === entry.code);
      const exitCodes = [...new Set(own.map((site) => site.exitCode))].sort((a, b) => a - b);
      const hints = [...new Set(own.flatMap((site) => site.hints))].sort();
      lines.push('', `### ${entry.code}`, '', `${sentence(entry.meaning)}.`, '');
      lines.push(`- Exit code: ${exitCodes.length === 0 ? '1' : exitCodes.join(', ')}`);
      if (hints.length === 0) {
        if (exitCodes.some((code) => code < 64))
          lines.push('- Fix: the hint printed with the message names the flag, path or command to change');
      } else if (hints.length === 1) lines.push(`- Fix: ${inlineCode(hints[0]!)}`);
      else lines.push('- Fix, depending on the case:', ...hints.map((hint) => `  - ${inlineCode(hint)}`));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A meaning as a sentence: capitalised, unless it starts with a command or file name (ext, npm, dist/…). */
function sentence(meaning: string): string {
  const first = /^[a-z]+\b(?![/.-])/.exec(meaning)?.[0];
  return first === undefined || ['ext', 'npm', 'go'].includes(first)
    ? meaning
    : `${first[0]!.toUpperCase()}${meaning.slice(1)}`;
}

/** A hint as Markdown: its own backticks kept, what Markdown would read as HTML or emphasis escaped outside them. */
function inlineCode(hint: string): string {
  return hint
    .split(/(`[^`]*`)/)
    .map((part, index) => (index % 2 === 1 ? part : part.replace(/[<>*]/g, (character) => `\\${character}`)))
    .join('');
}

/** The repository this script belongs to: build/scripts/error-docs.js sits two levels below it. */
export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function generateErrorDocs(root: string = repositoryRoot): string {
  return renderErrorDocs(readCatalog(root), errorSites(root));
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const target = path.join(repositoryRoot, docsPath);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, generateErrorDocs());
  process.stdout.write(`wrote ${docsPath}\n`);
}
