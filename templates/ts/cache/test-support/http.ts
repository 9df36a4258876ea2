/**
 * Requests to the cache's server as a function makes them, for the tests.
 * (Kept outside test/ so that `node --test` does not run it as a test file.)
 */
export const testToken = 'session-token';

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  text: string;
  cache: string | null;
}

/** GET base+target with the token (or `token`, or none when it is ''). */
export async function get(base: string, target: string, token: string = testToken): Promise<Answer> {
  const response = await fetch(base + target, { headers: token === '' ? {} : { 'X-Aws-Parameters-Secrets-Token': token } });
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`GET ${target}: ${response.status} ${JSON.stringify(text)} is not JSON`);
  }
  return { status: response.status, body, text, cache: response.headers.get('x-cache') };
}

/** A clock the test moves. */
export function testClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}
