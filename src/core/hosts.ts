import { CliError } from './errors.js';

/**
 * Which machines each command runs on. Everything that only writes files
 * (create, add, build with Go's cross-compiler or esbuild, pack, inspect,
 * publish) runs on any host Node.js runs on. `ext dev` starts the layer's own
 * Linux executables, watches them through /proc and speaks to them as Lambda
 * does, so it needs Linux on x86_64 or arm64 (the other architecture runs
 * under qemu).
 */
export const devHosts: ReadonlyArray<{ platform: NodeJS.Platform; arch: string }> = [
  { platform: 'linux', arch: 'x64' },
  { platform: 'linux', arch: 'arm64' },
];

const platformNames: Partial<Record<NodeJS.Platform, string>> = { darwin: 'macOS', win32: 'Windows' };

/** Throws the one-line error for a host where `ext dev` cannot work; the host is injectable for tests. */
export function assertDevHost(platform: NodeJS.Platform = process.platform, arch: string = process.arch): void {
  if (devHosts.some((host) => host.platform === platform && host.arch === arch)) return;
  const host = platform === 'linux' ? `Linux on ${arch}` : (platformNames[platform] ?? platform);
  throw new CliError(`ext dev runs the layer's Linux executables and needs a Linux x86_64 or arm64 host, not ${host}`, {
    code: 'E_HOST_UNSUPPORTED',
    hint: 'run it in a Linux container or VM (docker run -it -v "$PWD":/work -w /work node:22 npm run dev); ext build, pack, inspect and publish work here',
  });
}
