import path from 'node:path';
import { formatBytes } from './format.js';
import { architectureOfElfMachine, elfMachine, type Architecture } from './architectures.js';
import { elfMachineName, elfTypeName, elfTypes, isElf, parseElf, type ElfInfo } from './elf.js';
import { CliError, errorMessage } from './errors.js';
import { LayerLinks, pathComponents, unusableNameProblem } from './layer-links.js';
import {
  checkEntryData,
  declaredUncompressedBytes,
  isDirectoryEntry,
  isExecutableEntry,
  isSymlinkEntry,
  localHeaderMismatches,
  overlappingEntries,
  platformName,
  readZip,
  readZipFile,
  unixMode,
  ZipFormatError,
  type ZipArchive,
  type ZipEntry,
} from './zip-reader.js';

/** Lambda's documented limits (MiB, as AWS counts them). */
export const zippedLimitBytes = 50 * 1024 * 1024;
export const unzippedLimitBytes = 250 * 1024 * 1024;
export const maximumExtensions = 10;
/** Above this share of a limit we warn. */
export const limitWarningRatio = 0.8;

export type FindingSeverity = 'error' | 'warning';

export interface InspectFinding {
  severity: FindingSeverity;
  /** Stable and kebab-case, for scripts that filter findings. */
  code: string;
  path?: string;
  message: string;
}

export interface InspectedExtension {
  /** The file name under extensions/, which is also the name it must register with. */
  name: string;
  kind: 'elf' | 'script' | 'symlink' | 'other';
  /** The shebang interpreter, or the ELF dynamic linker. */
  interpreter?: string;
  /** Layer paths the launcher script runs, resolved against /opt. */
  targets?: string[];
}

export interface InspectReport {
  zipPath: string;
  ok: boolean;
  errors: number;
  warnings: number;
  architecture?: Architecture;
  architectureSource?: 'option' | 'file name' | 'ELF header';
  /**
   * Entries in the zip: always `files + directories`. Folders that only
   * appear in paths (zips made without folder entries) are `impliedDirectories`.
   */
  entries: number;
  /** File entries, symbolic links included, duplicates counted. */
  files: number;
  /** Folder entries. */
  directories: number;
  /** Folders that unpack from paths alone, with no entry of their own (Info-ZIP -D, SAM, many JS tools). */
  impliedDirectories: number;
  extensions: InspectedExtension[];
  zippedBytes: number;
  unzippedBytes: number;
  findings: InspectFinding[];
}

export interface InspectOptions {
  /** The target architecture; inferred from the file name or the first ELF when absent. */
  architecture?: Architecture;
}

/** Reads and checks a layer zip. Throws CliError only when the file is not a readable zip. */
export async function inspect(zipPath: string, options: InspectOptions = {}): Promise<InspectReport> {
  // Bounded: refuses devices, FIFOs and files larger than any layer zip can be.
  const buffer = await readZipFile(zipPath);
  return inspectZipBuffer(buffer, zipPath, options);
}

/** Same as `inspect`, on bytes already in memory (ext pack verifies its temp file with this). */
export function inspectZipBuffer(buffer: Buffer, zipPath: string, options: InspectOptions = {}): InspectReport {
  let archive: ZipArchive;
  try {
    archive = readZip(buffer);
  } catch (error) {
    if (error instanceof ZipFormatError) {
      throw new CliError(`${zipPath} is not a readable zip file: ${error.message}`, {
        hint: 'check that the download or build finished; ext pack writes a fresh layer zip',
      });
    }
    throw error;
  }
  return new LayerInspection(buffer, archive, zipPath, options).run();
}

const architectureInName = /(?:^|[-_.])(x86_64|x86-64|amd64|arm64|aarch64)(?=[-_.]|$)/i;

export function architectureFromFileName(fileName: string): Architecture | undefined {
  const match = architectureInName.exec(path.basename(fileName));
  if (match === null) return undefined;
  const word = match[1]!.toLowerCase();
  return word === 'arm64' || word === 'aarch64' ? 'arm64' : 'x86_64';
}

/**
 * What inspect keeps of each entry's bytes: memory must stay bounded whatever
 * the zip, so files are inflated one at a time and only their first bytes are
 * kept, enough for ELF and program headers, shebang lines and launcher scripts.
 */
const extensionHeadBytes = 64 * 1024;
const otherHeadBytes = 1024;
const elfHeadBytes = 64 * 1024;
const linkTargetBytes = 4096;

interface FileEntry {
  entry: ZipEntry;
  /** The first bytes of the file (all of it when small); absent when it could not be read. */
  head?: Buffer;
  /** The inflated size, when the entry could be read. */
  size?: number;
  isElf: boolean;
  elf?: ElfInfo;
}

