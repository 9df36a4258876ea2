import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  architectureFromFileName,
  inspectZipBuffer,
  launcherTargets,
  type InspectReport,
} from '../../src/core/inspect/index.js';
import { buildZip, elfImage, type RawZipEntry } from '../helpers/zip-fixtures.js';

const staticArm = elfImage({ machine: 183 });
const staticX86 = elfImage({ machine: 62 });

function report(entries: RawZipEntry[], zipName = 'layer.zip', architecture?: 'x86_64' | 'arm64'): InspectReport {
  return inspectZipBuffer(buildZip(entries), zipName, architecture === undefined ? {} : { architecture });
}

function codes(result: InspectReport): string[] {
  return result.findings.map((finding) => `${finding.severity}:${finding.code}`);
}

test('launcher targets: the idioms that locate files next to the launcher', () => {
  const cases: [string, string | undefined, boolean][] = [
    ['exec node "$(dirname "$0")/../demo/index.mjs" "$@"', 'demo/index.mjs', false],
    ['exec "${0%/*}/../demo/run"', 'demo/run', true],
    ['here=$(cd "$(dirname "$0")" && pwd)\nexec "$here/../demo/run" "$@"', 'demo/run', true],
    [
      'here="$(dirname -- "$(readlink -f -- "$0")")"\nexec node --enable-source-maps "${here}/../demo/index.mjs"',
      'demo/index.mjs',
      false,
    ],
    [
      'set -euo pipefail\nLAMBDA_EXTENSION_NAME=$(basename $0)\nexec "/opt/${LAMBDA_EXTENSION_NAME}/index.js"',
      'demo/index.js',
      true,
    ],
    ['exec /opt/demo/bin/agent', 'demo/bin/agent', true],
    ['exec /usr/bin/env python3 /opt/demo/main.py', 'demo/main.py', false],
    ['exec "$SOMEWHERE/../demo/run"', undefined, true],
  ];
  for (const [body, expected, direct] of cases) {
    const targets = launcherTargets(`#!/bin/sh\n${body}\n`, 'extensions/demo');
    assert.equal(targets.length, 1, body);
    assert.equal(targets[0]!.path, expected, body);
    assert.equal(targets[0]!.direct, direct, body);
  }
  assert.deepEqual(
    launcherTargets('#!/bin/sh\nexport PATH=/opt/bin:$PATH\necho "$@"\nexec /usr/bin/true\n', 'extensions/demo'),
    [],
  );
});

test("a launcher that runs node without clearing the function's NODE_OPTIONS gets a warning", () => {
  const launcher = (lines: string): RawZipEntry[] => [
    { name: 'extensions/demo', data: `#!/bin/sh\nset -e\n${lines}\n`, mode: 0o100755 },
    { name: 'demo/index.mjs', data: '#!/usr/bin/env node\n', mode: 0o100755 },
  ];
  const warned = (lines: string): boolean =>
    codes(report(launcher(lines))).includes('warning:launcher-keeps-node-options');
  assert.equal(warned('exec node "${0%/*}/../demo/index.mjs" "$@"'), true);
  assert.equal(
    warned('# unset NODE_OPTIONS\nexec node "${0%/*}/../demo/index.mjs" "$@"'),
    true,
    'a comment clears nothing',
  );
  assert.equal(warned('unset NODE_OPTIONS_X\nexec node "${0%/*}/../demo/index.mjs"'), true);
  assert.equal(warned('unset NODE_OPTIONS\nexec node "${0%/*}/../demo/index.mjs" "$@"'), false);
  assert.equal(warned('unset FOO NODE_OPTIONS\nexec node "${0%/*}/../demo/index.mjs"'), false);
  assert.equal(warned('NODE_OPTIONS= exec node "${0%/*}/../demo/index.mjs"'), false);
  assert.equal(warned('export NODE_OPTIONS=""\nexec node "${0%/*}/../demo/index.mjs"'), false);
  assert.equal(warned('exec env -u NODE_OPTIONS node "${0%/*}/../demo/index.mjs"'), false);
  // Not a node launcher: nothing to say.
  assert.equal(
    codes(
      report([
        { name: 'extensions/demo', data: '#!/bin/sh\nexec "${0%/*}/../demo/run"\n', mode: 0o100755 },
        { name: 'demo/run', data: staticX86, mode: 0o100755 },
      ]),
    ).includes('warning:launcher-keeps-node-options'),
    false,
  );
});

