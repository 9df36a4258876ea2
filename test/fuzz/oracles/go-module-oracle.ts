import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { nodeCacheDirectory } from '../../helpers/node-versions.js';

/**
 * golang.org/x/mod/module itself, as the oracle for our Go module path rules:
 * a small program, built once with the pinned module from the Go module proxy
 * into the tests' cache folder, that answers one JSON line per path.
 */
export const xModVersion = 'v0.43.0';

const oracleSource = `package main

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"

	"golang.org/x/mod/module"
)

type verdict struct {
	CheckPath       string \`json:"checkPath"\`
	CheckImportPath string \`json:"checkImportPath"\`
	SplitOK         bool   \`json:"splitOK"\`
	ElementsOK      bool   \`json:"elementsOK"\`
}

// elementsOK applies CheckPath's rules for module path elements (stricter
// than import paths: no leading dot) to every element, first included.
func elementsOK(path string) bool {
	for _, element := range strings.Split(path, "/") {
		if module.CheckPath("example.com/"+element+"/x") != nil {
			return false
		}
	}
	return true
}

func message(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	encoder := json.NewEncoder(out)
	for in.Scan() {
		var path string
		if err := json.Unmarshal(in.Bytes(), &path); err != nil {
			panic(err)
		}
		_, _, ok := module.SplitPathVersion(path)
		_ = encoder.Encode(verdict{message(module.CheckPath(path)), message(module.CheckImportPath(path)), ok, elementsOK(path)})
		_ = out.Flush()
	}
}
`;

export interface GoModuleVerdict {
  /** CheckPath's error ("" when the path is a valid module path for the proxy). */
  checkPath: string;
  checkImportPath: string;
  /** SplitPathVersion's ok: false for /v0, /v1, /v01 and dotted suffixes. */
  splitOK: boolean;
  /** Every element passes CheckPath's element rules (no leading dot, unlike import paths). */
  elementsOK: boolean;
}

export type OracleAvailability = { binary: string } | { skip: string };

let availability: Promise<OracleAvailability> | undefined;

export function goModuleOracleBinary(): Promise<OracleAvailability> {
  availability ??= build();
  return availability;
}

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

async function build(): Promise<OracleAvailability> {
  const directory = path.join(nodeCacheDirectory(), `go-module-oracle-${xModVersion}`);
  const binary = path.join(directory, 'go-module-oracle');
  if (existsSync(binary)) return { binary };
  const go = spawnSync('go', ['version'], { stdio: 'ignore' });
  if (go.error !== undefined || go.status !== 0)
    return { skip: 'go is not on PATH, so the Go module oracle cannot be built' };
  await mkdir(nodeCacheDirectory(), { recursive: true });
  const staging = await mkdtemp(path.join(nodeCacheDirectory(), '.go-module-oracle-'));
  try {
    await writeFile(path.join(staging, 'go.mod'), 'module oracle\n\ngo 1.21\n');
    await writeFile(path.join(staging, 'main.go'), oracleSource);
    for (const args of [
      ['get', `golang.org/x/mod@${xModVersion}`],
      ['build', '-o', 'go-module-oracle', '.'],
    ]) {
      const result = await run('go', args, staging);
      if (result.code !== 0) throw new Error(`go ${args.join(' ')} failed:\n${result.output}`);
    }
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  // Rename into place: a concurrent or interrupted build never leaves half a cache entry.
  await rename(staging, directory).catch(async () => rm(staging, { recursive: true, force: true }));
  return { binary };
}

/** One oracle process answering paths in order. */
export class GoModuleOracle {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((verdict: GoModuleVerdict) => void)[] = [];

  constructor(binary: string) {
    this.child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.waiting.shift()?.(JSON.parse(line) as GoModuleVerdict);
    });
  }

  async verdicts(paths: readonly string[]): Promise<GoModuleVerdict[]> {
    const answers = paths.map(
      (modulePath) =>
        new Promise<GoModuleVerdict>((resolve) => {
          this.waiting.push(resolve);
          this.child.stdin.write(`${JSON.stringify(modulePath)}\n`);
        }),
    );
    return Promise.all(answers);
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}