class LayerInspection {
  private readonly findings: InspectFinding[] = [];
  private readonly files = new Map<string, FileEntry>();
  /** Every folder the zip unpacks to, with or without its own entry ("a/b", no trailing slash). */
  private readonly directoryNames = new Set<string>();
  private readonly explicitDirectoryNames = new Set<string>();
  private fileEntries = 0;
  private directoryEntries = 0;
  private architecture: Architecture | undefined;
  private architectureSource: InspectReport['architectureSource'];
  private readonly extensions: InspectedExtension[] = [];
  /** Paths that already have an ELF finding, so each ELF file is reported once (kept in a set: linear time). */
  private readonly elfFindingPaths = new Set<string>();
  /** Off when the declared sizes are over the limit: nothing is inflated then. */
  private inflate = true;
  private readonly unsafeEntries = new Set<ZipEntry>();

  constructor(
    private readonly buffer: Buffer,
    private readonly archive: ZipArchive,
    private readonly zipPath: string,
    private readonly options: InspectOptions,
  ) {}

  private add(severity: FindingSeverity, code: string, message: string, entryPath?: string): void {
    if (entryPath !== undefined && code.startsWith('elf-')) this.elfFindingPaths.add(entryPath);
    this.findings.push(
      entryPath === undefined ? { severity, code, message } : { severity, code, path: entryPath, message },
    );
  }

  run(): InspectReport {
    this.checkStructure();
    this.checkEntries();
    this.checkLinks();
    this.chooseArchitecture();
    const extensionFiles = this.checkLayout();
    extensionFiles.sort((a, b) => (a.entry.name < b.entry.name ? -1 : a.entry.name > b.entry.name ? 1 : 0));
    for (const file of extensionFiles) this.checkExtension(file);
    this.checkOtherElfFiles(new Set(extensionFiles.map((file) => file.entry.name)));
    const unzippedBytes = this.checkSizes();
    const errors = this.findings.filter((finding) => finding.severity === 'error').length;
    return {
      zipPath: this.zipPath,
      ok: errors === 0,
      errors,
      warnings: this.findings.length - errors,
      ...(this.architecture === undefined
        ? {}
        : { architecture: this.architecture, architectureSource: this.architectureSource }),
      entries: this.archive.entries.length,
      files: this.fileEntries,
      directories: this.directoryEntries,
      impliedDirectories: [...this.directoryNames].filter((name) => !this.explicitDirectoryNames.has(name)).length,
      extensions: this.extensions,
      zippedBytes: this.archive.byteLength,
      unzippedBytes,
      findings: this.findings,
    };
  }

  /**
   * What can be checked without inflating anything: entries sharing bytes,
   * local headers contradicting the central directory, and declared sizes. A
   * zip declaring more than Lambda's limit is not inflated at all, so no zip
   * costs more than 250 MB of inflation to inspect.
   */
  private checkStructure(): void {
    for (const { entry, overlaps } of overlappingEntries(this.archive)) {
      this.unsafeEntries.add(entry);
      this.add(
        'error',
        'overlapping-entries',
        `the entry shares its bytes with ${overlaps}: a zip bomb or a corrupt zip, which unzip tools unpack differently`,
        entry.name,
      );
    }
    for (const entry of this.archive.entries) {
      const mismatches = localHeaderMismatches(entry);
      if (mismatches.length === 0) continue;
      this.unsafeEntries.add(entry);
      this.add(
        'error',
        'local-header-mismatch',
        `the local header disagrees with the central directory (${mismatches.join(', ')}), so tools unpack different files from this zip`,
        entry.name,
      );
    }
    if (declaredUncompressedBytes(this.archive) > unzippedLimitBytes) this.inflate = false;
  }

