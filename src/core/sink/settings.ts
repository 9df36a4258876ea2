/**
 * How ext dev points a generated telemetry extension at its receiver: the
 * templates read their settings from variables prefixed with the extension's
 * name (templates/ts/basic/src/extension.ts `settingsPrefixFor`,
 * templates/go/basic/settings.go `settingsPrefix`), and ship to
 * `<PREFIX>HTTP_URL` when `<PREFIX>SINK` is `http`.
 */

/** Upper snake case of the name, starting with a letter, as the templates compute it. */
export function settingsPrefixFor(name: string): string {
  const prefix = `${name.toUpperCase().replace(/[^A-Z0-9]+/gu, '_')}_`;
  return /^[A-Z]/u.test(prefix) ? prefix : `EXT_${prefix}`;
}

/** The function environment that makes every named extension ship to `url`. */
export function sinkEnvironment(extensionNames: readonly string[], url: string): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const name of extensionNames) {
    const prefix = settingsPrefixFor(name);
    environment[`${prefix}SINK`] = 'http';
    environment[`${prefix}HTTP_URL`] = url;
  }
  return environment;
}
