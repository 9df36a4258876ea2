import { rmSync } from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { elfMachine, hostArchitecture, type Architecture } from '../../layer/architectures.js';
import { CliError } from '../../errors.js';
import { unzippedLimitBytes, unzippedLimitText } from '../../layer/limits.js';
import { cleanupOnExit } from '../processes/supervisor.js';
import type { CpuEmulation } from '../types.js';
import { binfmtDirectory, binfmtHandlerFor, readBinfmtHandlers } from './binfmt.js';
import { findOnPath, findSysroot, qemuInstallHint, targets } from './host-tools.js';
import {
  isExtensionFile,
  isProgram,
  layerArchitecture,
  scanLayerBinaries,
  type LayerBinary,
} from './layer-binaries.js';

/**
 * Running a layer built for the other architecture (arm64 on an x86_64
 * laptop or CI runner, or the reverse) under qemu user-mode emulation.
 *
 * Two ways, the first one found wins:
 * - binfmt_misc: the kernel has a handler for the layer's ELF files (Debian's
 *   qemu-user-binfmt registers them). Every exec of a foreign binary, however
 *   deep (a launcher script exec'ing a bundled node), then just works; nothing
 *   but the loader prefix (QEMU_LD_PREFIX) has to be passed.
 * - explicit: `qemu-<arch>` from PATH. The emulator starts each foreign file of
 *   extensions/ as `qemu-<arch> [-L sysroot] -0 <file> <file>`, so argv[0] and
 *   /proc/self/exe are what Lambda gives. Programs deeper in the layer are
 *   exec'd by the layer itself (TypeScript launchers `exec` a node binary),
 *   and without binfmt the native /bin/sh gets ENOEXEC for them. So, in a
 *   private copy of the layer, each of them is renamed to a hidden name in the
 *   same folder (so that an $ORIGIN run path still finds its libraries) and
 *   replaced by a two-line sh script that execs qemu on it with `-0 "$0"`.
 *   Alternatives were weighed: running the launcher itself under qemu needs a
 *   foreign /bin/sh, which no cross package ships; an LD_PRELOAD exec hook
 *   needs a compiled library; registering binfmt in a private user namespace
 *   needs kernel 6.7+ and unprivileged user namespaces (Ubuntu restricts them).
 *   The wrappers need only sh. Their one seam: such a program's
 *   /proc/self/exe (Node's process.execPath) names the hidden file, so a
 *   program that re-executes itself through it (child_process.fork) fails.
 */

export type EmulationPreference = 'auto' | 'binfmt' | 'qemu' | 'off';
export const emulationPreferences: readonly EmulationPreference[] = ['auto', 'binfmt', 'qemu', 'off'];

/**
 * Limits on what extensions do (the Init limit, their time after an invoke,
 * the Shutdown budget) are multiplied by this under emulation. qemu's JIT
 * runs a Go extension at about native speed once warm, but a Node extension
 * starts 5 to 10 times slower (V8's own JIT output must be translated too);
 * 10 keeps a healthy extension clear of every limit, so no verdict blames the
 * emulator's slowness on the extension.
 */
export const emulatedLimitFactor = 10;

export interface CpuEmulationRequest {
  /** The folder that becomes /opt. */
  layerDirectory: string;
  /** ext dev owns the folder (a zip it unpacked): wrappers may go into it. Else they go into a private copy. */
  ownsLayer: boolean;
  /** How messages name the layer (the path the user gave). */
  shownAs: string;
  /** The function's architecture, when the user gave it (--arch); else it is read from the layer. */
  architecture?: Architecture | undefined;
  preference?: EmulationPreference | undefined;
  /** Where qemu-<arch> is looked for. Default: PATH. */
  searchPath?: string | undefined;
  /** The foreign root filesystem for dynamic programs. Default: QEMU_LD_PREFIX, else the usual places. */
  loaderPrefix?: string | undefined;
  /** Default /proc/sys/fs/binfmt_misc. */
  binfmtDirectory?: string | undefined;
}

export interface PreparedEmulation {
  /** The folder to run: the given one, or a private copy holding wrappers. */
  layerDirectory: string;
  functionArchitecture: Architecture;
  /** Where the architecture came from. */
  architectureSource: 'option' | 'ELF header' | 'file name' | 'host';
  cpuEmulation?: CpuEmulation;
  /** Why a foreign layer runs natively (no qemu): one line with the install hint. */
  warning?: string;
  cleanup(): Promise<void>;
}

