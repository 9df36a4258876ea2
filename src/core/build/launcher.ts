/* The shell launcher Lambda starts as /opt/extensions/<name> for a TypeScript extension. */
// standalone/layout, not the index: build loads with every ext command, and the index loads npm, tar and hashing.
import { bundledNodePath } from '../standalone/layout.js';

/**
 * The function's NODE_OPTIONS are meant for its runtime, and an extension
 * inherits them: a `--require` preload (Sentry's and other APM layers') runs
 * inside the extension, where it may throw (Lambda withholds LAMBDA_TASK_ROOT
 * from extensions), and an unresolvable one stops node before it registers,
 * failing the function's Init. The extension's own flags are on its command line.
 */
const clearNodeOptions = [
  "# The function's NODE_OPTIONS (an APM's --require preload) are for its runtime, not this extension.",
  'unset NODE_OPTIONS',
];

/**
 * The POSIX sh launcher Lambda starts for a TypeScript extension. It finds
 * the bundle relative to itself, so the same layer runs from /opt and from
 * any other folder (such as ext dev's). A plain layer runs the node on PATH
 * and fails with a plain message when the function's runtime has none; a
 * standalone one runs the node shipped beside the bundle and never PATH's.
 */
export function launcherScript(
  name: string,
  sourcemap: boolean,
  nodeOptions: readonly string[] = [],
  standalone = false,
): string {
  const flags = [...(sourcemap ? ['--enable-source-maps'] : []), ...nodeOptions].map((flag) => `${flag} `).join('');
  // Only shell built-ins: a function's PATH may lack even basename and dirname.
  if (standalone) {
    return [
      '#!/bin/sh',
      `# Lambda starts this file as /opt/extensions/${name}. It runs the bundled`,
      `# extension in ../${name}/ with the node binary shipped in ../${name}/bin/,`,
      "# never the runtime's: the layer works beside any Amazon Linux 2023 runtime.",
      'set -e',
      ...clearNodeOptions,
      'LAMBDA_EXTENSION_NAME=${0##*/}',
      'export LAMBDA_EXTENSION_NAME',
      `bundled_node="\${0%/*}/../${bundledNodePath(name)}"`,
      // Asking for the version first delays start-up a little (see docs/benchmarks.md) but turns a loader
      // failure (Amazon Linux 2's glibc 2.26, older libstdc++) into one line that says what to do, which exec
      // alone cannot.
      'if ! "$bundled_node" --version >/dev/null 2>&1; then',
      `  problem=$("$bundled_node" --version 2>&1 >/dev/null | { IFS= read -r first || true; printf '%s' "$first"; }) || true`,
      `  echo "$LAMBDA_EXTENSION_NAME: the bundled node cannot start here (\${problem:-it exits with an error}); it needs glibc 2.28 and libstdc++, so use an Amazon Linux 2023 runtime (provided.al2023, nodejs20.x+, python3.12+, java21+, dotnet8+, ruby3.3+)" >&2`,
      '  exit 127',
      'fi',
      `exec "$bundled_node" ${flags}"\${0%/*}/../${name}/index.mjs" "$@"`,
      '',
    ].join('\n');
  }
  return [
    '#!/bin/sh',
    `# Lambda starts this file as /opt/extensions/${name}. It runs the bundled`,
    `# extension in ../${name}/ with the node on PATH: attach the layer to`,
    '# functions on a Node.js managed runtime, which provides node.',
    'set -e',
    ...clearNodeOptions,
    'LAMBDA_EXTENSION_NAME=${0##*/}',
    'export LAMBDA_EXTENSION_NAME',
    'if ! command -v node >/dev/null 2>&1; then',
    `  echo "$LAMBDA_EXTENSION_NAME: node is not on PATH; this extension needs a Node.js runtime (nodejs22.x or later)" >&2`,
    '  exit 127',
    'fi',
    `exec node ${flags}"\${0%/*}/../${name}/index.mjs" "$@"`,
    '',
  ].join('\n');
}