test('architecture from the zip file name', () => {
  assert.equal(architectureFromFileName('dist/demo-x86_64.zip'), 'x86_64');
  assert.equal(architectureFromFileName('extension.arm64.zip'), 'arm64');
  assert.equal(architectureFromFileName('honeycomb-amd64.zip'), 'x86_64');
  assert.equal(architectureFromFileName('layer.zip'), undefined);
  assert.equal(architectureFromFileName('warm64.zip'), undefined);
});

test('a good Go layer and a good TS layer have no findings except the node note', () => {
  const go = report(
    [{ name: 'extensions/' }, { name: 'extensions/demo', data: staticArm, mode: 0o100755 }],
    'demo-arm64.zip',
  );
  assert.deepEqual(codes(go), []);
  assert.equal(go.ok, true);
  assert.equal(go.architecture, 'arm64');
  assert.equal(go.architectureSource, 'file name');
  assert.deepEqual(go.extensions, [{ name: 'demo', kind: 'elf' }]);
  const ts = report([
    {
      name: 'extensions/demo',
      data: '#!/bin/sh\nunset NODE_OPTIONS\nexec node "$(dirname "$0")/../demo/index.mjs" "$@"\n',
      mode: 0o100755,
    },
    { name: 'demo/index.mjs', data: '#!/usr/bin/env node\n', mode: 0o100755 },
  ]);
  assert.deepEqual(codes(ts), ['warning:needs-node-runtime']);
  assert.equal(ts.ok, true);
  assert.deepEqual(ts.extensions[0]?.targets, ['demo/index.mjs']);
  assert.equal(ts.directories, 0, 'no folder entries');
  assert.equal(ts.impliedDirectories, 2, 'extensions/ and demo/ come from the file paths');
  assert.equal(ts.entries, ts.files + ts.directories);
});

test('counts: entries are files plus folder entries; folders without an entry are counted apart', () => {
  const withFolders = report([
    { name: 'extensions/' },
    { name: 'extensions/demo', data: staticX86, mode: 0o100755 },
    { name: 'demo/lib/' },
    { name: 'demo/lib/a.js', data: 'a' },
  ]);
  assert.deepEqual(
    [withFolders.entries, withFolders.files, withFolders.directories, withFolders.impliedDirectories],
    [4, 2, 2, 1],
    'demo/ is only implied by demo/lib/',
  );
  // An absolute path's empty first segment is not a folder: /abs and /abs/path are.
  const absolute = report([
    { name: 'extensions/demo', data: staticX86, mode: 0o100755 },
    { name: '/abs/path/file', data: 'x' },
  ]);
  assert.ok(codes(absolute).includes('error:absolute-path'));
  assert.deepEqual([absolute.entries, absolute.files, absolute.directories, absolute.impliedDirectories], [2, 2, 0, 3]);
  const duplicate = report([
    { name: 'extensions/demo', data: staticX86, mode: 0o100755 },
    { name: 'extensions/demo', data: staticX86, mode: 0o100755 },
  ]);
  assert.equal(duplicate.entries, duplicate.files + duplicate.directories);
  assert.equal(duplicate.files, 2);
});

