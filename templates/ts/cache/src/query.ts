/**
 * The two paths of AWS's Parameters and Secrets Lambda Extension, which this
 * extension answers in the same way (so a function written for it works
 * unchanged), and the parsing of their query strings.
 */
export const parametersPath = '/systemsmanager/parameters/get';
export const secretsPath = '/secretsmanager/get';

/** Names, ARNs, versions and labels: SSM names, ARNs and secret ids are at most 2048 characters. */
export const maxIdentifierLength = 2048;

/** What GET /systemsmanager/parameters/get asks for. */
export interface ParameterQuery {
  /** The name or ARN, with ":<version>" or ":<label>" after it when the query chose one, as GetParameter takes it. */
  name: string;
  withDecryption: boolean;
}

/** What GET /secretsmanager/get asks for. */
export interface SecretQuery {
  secretId: string;
  versionId: string;
  versionStage: string;
}

/** A request refused before any AWS call: the answer is 400 with this message, which names the query parameter. */
export class QueryError extends Error {
  override name = 'QueryError';
}

/**
 * Reads the query string as URLSearchParams does (`+` is a space, `%XX`
 * escapes), but refuses what is ambiguous or unsafe: a parameter given twice,
 * a malformed escape, a control character (so cache keys cannot collide).
 */
function parseQuery(rawQuery: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  if (rawQuery === '') return values;
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const [rawKey, rawValue] = at < 0 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(rawKey.replaceAll('+', ' '));
      value = decodeURIComponent(rawValue.replaceAll('+', ' '));
    } catch {
      throw new QueryError(`the query string does not parse: bad escape in "${pair.slice(0, 40)}"`);
    }
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  return values;
}

function single(query: Map<string, string[]>, key: string): string {
  const values = query.get(key) ?? [];
  if (values.length > 1) throw new QueryError(`${key} is given ${values.length} times; give it once`);
  const value = values[0] ?? '';
  if (value.length > maxIdentifierLength) throw new QueryError(`${key} is ${value.length} characters long; at most ${maxIdentifierLength}`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new QueryError(`${key} holds a control character`);
  return value;
}

function required(query: Map<string, string[]>, key: string): string {
  const value = single(query, key);
  if (value === '') throw new QueryError(`${key} is missing: add ?${key}=<value>`);
  return value;
}

/** Reads name, withDecryption, version and label. */
export function parseParameterQuery(rawQuery: string): ParameterQuery {
  const query = parseQuery(rawQuery);
  let name = required(query, 'name');
  const decryption = single(query, 'withDecryption').toLowerCase();
  if (decryption !== '' && decryption !== 'true' && decryption !== 'false') {
    throw new QueryError(`withDecryption is "${decryption}"; use true or false`);
  }
  const version = single(query, 'version');
  const label = single(query, 'label');
  if (version !== '' && label !== '') throw new QueryError('version and label are both given; give one');
  if (version !== '' && !/^[1-9][0-9]{0,17}$/.test(version)) {
    throw new QueryError(`version is "${version}"; want a version number such as 3`);
  }
  // GetParameter takes the version or label after the name: name:3 (a name that has one already is AWS's to refuse).
  const selector = version || label;
  if (selector !== '') name += `:${selector}`;
  return { name, withDecryption: decryption === 'true' };
}

/** Reads secretId, versionId and versionStage. */
export function parseSecretQuery(rawQuery: string): SecretQuery {
  const query = parseQuery(rawQuery);
  return {
    secretId: required(query, 'secretId'),
    versionId: single(query, 'versionId'),
    versionStage: single(query, 'versionStage'),
  };
}

/** Tells entries apart: no field can hold a newline (control characters are refused), so no two queries share a key. */
export function parameterKey(query: ParameterQuery): string {
  return `ssm\n${query.name}\n${query.withDecryption ? 1 : 0}`;
}

export function secretKey(query: SecretQuery): string {
  return `secretsmanager\n${query.secretId}\n${query.versionId}\n${query.versionStage}`;
}

/** The JSON bodies of the AWS calls, with the operations' member names, leaving out what the query did not give. */
export function parameterInput(query: ParameterQuery): Record<string, unknown> {
  return { Name: query.name, WithDecryption: query.withDecryption };
}

export function secretInput(query: SecretQuery): Record<string, unknown> {
  return {
    SecretId: query.secretId,
    ...(query.versionId === '' ? {} : { VersionId: query.versionId }),
    ...(query.versionStage === '' ? {} : { VersionStage: query.versionStage }),
  };
}