  /** Reads one file entry, keeping only its first bytes; reports unreadable and corrupt data. */
  private readEntryHead(file: FileEntry): void {
    const { entry } = file;
    if (!this.inflate || this.unsafeEntries.has(entry)) return;
    const symlink = isSymlinkEntry(entry);
    if (symlink && entry.uncompressedSize > linkTargetBytes) {
      this.add('error', 'unreadable-entry', `the symbolic link's target is over ${linkTargetBytes} bytes`, entry.name);
      return;
    }
    try {
      const checked = checkEntryData(this.buffer, entry, Math.max(elfHeadBytes, extensionHeadBytes));
      if (!checked.crcMatches) {
        this.add('error', 'crc-mismatch', 'the data does not match its CRC-32: the zip is corrupt', entry.name);
        return;
      }
      file.size = checked.size;
      let head = checked.head;
      if (!symlink && isElf(head)) {
        file.isElf = true;
        try {
          const elf = parseElf(head, checked.size);
          if (elf !== undefined) file.elf = elf;
        } catch (error) {
          this.add('error', 'elf-damaged', `the ELF file is damaged: ${errorMessage(error)}`, entry.name);
        }
      }
      const keep = symlink
        ? linkTargetBytes
        : /^extensions\/[^/]+$/.test(entry.name)
          ? extensionHeadBytes
          : otherHeadBytes;
      if (head.length > keep) head = Buffer.from(head.subarray(0, keep));
      file.head = head;
    } catch (error) {
      this.add('error', 'unreadable-entry', `cannot read the entry: ${errorMessage(error)}`, entry.name);
    }
  }

  /**
   * Links are resolved over the archive's own tree, through chains of links:
   * a link that leaves the layer (or a path that runs through a link) is an
   * error, as unzip tools either refuse it or write outside the folder.
   */
  private checkLinks(): void {
    const targets = new Map<string, string>();
    const linkNames = new Map<string, string>();
    for (const file of this.files.values()) {
      if (!isSymlinkEntry(file.entry) || file.head === undefined) continue;
      const normalized = pathComponents(file.entry.name).join('/');
      targets.set(normalized, file.head.toString('utf8'));
      linkNames.set(normalized, file.entry.name);
    }
    if (targets.size === 0) return;
    const links = new LayerLinks(targets);
    for (const entry of this.archive.entries) {
      const above = links.linkAbove(entry.name);
      if (above !== undefined) {
        this.add(
          'error',
          'path-through-symlink',
          `the path runs through the symbolic link "${linkNames.get(above) ?? above}", so unpacking it writes wherever that link leads`,
          entry.name,
        );
      }
    }
    for (const [normalized, target] of targets) {
      const name = linkNames.get(normalized)!;
      const resolution = links.resolve(normalized);
      if (resolution.kind === 'inside') {
        this.add(
          'warning',
          'symlink',
          `the entry is a symbolic link to "${target}"; make sure the target exists at run time (Lambda's own tools rarely write links)`,
          name,
        );
      } else if (resolution.kind === 'loop') {
        this.add('error', 'symlink-loop', `the symbolic link to "${target}" is part of a loop of links`, name);
      } else {
        const extension = /^extensions\/[^/]+$/.test(normalized);
        this.add(
          'error',
          'symlink-outside-layer',
          `the entry is a symbolic link to "${target}", which leads outside the layer${extension ? ': the extension Lambda starts would not be part of it' : ''}; unzip tools refuse such links or write outside the folder`,
          name,
        );
      }
    }
  }

