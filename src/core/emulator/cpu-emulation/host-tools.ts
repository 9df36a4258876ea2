import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Architecture } from '../../layer/architectures.js';
import type { LayerBinary } from './layer-binaries.js';
import { neededLibraries } from './layer-binaries.js';

/** What this host needs to run another architecture's binaries: qemu-user and, for dynamic ones, that architecture's libraries. */

interface Target {
  /** qemu-user binaries, in order of preference (Debian's qemu-user, then qemu-user-static). */
  emulators: string[];
  /** Where distributions put the target's glibc (Debian's libc6-<arch>-cross, qemu's default prefix). */
  sysroots: string[];
  /** GNU triplet: library folders under the sysroot are named after it. */
  triplet: string;
  /** Debian's cross packages holding glibc and libstdc++ for the target. */
  libraryPackages: string;
}

export const targets: Record<Architecture, Target> = {
  arm64: {
    emulators: ['qemu-aarch64', 'qemu-aarch64-static'],
    sysroots: ['/usr/aarch64-linux-gnu', '/etc/qemu-binfmt/aarch64', '/usr/gnemul/qemu-aarch64'],
    triplet: 'aarch64-linux-gnu',
    libraryPackages: 'libc6-arm64-cross libstdc++6-arm64-cross',
  },
  x86_64: {
    emulators: ['qemu-x86_64', 'qemu-x86_64-static'],
    sysroots: ['/usr/x86_64-linux-gnu', '/etc/qemu-binfmt/x86_64', '/usr/gnemul/qemu-x86_64'],
    triplet: 'x86_64-linux-gnu',
    libraryPackages: 'libc6-amd64-cross libstdc++6-amd64-cross',
  },
};

/** One line: how to get qemu-user onto this machine. */
export function qemuInstallHint(architecture: Architecture): string {
  return `install qemu-user (Debian/Ubuntu: sudo apt-get install qemu-user; Fedora: sudo dnf install qemu-user), which provides ${targets[architecture].emulators[0]}`;
}

const isExecutable = (file: string): Promise<boolean> =>
  fs.access(file, fsConstants.X_OK).then(
    () => true,
    () => false,
  );

/** The first of `names` found on `searchPath`, as an absolute path. */
export async function findOnPath(names: readonly string[], searchPath: string): Promise<string | undefined> {
  const directories = searchPath.split(path.delimiter).filter((directory) => path.isAbsolute(directory));
  for (const name of names) {
    for (const directory of directories) {
      const candidate = path.join(directory, name);
      if (await isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

const exists = (file: string): Promise<boolean> =>
  fs.stat(file).then(
    () => true,
    () => false,
  );

function libraryDirectories(sysroot: string, triplet: string): string[] {
  return ['lib', 'lib64', 'usr/lib', 'usr/lib64', `lib/${triplet}`, `usr/lib/${triplet}`].map((folder) =>
    path.join(sysroot, folder),
  );
}

export type SysrootResult = { sysroot: string } | { problem: string; hint: string };

/**
 * The root under which qemu finds the dynamic loader and libraries of the
 * layer's dynamic executables (qemu -L, QEMU_LD_PREFIX). `given` (the user's
 * QEMU_LD_PREFIX) wins; else the first usual place that has the loader. A
 * library the layer ships itself (anywhere in it: lib/, or next to the
 * binary for an $ORIGIN run path) needs nothing from the sysroot.
 */
export async function findSysroot(
  architecture: Architecture,
  dynamic: readonly LayerBinary[],
  layerLibraries: ReadonlySet<string>,
  given: string | undefined,
): Promise<SysrootResult> {
  const target = targets[architecture];
  const interpreters = [...new Set(dynamic.map((binary) => binary.interpreter!))];
  const candidates = given === undefined || given === '' ? target.sysroots : [given];
  let sysroot: string | undefined;
  for (const candidate of candidates) {
    if (
      (await Promise.all(interpreters.map((interpreter) => exists(path.join(candidate, interpreter))))).every(Boolean)
    ) {
      sysroot = candidate;
      break;
    }
  }
  const install = `install the ${architecture} C and C++ libraries (Debian/Ubuntu: sudo apt-get install ${target.libraryPackages}), or set QEMU_LD_PREFIX to an ${architecture} root filesystem`;
  const first = dynamic[0]!;
  if (sysroot === undefined) {
    const where = given === undefined || given === '' ? target.sysroots[0]! : given;
    return {
      problem: `${first.name} is a dynamic ${architecture} executable, and its loader ${first.interpreter} is not in ${where}: qemu cannot start it without the ${architecture} C library`,
      hint: install,
    };
  }
  const folders = libraryDirectories(sysroot, target.triplet);
  for (const binary of dynamic) {
    const missing: string[] = [];
    for (const library of await neededLibraries(binary.file).catch(() => [])) {
      if (layerLibraries.has(library)) continue;
      if ((await Promise.all(folders.map((folder) => exists(path.join(folder, library))))).some(Boolean)) continue;
      missing.push(library);
    }
    if (missing.length > 0) {
      return {
        problem: `${binary.name} needs the ${architecture} ${missing.length === 1 ? 'library' : 'libraries'} ${missing.join(', ')}, not found in ${sysroot} or the layer`,
        hint: install,
      };
    }
  }
  return { sysroot };
}