test('each broken layer gives its specific finding', () => {
  const cases: [string, RawZipEntry[], string, string?][] = [
    ['no exec bit', [{ name: 'extensions/demo', data: staticX86, mode: 0o100644 }], 'error:not-executable'],
    ['DOS made-by', [{ name: 'extensions/demo', data: staticX86, platform: 0 }], 'error:no-unix-permissions'],
    [
      'CRLF launcher',
      [
        { name: 'extensions/demo', data: '#!/bin/sh\r\nexec /opt/demo/run\r\n', mode: 0o100755 },
        { name: 'demo/run', data: staticX86, mode: 0o100755 },
      ],
      'error:carriage-return',
    ],
    ['no shebang', [{ name: 'extensions/demo', data: 'echo hi\n', mode: 0o100755 }], 'error:missing-shebang'],
    [
      'Mach-O',
      [{ name: 'extensions/demo', data: Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 0, 0, 0, 0]), mode: 0o100755 }],
      'error:not-linux-executable',
    ],
    [
      'wrong machine',
      [{ name: 'extensions/demo', data: staticX86, mode: 0o100755 }],
      'error:elf-wrong-machine',
      'demo-arm64.zip',
    ],
    [
      'mixed',
      [
        { name: 'extensions/a', data: staticX86, mode: 0o100755 },
        { name: 'extensions/b', data: staticArm, mode: 0o100755 },
      ],
      'error:mixed-architectures',
    ],
    [
      '32-bit',
      [{ name: 'extensions/demo', data: elfImage({ machine: 40, bits: 32 }), mode: 0o100755 }],
      'error:elf-not-64-bit',
    ],
    [
      'object file',
      [{ name: 'extensions/demo', data: elfImage({ machine: 62, type: 1 }), mode: 0o100755 }],
      'error:elf-not-executable',
    ],
    [
      'dynamic',
      [
        {
          name: 'extensions/demo',
          data: elfImage({ machine: 62, type: 3, interpreter: '/lib64/ld-linux-x86-64.so.2' }),
          mode: 0o100755,
        },
      ],
      'warning:elf-dynamic',
    ],
    [
      'parent path',
      [
        { name: 'extensions/demo', data: staticX86, mode: 0o100755 },
        { name: '../evil', data: 'x' },
      ],
      'error:parent-path',
    ],
    [
      'absolute',
      [
        { name: 'extensions/demo', data: staticX86, mode: 0o100755 },
        { name: '/etc/passwd', data: 'x' },
      ],
      'error:absolute-path',
    ],
    ['backslash', [{ name: 'extensions\\demo', data: staticX86, mode: 0o100755 }], 'error:backslash-path'],
    ['missing extensions/', [{ name: 'bin/demo', data: staticX86, mode: 0o100755 }], 'error:missing-extensions-dir'],
    ['misspelled', [{ name: 'Extensions/demo', data: staticX86, mode: 0o100755 }], 'error:missing-extensions-dir'],
    [
      'wrapping folder',
      [{ name: 'layer/extensions/demo', data: staticX86, mode: 0o100755 }],
      'error:wrapped-extensions-dir',
    ],
    ['empty extensions/', [{ name: 'extensions/' }], 'error:empty-extensions-dir'],
    ['symlink', [{ name: 'extensions/demo', data: '../demo/run', mode: 0o120777, method: 0 }], 'warning:symlink'],
    [
      'macOS litter',
      [
        { name: 'extensions/demo', data: staticX86, mode: 0o100755 },
        { name: '__MACOSX/extensions/._demo', data: 'x' },
      ],
      'warning:macos-metadata',
    ],
    [
      'nested folder',
      [
        { name: 'extensions/demo', data: staticX86, mode: 0o100755 },
        { name: 'extensions/sub/x', data: staticX86, mode: 0o100755 },
      ],
      'warning:nested-extension-dir',
    ],
    ['crc', [{ name: 'extensions/demo', data: staticX86, mode: 0o100755, crc: 1 }], 'error:crc-mismatch'],
    [
      'duplicate',
      [
        { name: 'extensions/demo', data: staticX86, mode: 0o100755 },
        { name: 'extensions/demo', data: staticX86, mode: 0o100755 },
      ],
      'error:duplicate-entry',
    ],
    [
      'target missing',
      [{ name: 'extensions/demo', data: '#!/bin/sh\nexec node "$(dirname "$0")/../demo/index.mjs"\n', mode: 0o100755 }],
      'error:launcher-target-missing',
    ],
    [
      'target not executable',
      [
        { name: 'extensions/demo', data: '#!/bin/sh\nexec "${0%/*}/../demo/run"\n', mode: 0o100755 },
        { name: 'demo/run', data: staticX86 },
      ],
      'error:not-executable',
    ],
    [
      'target unresolved',
      [{ name: 'extensions/demo', data: '#!/bin/sh\nexec "$ROOT/demo/run"\n', mode: 0o100755 }],
      'warning:launcher-target-unresolved',
    ],
    [
      'env python',
      [{ name: 'extensions/demo', data: '#!/usr/bin/env node\nprocess.exit(0)\n', mode: 0o100755 }],
      'warning:needs-node-runtime',
    ],
  ];
  for (const [label, entries, code, zipName] of cases) {
    const result = report(entries, zipName);
    assert.ok(codes(result).includes(code), `${label}: expected ${code}, got ${codes(result).join(', ') || 'nothing'}`);
    assert.equal(result.ok, !code.startsWith('error:'), label);
  }
});