  /** Path safety, duplicates, macOS litter, CRCs; collects files and directories. */
  private checkEntries(): void {
    const seen = new Set<string>();
    const macosLitter: string[] = [];
    for (const entry of this.archive.entries) {
      const name = entry.name;
      if (seen.has(name))
        this.add(
          'error',
          'duplicate-entry',
          'the zip holds this path twice; which copy Lambda unpacks is undefined',
          name,
        );
      seen.add(name);
      if (name.includes('\\')) {
        this.add(
          'error',
          'backslash-path',
          'the path contains a backslash: the zip was made on Windows with a tool that does not write "/" separators, so Linux unpacks a file whose name contains "\\" instead of a folder',
          name,
        );
      }
      if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) {
        this.add('error', 'absolute-path', 'the path is absolute; layer paths must be relative to /opt', name);
      }
      if (name.split(/[/\\]/).includes('..')) {
        this.add('error', 'parent-path', 'the path contains ".." and would unpack outside /opt (or be refused)', name);
      }
      const unusable = unusableNameProblem(name);
      if (unusable !== undefined) this.add('error', unusable.code, unusable.message, name);
      const segments = name.split('/');
      if (segments[0] === '__MACOSX' || segments.includes('.DS_Store')) macosLitter.push(name);
      // Parent folders exist even when the zip has no entries for them; the empty
      // prefix of an absolute path ("/a/b") is not a folder.
      for (let index = 1; index < segments.length; index++) {
        const parent = segments.slice(0, index).join('/');
        if (parent !== '') this.directoryNames.add(parent);
      }
      if (isDirectoryEntry(entry)) {
        this.directoryEntries++;
        const folder = name.replace(/\/+$/, '');
        this.directoryNames.add(folder);
        this.explicitDirectoryNames.add(folder);
        continue;
      }
      this.fileEntries++;
      const file: FileEntry = { entry, isElf: false };
      this.files.set(name, file);
      this.readEntryHead(file);
    }
    if (macosLitter.length > 0) {
      this.add(
        'warning',
        'macos-metadata',
        `${macosLitter.length} macOS metadata ${macosLitter.length === 1 ? 'entry (__MACOSX/, .DS_Store) ends' : 'entries (__MACOSX/, .DS_Store) end'} up in /opt; zip with "zip -r -X" or exclude them`,
        macosLitter[0],
      );
    }
  }

  private chooseArchitecture(): void {
    if (this.options.architecture !== undefined) {
      this.architecture = this.options.architecture;
      this.architectureSource = 'option';
      return;
    }
    const fromName = architectureFromFileName(this.zipPath);
    if (fromName !== undefined) {
      this.architecture = fromName;
      this.architectureSource = 'file name';
      return;
    }
    // Extensions first: they decide what the layer is for.
    const elfFiles = [...this.files.values()].filter((file) => file.elf !== undefined);
    elfFiles.sort(
      (a, b) => Number(!a.entry.name.startsWith('extensions/')) - Number(!b.entry.name.startsWith('extensions/')),
    );
    for (const file of elfFiles) {
      const architecture = architectureOfElfMachine(file.elf!.machine);
      if (architecture !== undefined) {
        this.architecture = architecture;
        this.architectureSource = 'ELF header';
        return;
      }
    }
  }

  /** Returns the files Lambda will start: regular files directly under extensions/. */
  private checkLayout(): FileEntry[] {
    const names = [...this.files.keys()];
    const extensionFiles = [...this.files.values()].filter((file) => /^extensions\/[^/]+$/.test(file.entry.name));
    const hasFolder = this.directoryNames.has('extensions');
    if (!hasFolder) {
      const wrapped = names.find((name) => /^(.+?)\/extensions\/[^/]+$/.test(name));
      const misspelled = [...this.directoryNames].find((name) => !name.includes('/') && /^extensions?$/i.test(name));
      if (wrapped !== undefined) {
        const wrapper = wrapped.slice(0, wrapped.lastIndexOf('/extensions/'));
        this.add(
          'error',
          'wrapped-extensions-dir',
          `extensions/ sits inside "${wrapper}/": Lambda unpacks it to /opt/${wrapper}/extensions, where nothing is started; zip the contents of ${wrapper}/ instead (cd ${wrapper} && zip -r ../layer.zip .)`,
          wrapped,
        );
      } else if (misspelled !== undefined) {
        this.add(
          'error',
          'missing-extensions-dir',
          `there is no top-level extensions/ folder, only "${misspelled}/"; Lambda starts only files in /opt/extensions (exact spelling, lower case)`,
          `${misspelled}/`,
        );
      } else {
        this.add(
          'error',
          'missing-extensions-dir',
          'there is no top-level extensions/ folder, so Lambda starts nothing from this layer; put the executable at extensions/<name>',
        );
      }
      return [];
    }
    if (extensionFiles.length === 0) {
      this.add(
        'error',
        'empty-extensions-dir',
        'extensions/ holds no files, so Lambda starts nothing from this layer; put the executable at extensions/<name>',
        'extensions/',
      );
    }
    if (extensionFiles.length > maximumExtensions) {
      this.add(
        'error',
        'too-many-extensions',
        `extensions/ holds ${extensionFiles.length} files; Lambda starts at most ${maximumExtensions} extensions per function (all layers together)`,
        'extensions/',
      );
    }
    const nested = [...this.directoryNames].filter((name) => /^extensions\/[^/]+$/.test(name));
    for (const folder of nested.sort()) {
      this.add(
        'warning',
        'nested-extension-dir',
        `Lambda does not start anything inside folders under extensions/; move executables up to extensions/<name>`,
        `${folder}/`,
      );
    }
    return extensionFiles;
  }

  private checkExtension(file: FileEntry): void {
    const name = file.entry.name;
    const extension: InspectedExtension = { name: name.slice('extensions/'.length), kind: 'other' };
    this.extensions.push(extension);
    if (isSymlinkEntry(file.entry)) {
      extension.kind = 'symlink';
      return;
    }
    this.checkExecutable(
      file.entry,
      'Lambda starts every file in /opt/extensions, so this one fails with "permission denied" (Extension.LaunchError)',
    );
    const data = file.head;
    if (data === undefined) return;
    if (file.elf !== undefined) {
      extension.kind = 'elf';
      if (file.elf.interpreter !== undefined) extension.interpreter = file.elf.interpreter;
      this.checkNativeExecutable(name, file.elf);
      return;
    }
    if (file.isElf) return; // damaged ELF, already reported
    if (data.subarray(0, 2).toString('latin1') !== '#!') {
      const format = binaryFormatName(data);
      if (format !== undefined) {
        this.add(
          'error',
          'not-linux-executable',
          `this is a ${format}, which Linux cannot run; build for Linux (GOOS=linux)`,
          name,
        );
      } else {
        this.add(
          'error',
          'missing-shebang',
          'the file is neither an ELF binary nor a script starting with "#!", so the kernel cannot run it (exec format error)',
          name,
        );
      }
      return;
    }
    extension.kind = 'script';
    const script = data.toString('utf8');
    const shebang = checkScriptText(script, name, this.add.bind(this));
    extension.interpreter = shebang.interpreter;
    let needsNode = shebang.program === 'node';
    let targets: LauncherTarget[];
    try {
      targets = launcherTargets(script, name);
    } catch (error) {
      if (!(error instanceof LauncherTooComplexError)) throw error;
      this.add(
        'warning',
        'launcher-not-analysed',
        `could not analyse the launcher (${error.message}); check by hand that what it runs is in the layer`,
        name,
      );
      targets = [];
    }
    const resolved: string[] = [];
    for (const target of targets) {
      if (target.path === undefined) {
        this.add(
          'warning',
          'launcher-target-unresolved',
          `line ${target.line} runs a path this check cannot resolve (${target.text.trim()}); make sure it exists in the layer`,
          name,
        );
        continue;
      }
      resolved.push(target.path);
      if (target.interpreter === 'node') needsNode = true;
      needsNode = this.checkLauncherTarget(name, target) || needsNode;
    }
    if (resolved.length > 0) extension.targets = resolved;
    if (needsNode) {
      this.add(
        'warning',
        'needs-node-runtime',
        'the extension runs "node" from PATH, which only the Node.js managed runtimes provide; with other runtimes it fails with "node: not found"',
        name,
      );
    }
  }

  /** Returns whether the target itself needs node (a `#!/usr/bin/env node` script). */
  private checkLauncherTarget(launcher: string, target: LauncherTarget): boolean {
    const targetPath = target.path!;
    const file = this.files.get(targetPath);
    if (file === undefined) {
      const what = this.directoryNames.has(targetPath) ? 'is a folder, not a file' : 'is not in the zip';
      this.add(
        'error',
        'launcher-target-missing',
        `line ${target.line} runs /opt/${targetPath}, which ${what}`,
        launcher,
      );
      return false;
    }
    if (!target.direct) return false;
    // Run directly, the target needs its own exec bit and a valid first line.
    this.checkExecutable(file.entry, `${launcher} runs it directly, so it fails with "permission denied"`);
    if (file.head === undefined || file.isElf) {
      if (file.elf !== undefined) this.checkNativeExecutable(targetPath, file.elf);
      return false;
    }
    const shebang = checkScriptText(file.head.toString('utf8'), targetPath, this.add.bind(this));
    return shebang.program === 'node';
  }

  private checkExecutable(entry: ZipEntry, consequence: string): void {
    const executable = isExecutableEntry(entry);
    if (executable === true) return;
    if (executable === undefined) {
      this.add(
        'error',
        'no-unix-permissions',
        `the zip was made by ${platformName(entry.platform)} and records no Unix permissions, so the file unpacks without the execute bit; ${consequence}. Re-zip on Linux or macOS (or with ext pack)`,
        entry.name,
      );
      return;
    }
    const mode = (unixMode(entry) ?? 0) & 0o7777;
    this.add(
      'error',
      'not-executable',
      `mode ${mode.toString(8).padStart(4, '0')} has no execute bit; ${consequence}. chmod 0755 it before zipping`,
      entry.name,
    );
  }

  private checkNativeExecutable(name: string, elf: ElfInfo): void {
    this.checkElfMachine(name, elf);
    if (elf.type !== elfTypes.executable && elf.type !== elfTypes.sharedObject) {
      this.add('error', 'elf-not-executable', `the ELF file is ${elfTypeName(elf.type)}, not an executable`, name);
    }
    if (elf.interpreter !== undefined) {
      const glibc = /ld-linux|ld64\.so|ld\.so/.test(elf.interpreter) && !/musl/.test(elf.interpreter);
      const advice = glibc
        ? 'it needs a glibc new enough on Lambda (GLIBC_x.y not found otherwise); for Go build with CGO_ENABLED=0 for a static binary'
        : 'make sure it exists on Lambda, or link statically (for Go: CGO_ENABLED=0)';
      this.add('warning', 'elf-dynamic', `dynamically linked with interpreter ${elf.interpreter}: ${advice}`, name);
    }
  }

  private checkElfMachine(name: string, elf: ElfInfo): void {
    if (elf.bits !== 64)
      this.add(
        'error',
        'elf-not-64-bit',
        `the ELF file is ${elf.bits}-bit (${elfMachineName(elf.machine)}); Lambda runs 64-bit x86-64 and AArch64 only`,
        name,
      );
    if (elf.endianness !== 'little')
      this.add(
        'error',
        'elf-big-endian',
        'the ELF file is big-endian; Lambda runs little-endian x86-64 and AArch64 only',
        name,
      );
    if (this.architecture === undefined) {
      if (architectureOfElfMachine(elf.machine) === undefined && elf.bits === 64) {
        this.add(
          'error',
          'elf-wrong-machine',
          `the ELF file is for ${elfMachineName(elf.machine)}; Lambda runs x86-64 (x86_64) and AArch64 (arm64)`,
          name,
        );
      }
      return;
    }
    if (elf.machine === elfMachine(this.architecture)) return;
    const actual = architectureOfElfMachine(elf.machine);
    if (this.architectureSource === 'ELF header' && actual !== undefined) {
      this.add(
        'error',
        'mixed-architectures',
        `the ELF file is for ${actual} but other binaries in the zip are for ${this.architecture}; one layer zip serves one architecture`,
        name,
      );
      return;
    }
    const source = this.architectureSource === 'option' ? '--arch' : 'the zip file name';
    this.add(
      'error',
      'elf-wrong-machine',
      `the ELF file is for ${elfMachineName(elf.machine)}${actual === undefined ? '' : ` (${actual})`}, but ${source} says ${this.architecture}; on an ${this.architecture} function it fails with "exec format error"`,
      name,
    );
  }

  private checkOtherElfFiles(extensionNames: Set<string>): void {
    for (const file of this.files.values()) {
      if (file.elf === undefined || extensionNames.has(file.entry.name)) continue;
      if (this.elfFindingPaths.has(file.entry.name)) continue;
      this.checkElfMachine(file.entry.name, file.elf);
    }
  }

  private checkSizes(): number {
    // Declared sizes of every file entry (duplicates too: they are errors anyway), so a zip
    // that was not inflated because of its size still reports it.
    let unzipped = 0;
    for (const entry of this.archive.entries) if (!isDirectoryEntry(entry)) unzipped += entry.uncompressedSize;
    const zipped = this.archive.byteLength;
    const check = (
      bytes: number,
      limit: number,
      code: string,
      what: string,
      overLimit: FindingSeverity,
      advice: string,
    ): void => {
      if (bytes > limit) {
        this.add(
          overLimit,
          `${code}-too-large`,
          `${what} is ${formatBytes(bytes)}, over Lambda's ${formatBytes(limit)} limit; ${advice}`,
        );
      } else if (bytes > limit * limitWarningRatio) {
        this.add(
          'warning',
          `${code}-near-limit`,
          `${what} is ${formatBytes(bytes)}, ${Math.round((bytes / limit) * 100)}% of Lambda's ${formatBytes(limit)} limit`,
        );
      }
    };
    // Over 50 MB the zip still works, uploaded through S3 instead of directly; over 250 MB nothing works.
    check(
      zipped,
      zippedLimitBytes,
      'zip',
      'the zip (direct upload)',
      'warning',
      'publish it from S3 (publish-layer-version --content S3Bucket=...,S3Key=...)',
    );
    check(
      unzipped,
      unzippedLimitBytes,
      'unzipped',
      'the unzipped layer (counted with the function and all other layers)',
      'error',
      'trim the layer (strip binaries, drop unused files)',
    );
    return unzipped;
  }
}