const nothingToClean = async (): Promise<void> => {};

/** Decides how the layer runs on this host, and prepares the layer folder for it. */
export async function prepareCpuEmulation(request: CpuEmulationRequest): Promise<PreparedEmulation> {
  const host = hostArchitecture();
  const preference = request.preference ?? 'auto';
  const binaries = await scanLayerBinaries(request.layerDirectory);
  const detected = request.architecture === undefined ? layerArchitecture(binaries, request.shownAs) : undefined;
  const architecture = request.architecture ?? detected?.architecture ?? host;
  const source = request.architecture !== undefined ? 'option' : (detected?.source ?? 'host');
  const native = (warning?: string): PreparedEmulation => ({
    layerDirectory: request.layerDirectory,
    functionArchitecture: host ?? architecture ?? 'x86_64',
    architectureSource: source,
    ...(warning === undefined ? {} : { warning }),
    cleanup: nothingToClean,
  });
  if (host === undefined || architecture === undefined || architecture === host) return native();
  const machine = elfMachine(architecture);
  const programs = binaries.filter((binary) => binary.machine === machine && isProgram(binary));
  // Scripts run on this machine's interpreters whatever the function's architecture: nothing to emulate.
  // The function's architecture still decides which ELF files fail with exec format error.
  if (programs.length === 0) return { ...native(), functionArchitecture: architecture };
  if (preference === 'off') {
    if (request.architecture !== undefined) {
      throw new CliError(
        `--arch ${architecture}: this ${host} machine cannot run ${architecture} binaries with --emulation off`,
        {
          code: 'E_EMULATOR_EMULATION_OFF',
          exitCode: 2,
          hint: `drop --emulation off to run them under qemu, or pass --arch ${host}`,
        },
      );
    }
    return native();
  }

  const target = targets[architecture];
  const handler =
    preference === 'qemu'
      ? undefined
      : binfmtHandlerFor(await readBinfmtHandlers(request.binfmtDirectory ?? binfmtDirectory), architecture);
  if (handler === undefined && preference === 'binfmt') {
    throw new CliError(
      `--emulation binfmt: no enabled binfmt_misc handler runs ${architecture} ELF files on this machine`,
      {
        code: 'E_EMULATOR_BINFMT_MISSING',
        hint: `install qemu-user-binfmt (Debian/Ubuntu: sudo apt-get install qemu-user-binfmt), or pass --emulation qemu`,
      },
    );
  }
  const qemu =
    handler === undefined
      ? await findOnPath(target.emulators, request.searchPath ?? process.env['PATH'] ?? '')
      : undefined;
  if (handler === undefined && qemu === undefined) {
    return native(cannotEmulate(request, { architecture, host, source, preference }));
  }
  const mode = handler === undefined ? 'qemu' : 'binfmt';
  const emulator = handler?.interpreter ?? qemu!;
  // A binfmt handler other than qemu (box64, FEX...) finds its libraries its own way.
  const usesQemu = mode === 'qemu' || /qemu/i.test(path.basename(emulator));
  const sysroot = usesQemu ? await sysrootFor(request, architecture, binaries, programs) : undefined;
  const cpuEmulation: CpuEmulation = {
    architecture,
    hostArchitecture: host,
    mode,
    emulator,
    ...(sysroot === undefined ? {} : { sysroot }),
    limitFactor: emulatedLimitFactor,
  };
  return wrapNested(request, mode === 'qemu' ? programs.filter((binary) => !isExtensionFile(binary)) : [], {
    functionArchitecture: architecture,
    architectureSource: source,
    cpuEmulation,
  });
}

/** No qemu and no binfmt handler: an error when emulation was asked for, else the warning of a native run. */
function cannotEmulate(
  request: CpuEmulationRequest,
  {
    architecture,
    host,
    source,
    preference,
  }: { architecture: Architecture; host: Architecture; source: string; preference: EmulationPreference },
): string {
  const missing = `no ${targets[architecture].emulators[0]} on PATH and no binfmt_misc handler for ${architecture}`;
  if (request.architecture !== undefined || preference === 'qemu') {
    throw new CliError(`cannot run ${architecture} binaries on this ${host} machine: ${missing}`, {
      code: 'E_EMULATOR_QEMU_MISSING',
      hint: qemuInstallHint(architecture),
    });
  }
  return `${request.shownAs} is an ${architecture} layer (from its ${source}), and this ${host} machine cannot emulate it (${missing}), so it runs natively and fails as on an ${host} function; to run it under emulation, ${qemuInstallHint(architecture)}`;
}