test('the CRLF finding names the line', () => {
  const result = report([{ name: 'extensions/demo', data: '#!/bin/sh\nset -e\r\nexec true\n', mode: 0o100755 }]);
  const finding = result.findings.find((item) => item.code === 'carriage-return');
  assert.match(finding!.message, /^line 2 ends with CRLF/);
});

test('more than ten extensions is an error; ten is fine', () => {
  const extensions = (count: number): RawZipEntry[] =>
    Array.from({ length: count }, (_, index) => ({ name: `extensions/e${index}`, data: staticX86, mode: 0o100755 }));
  assert.equal(report(extensions(10)).ok, true);
  assert.ok(codes(report(extensions(11))).includes('error:too-many-extensions'));
});

test('--arch wins over the file name and the ELF header', () => {
  const result = inspectZipBuffer(
    buildZip([{ name: 'extensions/demo', data: staticArm, mode: 0o100755 }]),
    'demo-arm64.zip',
    { architecture: 'x86_64' },
  );
  assert.equal(result.architectureSource, 'option');
  assert.match(result.findings[0]!.message, /--arch says x86_64/);
});

test('a zip that is not a zip gives one CliError line', () => {
  assert.throws(
    () => inspectZipBuffer(Buffer.from('not a zip at all, just text'), 'x.zip'),
    (error: Error) => error.name === 'CliError' && /^x\.zip is not a readable zip file: /.test(error.message),
  );
});

test('sizes: near the zip limit warns, over the unzipped limit is an error', () => {
  const big = report([
    { name: 'extensions/demo', data: staticX86, mode: 0o100755 },
    { name: 'padding', data: Buffer.alloc(41 * 1024 * 1024), method: 0 },
  ]);
  assert.deepEqual(codes(big), ['warning:zip-near-limit']);
  const zip = buildZip([
    { name: 'extensions/demo', data: staticX86, mode: 0o100755 },
    { name: 'huge', data: 'x', method: 0 },
  ]);
  // Claim 300 MB for "huge" in its central directory record (the last one, 46 + 4 bytes before the end record).
  zip.writeUInt32LE(300 * 1024 * 1024, zip.length - 22 - 50 + 24);
  const result = inspectZipBuffer(zip, 'huge.zip');
  assert.ok(codes(result).includes('error:unzipped-too-large'), codes(result).join(', '));
  assert.equal(result.unzippedBytes, 300 * 1024 * 1024 + staticX86.length);
});
