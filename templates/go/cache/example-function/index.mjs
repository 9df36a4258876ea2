// An example function that `npm run dev` runs beside the extension ("dev.function" in
// lambda-extension.json). It asks the cache on localhost as a function written for AWS's Parameters and
// Secrets Lambda Extension would: the session token in X-Aws-Parameters-Secrets-Token, the port from
// PARAMETERS_SECRETS_EXTENSION_HTTP_PORT (2773 by default). It answers what it found, by name and length:
// never the value, which would land in logs and in ext dev's report.
const port = process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT || '2773';

async function ask(path) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: { 'X-Aws-Parameters-Secrets-Token': process.env.AWS_SESSION_TOKEN ?? '' },
  });
  const body = await response.json().catch(() => ({}));
  return { status: response.status, cache: response.headers.get('x-cache'), body };
}

/** What the function may say about an answer: its status, and the error's type and message (no value). */
function failure({ status, body }) {
  return { found: false, status, errorType: body.__type, message: body.message ?? body.Message };
}

export const handler = async (event) => {
  const result = {};
  if (event.secretId !== undefined) {
    const answer = await ask(`/secretsmanager/get?secretId=${encodeURIComponent(event.secretId)}`);
    const value = answer.body.SecretString ?? answer.body.SecretBinary ?? '';
    result.secret =
      answer.status === 200
        ? { name: answer.body.Name, found: true, length: value.length, cache: answer.cache }
        : { name: event.secretId, ...failure(answer) };
  }
  if (event.parameterName !== undefined) {
    const answer = await ask(
      `/systemsmanager/parameters/get?name=${encodeURIComponent(event.parameterName)}&withDecryption=true`,
    );
    const parameter = answer.body.Parameter ?? {};
    result.parameter =
      answer.status === 200
        ? { name: parameter.Name, type: parameter.Type, found: true, length: (parameter.Value ?? '').length, cache: answer.cache }
        : { name: event.parameterName, ...failure(answer) };
  }
  return result;
};