/** The foreign root filesystem qemu needs for the layer's dynamic programs, if it has any. */
async function sysrootFor(
  request: CpuEmulationRequest,
  architecture: Architecture,
  binaries: LayerBinary[],
  programs: LayerBinary[],
): Promise<string | undefined> {
  const dynamic = programs.filter((binary) => binary.interpreter !== undefined);
  if (dynamic.length === 0) return undefined;
  const libraries = new Set(binaries.map((binary) => path.posix.basename(binary.name)));
  const found = await findSysroot(
    architecture,
    dynamic,
    libraries,
    request.loaderPrefix ?? process.env['QEMU_LD_PREFIX'],
  );
  if ('problem' in found) throw new CliError(found.problem, { code: 'E_EMULATOR_SYSROOT_MISSING', hint: found.hint });
  return found.sysroot;
}

/**
 * Programs of the layer that an extension starts (not the extension files themselves) run under qemu
 * only when wrapped; in a folder we do not own, the wrapping goes into a private copy.
 */
async function wrapNested(
  request: CpuEmulationRequest,
  nested: LayerBinary[],
  prepared: Omit<PreparedEmulation, 'layerDirectory' | 'cleanup'> & { cpuEmulation: CpuEmulation },
): Promise<PreparedEmulation> {
  if (nested.length === 0) return { layerDirectory: request.layerDirectory, ...prepared, cleanup: nothingToClean };
  const copy = request.ownsLayer ? undefined : await privateCopy(request.layerDirectory);
  const layerDirectory = copy?.directory ?? request.layerDirectory;
  try {
    for (const binary of nested) {
      await wrapProgram(path.join(layerDirectory, ...binary.name.split('/')), prepared.cpuEmulation);
    }
  } catch (error) {
    await copy?.cleanup();
    throw error;
  }
  return { layerDirectory, ...prepared, cleanup: copy?.cleanup ?? nothingToClean };
}

/** A copy of a layer folder we do not own (the user's, or the build's output), removed on exit too. */
async function privateCopy(layerDirectory: string): Promise<{ directory: string; cleanup(): Promise<void> }> {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'ext-dev-emulated-'));
  const forget = cleanupOnExit(() => rmSync(directory, { recursive: true, force: true }));
  const cleanup = async () => {
    await fs.rm(directory, { recursive: true, force: true });
    forget();
  };
  try {
    const plan = await planLayerCopy(layerDirectory);
    for (const folder of plan.folders) await fs.mkdir(path.join(directory, folder), { recursive: true });
    for (const { name, mode } of plan.files) {
      // A reflink where the filesystem can (a bundled node is 100 MB), a plain copy elsewhere.
      await fs.copyFile(path.join(layerDirectory, name), path.join(directory, name), fsConstants.COPYFILE_FICLONE);
      await fs.chmod(path.join(directory, name), mode & 0o7777);
    }
    for (const { name, target } of plan.links) await fs.symlink(target, path.join(directory, name));
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { directory, cleanup };
}

interface LayerCopyPlan {
  folders: string[];
  files: { name: string; mode: number }[];
  links: { name: string; target: string }[];
}

/**
 * What a private copy of a layer folder holds, checked before anything is copied: only what a layer zip
 * can hold (files, folders, symbolic links, kept verbatim), and no more bytes than Lambda's
 * unzipped limit, counted by apparent size, so a sparse file cannot fill the temporary folder with zeros.
 */
export async function planLayerCopy(layerDirectory: string, limitBytes = unzippedLimitBytes): Promise<LayerCopyPlan> {
  const plan: LayerCopyPlan = { folders: [], files: [], links: [] };
  let bytes = 0;
  const pending = [''];
  while (pending.length > 0) {
    const folder = pending.pop()!;
    for (const name of (await fs.readdir(path.join(layerDirectory, folder))).sort()) {
      const relative = folder === '' ? name : `${folder}/${name}`;
      const absolute = path.join(layerDirectory, relative);
      const info = await fs.lstat(absolute);
      if (info.isDirectory()) {
        plan.folders.push(relative);
        pending.push(relative);
      } else if (info.isSymbolicLink()) {
        plan.links.push({ name: relative, target: await fs.readlink(absolute) });
      } else if (info.isFile()) {
        bytes += info.size;
        if (bytes > limitBytes)
          throw new CliError(
            `--layer: ${layerDirectory} holds more than ${limitBytes} bytes of files (at ${absolute}), over Lambda's ${unzippedLimitText} unzipped limit`,
            { code: 'E_LAYER_TOO_LARGE', hint: 'trim the layer; Lambda refuses it too' },
          );
        plan.files.push({ name: relative, mode: info.mode });
      } else {
        throw new CliError(
          `--layer: ${absolute} is ${specialFileKind(info)}, which no layer can hold (a layer zip keeps files, folders and links)`,
          { code: 'E_EMULATOR_SPECIAL_FILE', hint: `remove it from the layer folder` },
        );
      }
    }
  }
  return plan;
}

