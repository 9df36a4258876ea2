import { preciseNow } from '../clock.js';
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { changeState, type Agent, type ParkedNext } from '../environment/agents.js';
import type { Environment } from '../environment/index.js';
import { forbidden, send } from './http.js';

/**
 * `GET /2020-01-01/extension/event/next` (RIE's rapi/handler/agentnext.go):
 * the extension is Ready; it gets a queued event at once, or its call is
 * parked until the lifecycle delivers one through the environment.
 */

function writeEvent(response: http.ServerResponse, event: Record<string, unknown>): void {
  send(response, 200, event, { 'Lambda-Extension-Event-Identifier': randomUUID() });
}

/** The parked call as the environment sees it: something to answer or end. */
function parked(response: http.ServerResponse): ParkedNext {
  return {
    get ended() {
      return response.writableEnded;
    },
    get answerable() {
      return !response.writableEnded && !response.destroyed;
    },
    answer: (event) => writeEvent(response, event),
    destroy: () => response.destroy(),
  };
}

export function next(environment: Environment, agent: Agent, response: http.ServerResponse): void {
  if (agent.state === 'Registered' || agent.state === 'Running') {
    changeState(agent, 'Ready');
  } else {
    // RIE: Ready -> Ready is not a transition, and terminal states accept nothing.
    forbidden(
      response,
      'Extension.InvalidExtensionState',
      `State transition from ${agent.state} to Ready failed for extension ${agent.id}. Error: State transition is not allowed`,
    );
    if (agent.state === 'Ready') {
      environment.note(
        `${agent.name} called event/next again while its earlier call was still pending; the earlier call was probably dropped by a client timeout (event/next must have none)`,
        agent.name,
      );
    }
    return;
  }
  agent.lastNextAt = preciseNow();
  const queued = agent.queuedEvent;
  if (queued !== undefined) {
    agent.queuedEvent = undefined;
    changeState(agent, 'Running');
    writeEvent(response, queued);
  } else {
    const call = parked(response);
    agent.pendingNext = call;
    response.on('close', () => {
      if (agent.pendingNext === call && !response.writableEnded) {
        // The extension stays Ready, as on Lambda: its next event will be written into this dead call.
        agent.nextDropped = true;
        if (!agent.exited && environment.phase !== 'shutdown') {
          environment.note(
            `${agent.name} dropped its pending event/next call (client timeout or closed connection); Lambda still counts it as waiting there, so its next event will be lost`,
            agent.name,
          );
        }
      }
    });
  }
  environment.changed();
}
