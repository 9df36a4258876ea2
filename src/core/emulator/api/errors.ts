import type http from 'node:http';
import { changeState, hasReportedError, type Agent } from '../environment/agents.js';
import type { Environment } from '../environment/index.js';
import type { ExtensionState } from '../types.js';
import { capped, forbidden, maxHeaderValueLength, readBody, send } from './http.js';

/**
 * `POST /2020-01-01/extension/init/error` and `…/exit/error` (RIE's
 * rapi/handler/agentiniterror.go, agentexiterror.go): the extension reports
 * its own failure; the first report is a verdict.
 */

/** Longest error message borrowed from an init/error or exit/error body. */
const maxErrorMessageLength = 1024;
/** What RIE's LMI mode takes for an extension's own error type (unanchored, as there). */
const extensionErrorTypePattern = /Extension\.[A-Z][a-zA-Z]+/u;

/** The errorMessage of the body, when it has one; the body is optional and RIE ignores it. */
function borrowedMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return `: ${capped(parsed.errorMessage, maxErrorMessageLength)}`;
  } catch {
    // We only borrow its message when it parses.
  }
  return '';
}

export async function reportError(
  environment: Environment,
  agent: Agent,
  kind: 'init' | 'exit',
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const body = await readBody(request, response);
  if (body === undefined) return;
  const header = request.headers['lambda-extension-function-error-type'];
  if (typeof header !== 'string' || header === '') {
    forbidden(response, 'Extension.MissingHeader', 'Missing Lambda-Extension-Function-Error-Type header');
    return;
  }
  const errorType = capped(header, maxHeaderValueLength);
  const allowed: ExtensionState[] =
    kind === 'init' ? ['Registered', 'InitError'] : ['Registered', 'Ready', 'Running', 'ExitError'];
  if (!allowed.includes(agent.state)) {
    const target = kind === 'init' ? 'InitError' : 'ExitError';
    forbidden(
      response,
      'Extension.InvalidExtensionState',
      `State transition from ${agent.state} to ${target} failed for extension ${agent.id}. Error: State transition is not allowed`,
    );
    return;
  }
  const first = !hasReportedError(agent);
  changeState(agent, kind === 'init' ? 'InitError' : 'ExitError');
  // A parked next stays parked and unanswered, as in RIE; the process is killed at Shutdown.
  if (first) {
    agent.reportedErrorType = errorType;
    const generic = kind === 'init' ? 'Extension.InitError' : 'Extension.ExitError';
    environment.addVerdict({
      kind: kind === 'init' ? 'init-error' : 'exit-error',
      // RIE's LMI mode keeps the extension's own Extension.* type (GetValidExtensionErrorType in
      // internal/lambda-managed-instances/rapid/model/error_types.go); on demand it is always the generic one.
      errorType:
        environment.settings.managedInstances && extensionErrorTypePattern.test(errorType) ? errorType : generic,
      extension: agent.name,
      message: `${agent.name} reported ${kind}/error ${errorType}${borrowedMessage(body)}`,
    });
  }
  send(response, 202, { status: 'OK' });
  environment.changed();
}
