import { entryPathComponents as pathComponents } from './entries.js';

export { entryPathComponents as pathComponents } from './entries.js';

/**
 * Where paths and symbolic links in a layer zip lead once Lambda has unpacked
 * it to /opt, worked out on the archive's own tree (nothing on disk is
 * touched). `ext inspect` reports links that leave the layer; `ext dev`
 * refuses to unpack them.
 */

/** Linux gives up after 40 links in one path lookup (MAXSYMLINKS); so do we. */
export const maximumLinkHops = 40;
/** Linux NAME_MAX: no path component may be longer (in bytes). */
export const maximumNameBytes = 255;

export type LinkResolution =
  /** `path` is relative to the layer root ("" is the root itself). */
  { kind: 'inside'; path: string } | { kind: 'outside' } | { kind: 'loop' };

/** What makes an entry name impossible to unpack on Linux, or undefined. */
export function unusableNameProblem(name: string): { code: string; message: string } | undefined {
  if (name.includes('\0')) {
    return { code: 'nul-in-name', message: 'the path contains a NUL byte, which no Linux file name can hold' };
  }
  const long = name.split('/').find((component) => Buffer.byteLength(component, 'utf8') > maximumNameBytes);
  if (long !== undefined) {
    return {
      code: 'name-too-long',
      message: `a path component is ${Buffer.byteLength(long, 'utf8')} bytes, over Linux's ${maximumNameBytes}-byte limit (NAME_MAX), so it cannot be unpacked`,
    };
  }
  return undefined;
}

/** A layer's symbolic links, by normalized path ("a/b"), with their raw targets. */
export class LayerLinks {
  constructor(private readonly links: ReadonlyMap<string, string>) {}

  get size(): number {
    return this.links.size;
  }

  /** The first proper ancestor of `name` that is a link: unpacking `name` would write through it. */
  linkAbove(name: string): string | undefined {
    const components = pathComponents(name);
    for (let length = 1; length < components.length; length++) {
      const prefix = components.slice(0, length).join('/');
      if (this.links.has(prefix)) return prefix;
    }
    return undefined;
  }

  /**
   * Resolves the link at `linkPath` the way the kernel would under /opt:
   * every component that is itself a link is replaced by its target before
   * ".." applies (so "y/.." climbs from wherever y leads, not from y's
   * folder). Absolute targets under /opt stay in the layer; other absolute
   * targets, and ".." above the root, leave it.
   */
  resolve(linkPath: string): LinkResolution {
    const target = this.links.get(linkPath);
    if (target === undefined) return { kind: 'inside', path: linkPath };
    const current = pathComponents(linkPath).slice(0, -1);
    const pending: string[] = [];
    const pushTarget = (text: string): boolean => {
      if (text.startsWith('/')) {
        if (text !== '/opt' && !text.startsWith('/opt/')) return false;
        current.length = 0;
        text = text.slice('/opt'.length);
      }
      pending.push(...text.split('/').reverse());
      return true;
    };
    if (!pushTarget(target)) return { kind: 'outside' };
    let hops = 1;
    while (pending.length > 0) {
      const component = pending.pop()!;
      if (component === '' || component === '.') continue;
      if (component === '..') {
        if (current.length === 0) return { kind: 'outside' };
        current.pop();
        continue;
      }
      current.push(component);
      const next = this.links.get(current.join('/'));
      if (next === undefined) continue;
      if (++hops > maximumLinkHops) return { kind: 'loop' };
      current.pop();
      if (!pushTarget(next)) return { kind: 'outside' };
    }
    return { kind: 'inside', path: current.join('/') };
  }
}
