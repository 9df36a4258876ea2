/**
 * This file is yours: the proxy calls these two functions for every
 * invocation. Both run on the invocation's critical path, so their time is
 * billed as the function's; `signal` aborts at the function's deadline. Under
 * Lambda Managed Instances they run concurrently for different invocations.
 */
import type { HookContext, Invocation, ProxyResponse } from './proxy.js';

/**
 * Runs before the handler sees an event. Replace `invocation.event` to change
 * what the handler gets (it must stay valid JSON for the runtime), or throw to
 * turn the event down: the handler never sees it, the invocation fails with
 * errorType Proxy.EventRejected and the error's message, and the runtime is
 * given the next event.
 *
 * For example, to refuse anything but a JSON object:
 *
 *     if (invocation.event[0] !== 0x7b) throw new Error('the event must be a JSON object');
 */
export function onEvent(invocation: Invocation, context: HookContext): void | Promise<void> {
}

/**
 * Runs after the handler answered, before Lambda hears of it. `response.kind`
 * says how: 'success' (`response.body` holds the answer, which you may
 * replace), 'failure' (the runtime's error report, with `errorType`; passed on
 * whatever you do) or 'streamed' (already sent chunk by chunk; no body). A
 * throw turns a success into a failure with errorType Proxy.ResponseRejected.
 * `response.durationMs` runs from the event reaching the proxy to the answer
 * reaching it.
 */
export function onResponse(invocation: Invocation, response: ProxyResponse, context: HookContext): void | Promise<void> {
}