function binaryFormatName(data: Buffer): string | undefined {
  if (data.length >= 4) {
    const magic = data.readUInt32BE(0);
    if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(magic)) return 'macOS Mach-O binary';
  }
  if (data.length >= 2 && data[0] === 0x4d && data[1] === 0x5a) return 'Windows executable (PE)';
  return undefined;
}

interface ShebangInfo {
  interpreter?: string;
  /** The program the shebang runs, with /usr/bin/env resolved: "node", "sh", "bash"... */
  program?: string;
}

/** Shebang and line-ending checks shared by launchers and the scripts they run. */
function checkScriptText(
  script: string,
  name: string,
  add: (severity: FindingSeverity, code: string, message: string, entryPath?: string) => void,
): ShebangInfo {
  const lines = script.split('\n');
  const lineWithCarriageReturn = lines.findIndex((line) => line.includes('\r'));
  if (lineWithCarriageReturn !== -1) {
    const line = lines[lineWithCarriageReturn]!;
    const crlf = line.endsWith('\r');
    const shown = JSON.stringify(line.length > 40 ? `${line.slice(0, 37)}...` : line);
    const consequence =
      lineWithCarriageReturn === 0
        ? `the kernel looks for the interpreter with a trailing CR and the launch fails with "no such file or directory"`
        : 'the shell reads the CR as part of commands and arguments';
    add(
      'error',
      'carriage-return',
      `line ${lineWithCarriageReturn + 1} ${crlf ? 'ends with CRLF' : 'contains a CR'} (${shown}): ${consequence}; convert to LF (dos2unix, or "* text eol=lf" in .gitattributes)`,
      name,
    );
  }
  if (!script.startsWith('#!')) {
    add(
      'error',
      'missing-shebang',
      'the script does not start with "#!", so the kernel cannot run it directly (exec format error)',
      name,
    );
    return {};
  }
  const words = lines[0]!
    .slice(2)
    .replace(/\r$/, '')
    .trim()
    .split(/\s+/)
    .filter((word) => word !== '');
  const interpreter = words.join(' ');
  let program = words[0] === undefined ? undefined : path.posix.basename(words[0]);
  if (program === 'env') program = words.slice(1).find((word) => !word.startsWith('-'));
  if (words.length === 0) add('error', 'missing-shebang', 'the "#!" line names no interpreter', name);
  return { interpreter, ...(program === undefined ? {} : { program }) };
}

