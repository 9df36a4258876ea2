import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The smallest TypeScript extension project `ext build` accepts: a
 * lambda-extension.json and one entry file, which esbuild bundles in well
 * under a second (or, with a large or broken source, as slowly or as badly as
 * a test needs).
 */
export async function writeTypeScriptProject(
  project: string,
  source = 'console.log("extension");\n',
  name = 'demo',
): Promise<string> {
  await mkdir(path.join(project, 'src'), { recursive: true });
  await writeFile(
    path.join(project, 'lambda-extension.json'),
    JSON.stringify({ name, language: 'ts', entry: 'src/index.ts', architectures: ['x86_64'], version: '1.0.0' }),
  );
  await writeFile(path.join(project, 'src', 'index.ts'), source);
  return project;
}
