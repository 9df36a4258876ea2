/**
 * The host names that stay inside the emulated execution environment:
 * loopback (`127.0.0.0/8`, `[::1]`, `localhost`) and the names Lambda gives
 * the sandbox (`sandbox`, `sandbox.localdomain`). Both the Extensions API's
 * Host check and the Telemetry API's destination check use this one list.
 */
export function isLoopbackHost(hostName: string): boolean {
  const name = hostName.toLowerCase();
  if (['localhost', 'sandbox', 'sandbox.localdomain', '[::1]', '::1'].includes(name)) return true;
  return /^127(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(name);
}
