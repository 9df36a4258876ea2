import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A fake qemu that prints the arguments it got, one per line. */
export async function fakeQemu(directory: string, name: string): Promise<string> {
  const file = path.join(directory, name);
  await writeFile(file, '#!/bin/sh\nfor argument in "$@"; do printf "%s\\n" "$argument"; done\n', { mode: 0o755 });
  await chmod(file, 0o755);
  return file;
}