export interface LauncherTarget {
  /** 1-based line number in the script. */
  line: number;
  text: string;
  /** The resolved layer path (relative to /opt, i.e. the zip root), if resolvable. */
  path?: string;
  /** True when the script executes the target itself; false when it hands it to an interpreter. */
  direct: boolean;
  /** The interpreter the target is handed to (node, python3...), when not direct. */
  interpreter?: string;
}

const interpreters = new Set([
  'node',
  'nodejs',
  'python',
  'python3',
  'ruby',
  'perl',
  'php',
  'sh',
  'bash',
  'dash',
  'java',
  'deno',
  'bun',
]);

/**
 * Finds what a launcher script runs, by evaluating the few shell idioms that
 * locate files next to the script: `$0`, `$(dirname "$0")`, `$(cd … && pwd)`,
 * `$(basename "$0")`, the `${0%…}`/`${0##…}` expansions that drop or keep the
 * last path component, `readlink -f`/`realpath`, and variables assigned from them. The launcher is assumed to run as
 * /opt/<launcherPath>, as Lambda runs it.
 */
export function launcherTargets(script: string, launcherPath: string): LauncherTarget[] {
  const self = `/opt/${launcherPath}`;
  const variables = new Map<string, string>();
  const budget = { characters: maximumExpansionWork };
  const targets: LauncherTarget[] = [];
  const lines = script.split('\n');
  lines.forEach((rawLine, index) => {
    if (index === 0 && rawLine.startsWith('#!')) return;
    const line = rawLine
      .replace(/\r$/, '')
      .replace(/(^|\s)#.*$/, '')
      .trim();
    if (line === '') return;
    const assignment = /^(?:(?:export|local|readonly)\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (assignment !== null) {
      const value = unquote(expandShell(assignment[2]!, self, variables, budget));
      if (!/[$`]/.test(value)) variables.set(assignment[1]!, value);
      return;
    }
    const words = splitWords(expandShell(line, self, variables, budget));
    if (words[0] === 'exec') {
      words.shift();
      while (words[0]?.startsWith('-') === true) if (words.shift() === '-a') words.shift();
    }
    if (words[0] !== undefined && path.posix.basename(words[0]) === 'env') {
      words.shift();
      while (words[0] !== undefined && (words[0].startsWith('-') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])))
        words.shift();
    }
    const first = words[0];
    if (first === undefined) return;
    const record = (word: string, direct: boolean, interpreter?: string): void => {
      const target: LauncherTarget = { line: index + 1, text: rawLine.replace(/\r$/, ''), direct };
      if (interpreter !== undefined) target.interpreter = interpreter;
      if (/[$`]/.test(word)) {
        targets.push(target);
        return;
      }
      const normalized = path.posix.normalize(word);
      if (!normalized.startsWith('/opt/')) return; // outside the layer: another layer's or the runtime's file
      targets.push({ ...target, path: normalized.slice('/opt/'.length) });
    };
    const looksLikeLayerPath = (word: string): boolean =>
      word.startsWith('/opt/') || (/[$`]/.test(word) && /\//.test(word));
    if (looksLikeLayerPath(first)) {
      record(first, true);
      return;
    }
    const program = path.posix.basename(first);
    if (!interpreters.has(program)) return;
    const argument = words.slice(1).find((word) => !word.startsWith('-'));
    if (argument !== undefined && looksLikeLayerPath(argument)) record(argument, false, program);
  });
  return targets;
}

function unquote(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length >= 2 && (trimmed[0] === '"' || trimmed[0] === "'") && trimmed.endsWith(trimmed[0]))
    return trimmed.slice(1, -1);
  return trimmed;
}

/** Splits a command line into words, dropping quotes (no globbing, no escapes beyond the basics). */
function splitWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | undefined;
  let inWord = false;
  for (const character of line) {
    if (quote !== undefined) {
      if (character === quote) quote = undefined;
      else current += character;
    } else if (character === '"' || character === "'") {
      quote = character;
      inWord = true;
    } else if (/\s/.test(character)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else if (character === ';' || character === '&' || character === '|') {
      break;
    } else {
      current += character;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

/** Thrown when a launcher's expansions grow past what any real launcher needs. */
export class LauncherTooComplexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LauncherTooComplexError';
  }
}

/**
 * Real launchers expand to a path or a short command line; variables that
 * double each other grow exponentially, so one expansion and all of them
 * together are capped (in characters produced).
 */
export const maximumExpansionLength = 8 * 1024;
export const maximumExpansionWork = 1024 * 1024;

/** Substitutes the idioms listed on `launcherTargets` until nothing changes, within `budget`. */
function expandShell(
  text: string,
  self: string,
  variables: Map<string, string>,
  budget: { characters: number },
): string {
  const spend = (characters: number): void => {
    budget.characters -= characters;
    if (budget.characters < 0) {
      throw new LauncherTooComplexError(`its expansions produce more than ${maximumExpansionWork} characters`);
    }
  };
  const substitute = (value: string): string => {
    produced += value.length;
    if (produced > maximumExpansionLength) {
      throw new LauncherTooComplexError(`a line expands to more than ${maximumExpansionLength} characters`);
    }
    return value;
  };
  let produced = 0;
  const literal = String.raw`"([^"$\x60]*)"|'([^']*)'|([^\s"'$\x60()]+)`;
  const argument = (match: RegExpExecArray | string[], start: number): string =>
    match[start] ?? match[start + 1] ?? match[start + 2] ?? '';
  const commands: [RegExp, (value: string) => string][] = [
    [new RegExp(String.raw`\$\(\s*dirname\s+(?:--\s+)?(?:${literal})\s*\)`, 'g'), (value) => path.posix.dirname(value)],
    [new RegExp(String.raw`\x60\s*dirname\s+(?:${literal})\s*\x60`, 'g'), (value) => path.posix.dirname(value)],
    [
      new RegExp(String.raw`\$\(\s*basename\s+(?:--\s+)?(?:${literal})\s*\)`, 'g'),
      (value) => path.posix.basename(value),
    ],
    [
      new RegExp(
        String.raw`\$\(\s*(?:readlink\s+-[fem]|realpath(?:\s+-[a-zA-Z]+)*)\s+(?:--\s+)?(?:${literal})\s*\)`,
        'g',
      ),
      (value) => path.posix.normalize(value),
    ],
    [
      new RegExp(String.raw`\$\(\s*cd\s+(?:-P\s+)?(?:--\s+)?(?:${literal})\s*(?:&&|;)\s*pwd(?:\s+-[PL])?\s*\)`, 'g'),
      (value) => path.posix.normalize(value),
    ],
  ];
  let current = text;
  for (let round = 0; round < 10; round++) {
    produced = current.length;
    let next = current
      .replaceAll('${0%/*}', () => substitute(path.posix.dirname(self)))
      .replaceAll('${0##*/}', () => substitute(path.posix.basename(self)))
      .replace(
        /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
        (whole, braced: string | undefined, bare: string | undefined) =>
          substitute(variables.get(braced ?? bare ?? '') ?? whole),
      )
      .replace(/\$\{0\}|\$0(?![0-9])/g, () => substitute(self));
    for (const [pattern, evaluate] of commands) {
      next = next.replace(pattern, (...match: string[]) => evaluate(argument(match, 1)));
    }
    if (next.length > maximumExpansionLength) {
      throw new LauncherTooComplexError(`a line expands to more than ${maximumExpansionLength} characters`);
    }
    spend(next.length);
    if (next === current) break;
    current = next;
  }
  return current;
}