function specialFileKind(info: { isFIFO(): boolean; isSocket(): boolean; isBlockDevice(): boolean }): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  return info.isBlockDevice() ? 'a block device' : 'a character device';
}

const shellQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/** The name the original program takes, next to its wrapper. */
export function hiddenProgramName(name: string, architecture: Architecture): string {
  return `.${name}.ext-dev-${architecture}`;
}

/** The sh script that stands in for a foreign program: qemu runs the original, with the argv[0] it was exec'd with. */
export function wrapperScript(hiddenFile: string, emulation: CpuEmulation): string {
  const loader = emulation.sysroot === undefined ? '' : ` -L ${shellQuote(emulation.sysroot)}`;
  return [
    '#!/bin/sh',
    `# ext dev: an ${emulation.architecture} program, run under qemu on this ${emulation.hostArchitecture} host (the original is hidden next to this file)`,
    `exec ${shellQuote(emulation.emulator)}${loader} -0 "$0" ${shellQuote(hiddenFile)} "$@"`,
    '',
  ].join('\n');
}

async function wrapProgram(file: string, emulation: CpuEmulation): Promise<void> {
  const stat = await fs.lstat(file);
  const hidden = path.join(path.dirname(file), hiddenProgramName(path.basename(file), emulation.architecture));
  await fs.rename(file, hidden);
  await fs.writeFile(file, wrapperScript(hidden, emulation), { flag: 'wx', mode: 0o700 });
  await fs.chmod(file, stat.mode & 0o7777);
}

/**
 * How the emulator starts one file of extensions/: through qemu when it is a
 * foreign ELF file and no binfmt handler runs it; undefined to exec it as is.
 */
export async function emulatedLaunch(
  file: string,
  emulation: CpuEmulation | undefined,
): Promise<{ command: string; args: string[] } | undefined> {
  if (emulation?.mode !== 'qemu') return undefined;
  const handle = await fs.open(file, 'r').catch(() => undefined);
  if (handle === undefined) return undefined;
  const head = Buffer.alloc(20);
  try {
    await handle.read(head, 0, 20, 0);
  } finally {
    await handle.close();
  }
  const isElf = head.toString('latin1', 0, 4) === '\x7fELF';
  if (!isElf || head.readUInt16LE(18) !== elfMachine(emulation.architecture)) return undefined;
  const loader = emulation.sysroot === undefined ? [] : ['-L', emulation.sysroot];
  return { command: emulation.emulator, args: [...loader, '-0', file, file] };
}

/** What the extension processes get on top of Lambda's environment: the loader prefix for a binfmt-started qemu. */
export function emulationEnvironment(emulation: CpuEmulation | undefined): Record<string, string> {
  if (emulation?.mode !== 'binfmt' || emulation.sysroot === undefined) return {};
  return { QEMU_LD_PREFIX: emulation.sysroot };
}

/** The timeline's note: what runs how, and that its durations are not Lambda's. */
export function emulationNote(emulation: CpuEmulation): string {
  const how =
    emulation.mode === 'binfmt'
      ? `through the kernel's binfmt_misc handler ${emulation.emulator}`
      : `under ${emulation.emulator}, started by ext dev`;
  return (
    `EMULATION ${emulation.architecture} layer on an ${emulation.hostArchitecture} host: its programs run ${how}. ` +
    `Durations and memory are the emulator's, not Lambda's; the Init limit, extensions' time after an invoke ` +
    `and the Shutdown budget are ×${emulation.limitFactor}`
  );
}

export type { LayerBinary };
export { binfmtHandlerFor, parseBinfmtHandler, readBinfmtHandlers } from './binfmt.js';
export { isProgram, layerArchitecture, neededLibraries, scanLayerBinaries } from './layer-binaries.js';
