/**
 * Where the bundled node sits in the layer, relative to /opt. Apart from the
 * rest of standalone/ (npm, tar, gzip, hashing), which build and pack load
 * only for a standalone layer.
 */
export function bundledNodePath(name: string): string {
  return `${name}/bin/node`;
}
