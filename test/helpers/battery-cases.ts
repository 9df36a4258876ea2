/**
 * The conformance battery: misbehaving extensions, each a small sh script
 * that speaks to the Extensions and Telemetry APIs with curl and prints one
 * `CONF <step> <status> <errorType>` line per answer it got. Every case runs
 * under AWS's RIE and under `ext dev`, on demand and on Managed Instances,
 * and both the outcome (what the platform recorded) and every line the
 * extension printed must agree, unless the case is in `agreedDifferences`.
 */

export type Mode = 'on-demand' | 'managed-instances';
export const modes: readonly Mode[] = ['on-demand', 'managed-instances'];

export interface BatteryCase {
  id: string;
  family: string;
  /** The script after the prelude (sh), or a whole file (then the prelude is not added). */
  script?: string;
  file?: { content: string | Buffer; mode: number };
  /** Default 1: an Init that fails is re-run by the next invoke, on both sides alike, so one is enough. */
  invokes?: number;
  /** Function timeout in seconds (RIE bounds Init with it too). Default 4. */
  timeoutSeconds?: number;
  /** How long the function works on each invoke. Default 0. */
  functionDurationMs?: number;
}

/**
 * Shell helpers every scripted fixture starts with. `say` drops a line equal
 * to the one before it, so a retry loop prints each status once however often
 * the machine's load lets it spin.
 */
export const prelude = String.raw`#!/bin/sh
API="http://$AWS_LAMBDA_RUNTIME_API/2020-01-01/extension"
ROOT="http://$AWS_LAMBDA_RUNTIME_API"
NAME=$(basename "$0")
B=$(mktemp)
H=$(mktemp)
ID=
EV=
LAST=
if [ -n "$AWS_LAMBDA_MAX_CONCURRENCY" ] || [ "$AWS_LAMBDA_INITIALIZATION_TYPE" = lambda-managed-instances ]; then LMI=1; EVENTS='["SHUTDOWN"]'; else LMI=; EVENTS='["INVOKE","SHUTDOWN"]'; fi
SEEN=$(mktemp)
# ONCE=1: each distinct line once (for loops whose length depends on timing).
say() {
  if [ -n "$ONCE" ]; then grep -qxF "$*" "$SEEN" || { echo "$*" >> "$SEEN"; echo "CONF $*"; }
  else [ "$*" = "$LAST" ] || echo "CONF $*"; fi
  LAST="$*"
}
# req STEP METHOD URL [curl arguments]: one request; prints its status and errorType.
req() {
  step=$1; method=$2; url=$3; shift 3
  : > "$B"; : > "$H"
  code=$(curl -s -o "$B" -D "$H" -w '%{http_code}' -X "$method" "$url" "$@")
  et=$(sed -n 's/.*"errorType" *: *"\([^"]*\)".*/\1/p' "$B" | head -n 1)
  [ -n "$et" ] || et=-
  say "$step $code $et"
}
call() { step=$1; method=$2; route=$3; shift 3; req "$step" "$method" "$API$route" "$@"; }
# register [BODY [STEP]]: default body registers the events this mode allows.
register() {
  body=$1; [ -n "$body" ] || body="{\"events\":$EVENTS}"
  rstep=$2; [ -n "$rstep" ] || rstep=register
  call "$rstep" POST /register -H "Lambda-Extension-Name: $NAME" -d "$body"
  new=$(sed -n 's/^[Ll]ambda-[Ee]xtension-[Ii]dentifier: *//p' "$H" | tr -d '\r')
  [ -z "$new" ] || ID=$new
}
# next STEP [curl arguments]: one event/next call; EV is the event type it got, if any.
next() {
  nstep=$1; shift
  call "$nstep" GET /event/next -H "Lambda-Extension-Identifier: $ID" "$@"
  EV=$(sed -n 's/.*"eventType" *: *"\([A-Z]*\)".*/\1/p' "$B")
}
deadline() { sed -n 's/.*"deadlineMs" *: *\([0-9]*\).*/\1/p' "$B"; }
now() { date +%s%3N; }
# loop: event/next until SHUTDOWN (then exit 0), printing each event; a refused call is retried.
loop() {
  while :; do
    next next
    if [ -n "$EV" ]; then say "event $EV"; else sleep 0.2; fi
    [ "$EV" = SHUTDOWN ] && exit 0
  done
}
`;

const script = (body: string) => `${prelude}${body.replace(/^\n/u, '')}`;
const telemetryBody = (changes: string) =>
  `'{"schemaVersion":"2025-01-29","types":["platform","function"],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:4243/t"}${changes}}'`;
const subscribe = (step: string, body: string, identifier = '-H "Lambda-Extension-Identifier: $ID"') =>
  `req ${step} PUT "$ROOT/2022-07-01/telemetry" ${identifier} -H 'Content-Type: application/json' -d ${body}`;

/** A 64-byte ELF header for the architecture the machine is not. */
function foreignElf(): Buffer {
  const header = Buffer.alloc(64);
  header.write('\x7fELF', 0, 'latin1');
  header[4] = 2; // 64-bit
  header[5] = 1; // little endian
  header[6] = 1;
  header.writeUInt16LE(2, 16); // ET_EXEC
  header.writeUInt16LE(process.arch === 'arm64' ? 62 : 183, 18); // x86-64 or AArch64
  header.writeUInt32LE(1, 20);
  return header;
}

export const cases: BatteryCase[] = [
  // ----- register
  {
    id: 'register-refused-then-corrected',
    family: 'register',
    script: script(`
register '{bad json' bad-json
register '{"events":["FOO"]}' event-foo
register '{"configurationKeys":["A"]}' configuration-keys
call no-name POST /register -d "{\\"events\\":$EVENTS}"
register
loop`),
  },
  {
    id: 'register-twice',
    family: 'register',
    script: script(`
register
register "" again
loop`),
  },
  {
    id: 'register-no-events',
    family: 'register',
    script: script(`
register '{}'
next next`),
  },
  {
    id: 'register-null-events',
    family: 'register',
    script: script(`
register '{"events":null}'
next next`),
  },
  {
    id: 'register-empty-body',
    family: 'register',
    script: script(`
call empty-body POST /register -H "Lambda-Extension-Name: $NAME"
register
loop`),
  },
  {
    id: 'register-events-not-a-list',
    family: 'register',
    script: script(`
register '{"events":"SHUTDOWN"}' events-string
register
loop`),
  },
  {
    id: 'register-name-of-no-file-then-own',
    family: 'register',
    script: script(`
call no-file-shutdown POST /register -H "Lambda-Extension-Name: no-such-file" -d '{"events":["SHUTDOWN"]}'
register
loop`),
  },
  {
    id: 'register-after-init',
    family: 'register',
    script: script(`
register
next next; say "event $EV"
call late POST /register -H "Lambda-Extension-Name: late-one" -d '{}'
# RIE's LMI mode leaves this one unanswered during Shutdown: asked on demand only.
[ -n "$LMI" ] || call late-self POST /register -H "Lambda-Extension-Name: $NAME" -d '{}'
[ "$EV" = SHUTDOWN ] && exit 0
loop`),
  },
  {
    id: 'register-account-id',
    family: 'register',
    script: script(`
call register POST /register -H "Lambda-Extension-Name: $NAME" -H "Lambda-Extension-Accept-Feature: accountId" -d "{\\"events\\":$EVENTS}"
ID=$(sed -n 's/^[Ll]ambda-[Ee]xtension-[Ii]dentifier: *//p' "$H" | tr -d '\\r')
if grep -q '"accountId"' "$B"; then say "account-id present"; else say "account-id absent"; fi
loop`),
  },
  {
    id: 'register-never',
    family: 'register',
    timeoutSeconds: 2,
    script: script(`
say start
exec sleep 60`),
  },
  {
    id: 'register-refused-then-exits',
    family: 'register',
    script: script(`
register '{"events":["FOO"]}' event-foo
exit 1`),
  },
  // ----- next
  {
    id: 'next-before-register',
    family: 'next',
    script: script(`
call no-identifier GET /event/next
call bad-identifier GET /event/next -H "Lambda-Extension-Identifier: not-a-uuid"
call unknown-identifier GET /event/next -H "Lambda-Extension-Identifier: 0b0a9d3e-4b0e-4d2c-9d7e-1a2b3c4d5e6f"
register
loop`),
  },
  {
    id: 'next-concurrent',
    family: 'next',
    functionDurationMs: 3000,
    script: script(`
register
# On demand, first take the INVOKE: then nothing comes until SHUTDOWN, whatever the timing.
[ -n "$LMI" ] || { next next; say "event $EV"; }
( next first; say "first-event $EV" ) &
sleep 1
next second
wait
exit 0`),
  },
  {
    id: 'next-client-timeout',
    family: 'next',
    invokes: 2,
    functionDurationMs: 3000,
    timeoutSeconds: 8,
    script: script(`
ONCE=1
register
# On demand the first INVOKE is taken with no timeout, so that the losses start in the invoke phase
# (RIE's Init lasts as long as its runtime takes to start, ours does not).
[ -n "$LMI" ] || { next next; say "event $EV"; }
while :; do
  next next -m 0.7
  [ "$EV" = SHUTDOWN ] && exit 0
  [ "$code" = 403 ] && sleep 0.2
done`),
  },
  {
    id: 'next-parked-at-exit-error',
    family: 'next',
    timeoutSeconds: 6,
    functionDurationMs: 3000,
    script: script(`
register
# On demand, in the invoke phase (after the INVOKE), whatever the runtime's start-up time.
[ -n "$LMI" ] || { next next; say "event $EV"; }
curl -s -o /dev/null -H "Lambda-Extension-Identifier: $ID" "$API/event/next" &
parked=$!
sleep 0.5
call exit-error POST /exit/error -H "Lambda-Extension-Identifier: $ID" -H "Lambda-Extension-Function-Error-Type: Extension.Parked"
sleep 0.5
if kill -0 $parked 2>/dev/null; then say "parked-next still-waiting"; else say "parked-next answered"; fi
next after-exit-error
exec sleep 60`),
  },
  {
    id: 'next-wrong-method',
    family: 'next',
    script: script(`
register
call post-next POST /event/next -H "Lambda-Extension-Identifier: $ID"
loop`),
  },
  // ----- init/error and exit/error
  {
    id: 'init-error-typed-then-exits',
    family: 'init/error',
    script: script(`
register
call init-error POST /init/error -H "Lambda-Extension-Identifier: $ID" -H "Lambda-Extension-Function-Error-Type: Extension.ConfigInvalid" -d '{"errorMessage":"bad config"}'
exit 1`),
  },
  {
    id: 'init-error-untyped-then-exits',
    family: 'init/error',
    script: script(`
register
call init-error POST /init/error -H "Lambda-Extension-Identifier: $ID" -H "Lambda-Extension-Function-Error-Type: ConfigInvalid"
exit 1`),
  },
  {
    id: 'init-error-without-header',
    family: 'init/error',
    script: script(`
register
call init-error POST /init/error -H "Lambda-Extension-Identifier: $ID"
loop`),
  },
  {
    id: 'init-error-then-goes-on',
    family: 'init/error',
    script: script(`
register
call init-error POST /init/error -H "Lambda-Extension-Identifier: $ID" -H "Lambda-Extension-Function-Error-Type: Extension.ConfigInvalid"
call init-error-again POST /init/error -H "Lambda-Extension-Identifier: $ID" -H "Lambda-Extension-Function-Error-Type: Extension.Other"
sleep 1
next next-after-init-error
call exit-error-after-init-error POST /exit/error -H "Lambda-Extension-Identifier: $ID" -H "Lambda-Extension-Function-Error-Type: Extension.Other"
sleep 0.5
exit 0`),
  },
  {
    id: 'init-error-then-hangs',
    family: 'init/error',
    timeoutSeconds: 4,
    script: script(`
register
call init-error POST /init/error -H "Lambda-Extension-Identifier: $ID" -H "Lambda-Extension-Function-Error-Type: Extension.ConfigInvalid"
exec sleep 60`),
  },
  {
    id: 'init-error-after-next',
    family: 'init/error',
    script: script(`
register
next next; say "event $EV"
call init-error-late POST /init/error -H "Lambda-Extension-Identifier: $ID" -H "Lambda-Extension-Function-Error-Type: Extension.Late"
[ "$EV" = SHUTDOWN ] && exit 0
loop`),
  },
  {
    id: 'exit-error-typed-then-exits',
    family: 'exit/error',
    script: script(`
register
call exit-error POST /exit/error -H "Lambda-Extension-Identifier: $ID" -H "Lambda-Extension-Function-Error-Type: Extension.Broken"
call exit-error-again POST /exit/error -H "Lambda-Extension-Identifier: $ID" -H "Lambda-Extension-Function-Error-Type: Extension.Other"
next next-after-exit-error
exit 1`),
  },
  {
    id: 'exit-error-untyped',
    family: 'exit/error',
    script: script(`
register
call exit-error POST /exit/error -H "Lambda-Extension-Identifier: $ID" -H "Lambda-Extension-Function-Error-Type: Broken"
exit 1`),
  },
  {
    id: 'exit-error-without-header',
    family: 'exit/error',
    script: script(`
register
call exit-error POST /exit/error -H "Lambda-Extension-Identifier: $ID"
loop`),
  },
  {
    id: 'exit-error-then-goes-on',
    family: 'exit/error',
    timeoutSeconds: 3,
    script: script(`
register
call exit-error POST /exit/error -H "Lambda-Extension-Identifier: $ID" -H "Lambda-Extension-Function-Error-Type: Extension.Broken"
next next-after-exit-error
exec sleep 60`),
  },
  {
    id: 'exit-error-at-shutdown',
    family: 'exit/error',
    script: script(`
register
while :; do
  next next
  if [ "$EV" = SHUTDOWN ]; then
    call exit-error POST /exit/error -H "Lambda-Extension-Identifier: $ID" -H "Lambda-Extension-Function-Error-Type: Extension.Flush"
    exit 0
  fi
done`),
  },
  // ----- crashes
  {
    id: 'crash-before-register',
    family: 'crash',
    script: script(`
say start
exit 3`),
  },
  {
    id: 'crash-after-register',
    family: 'crash',
    script: script(`
register
exit 0`),
  },
  {
    id: 'crash-by-signal-in-init',
    family: 'crash',
    script: script(`
register
kill -KILL $$`),
  },
  {
    id: 'crash-during-invoke',
    family: 'crash',
    functionDurationMs: 1500,
    script: script(`
register
# On demand it dies on its first INVOKE; on Managed Instances (no INVOKE) a while after registering.
# The killer keeps no stdout: RIE's LMI supervisor misses an exit while a child holds it.
[ -z "$LMI" ] || ( sleep 1; kill -KILL $$ ) >/dev/null 2>&1 &
while :; do next next; say "event $EV"; [ "$EV" = INVOKE ] && kill -KILL $$; done`),
  },
  {
    id: 'crash-at-shutdown',
    family: 'crash',
    script: script(`
register
while :; do next next; [ "$EV" = SHUTDOWN ] && exit 7; done`),
  },
  // ----- forks
  {
    id: 'fork-child-outlives',
    family: 'fork',
    script: script(`
sleep 60 &
register
loop`),
  },
  {
    id: 'fork-child-does-the-work',
    family: 'fork',
    script: script(`
( register; loop ) &
wait`),
  },
  {
    id: 'fork-launcher-exits',
    family: 'fork',
    script: script(`
say start
( sleep 2; register; loop ) &
exit 0`),
  },
  // ----- shutdown
  {
    id: 'shutdown-just-under-deadline',
    family: 'shutdown',
    script: script(`
register
while :; do
  next next
  if [ "$EV" = SHUTDOWN ]; then
    left=$(( $(deadline) - $(now) - 700 ))
    [ $left -gt 0 ] && sleep $(( left / 1000 )).$(printf %03d $(( left % 1000 )))
    exit 0
  fi
done`),
  },
  {
    id: 'shutdown-just-over-deadline',
    family: 'shutdown',
    script: script(`
trap '' TERM
register
while :; do
  next next
  if [ "$EV" = SHUTDOWN ]; then
    left=$(( $(deadline) - $(now) + 700 ))
    sleep $(( left / 1000 )).$(printf %03d $(( left % 1000 )))
    exit 0
  fi
done`),
  },
  {
    id: 'shutdown-not-subscribed',
    family: 'shutdown',
    script: script(`
if [ -n "$LMI" ]; then register '{"events":[]}'; else register '{"events":["INVOKE"]}'; fi
loop`),
  },
  // ----- output
  {
    id: 'output-huge',
    family: 'output',
    script: script(`
line=$(head -c 1000 /dev/zero | tr '\\0' o)
yes "$line" | head -n 2000
yes "$line" | head -n 2000 >&2
register
loop`),
  },
  {
    id: 'output-long-line',
    family: 'output',
    script: script(`
head -c 200000 /dev/zero | tr '\\0' x
echo
register
loop`),
  },
  {
    id: 'output-no-newline-at-exit',
    family: 'output',
    script: script(`
register
while :; do next next; [ "$EV" = SHUTDOWN ] && { printf 'partial line'; exit 0; }; done`),
  },
  // ----- Telemetry API
  {
    id: 'telemetry-valid',
    family: 'telemetry',
    script: script(`
register
${subscribe('subscribe', telemetryBody(''))}
say "subscribe-body $(cat "$B")"
loop`),
  },
  {
    id: 'telemetry-bad-schema-version',
    family: 'telemetry',
    script: script(`
register
${subscribe('schema-1999', `'{"schemaVersion":"1999-01-01","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:4243/t"}}'`)}
${subscribe('no-schema', `'{"types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:4243/t"}}'`)}
loop`),
  },
  {
    id: 'telemetry-bad-types',
    family: 'telemetry',
    script: script(`
register
${subscribe('type-unknown', `'{"schemaVersion":"2025-01-29","types":["everything"],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:4243/t"}}'`)}
loop`),
  },
  {
    id: 'telemetry-bad-buffering',
    family: 'telemetry',
    script: script(`
register
${subscribe('max-items-0', telemetryBody(',"buffering":{"maxItems":0}'))}
${subscribe('max-bytes-huge', telemetryBody(',"buffering":{"maxBytes":1073741824}'))}
${subscribe('timeout-10', telemetryBody(',"buffering":{"timeoutMs":10}'))}
loop`),
  },
  {
    id: 'telemetry-bad-destination',
    family: 'telemetry',
    script: script(`
register
${subscribe('protocol-ftp', `'{"schemaVersion":"2025-01-29","types":["platform"],"destination":{"protocol":"FTP","URI":"http://sandbox.localdomain:4243/t"}}'`)}
${subscribe('no-destination', `'{"schemaVersion":"2025-01-29","types":["platform"]}'`)}
loop`),
  },
  {
    id: 'telemetry-bad-json',
    family: 'telemetry',
    script: script(`
register
${subscribe('bad-json', `'{not json'`)}
loop`),
  },
  {
    id: 'telemetry-before-register',
    family: 'telemetry',
    script: script(`
${subscribe('no-identifier', telemetryBody(''), '')}
${subscribe('unknown-identifier', telemetryBody(''), '-H "Lambda-Extension-Identifier: 0b0a9d3e-4b0e-4d2c-9d7e-1a2b3c4d5e6f"')}
register
loop`),
  },
  {
    id: 'telemetry-twice',
    family: 'telemetry',
    script: script(`
register
${subscribe('first', telemetryBody(''))}
${subscribe('second', telemetryBody(''))}
loop`),
  },
  {
    id: 'telemetry-after-init',
    family: 'telemetry',
    script: script(`
register
next next; say "event $EV"
${subscribe('after-init', telemetryBody(''))}
[ "$EV" = SHUTDOWN ] && exit 0
loop`),
  },
  {
    id: 'logs-api',
    family: 'logs',
    script: script(`
register
req logs PUT "$ROOT/2020-08-15/logs" -H "Lambda-Extension-Identifier: $ID" -d '{"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:4243/l"},"types":["platform"]}'
loop`),
  },
  // ----- launchers
  {
    id: 'crlf-env-sh',
    family: 'launcher',
    file: { content: '#!/usr/bin/env sh\r\necho never\r\n', mode: 0o755 },
  },
  {
    id: 'crlf-sh-e',
    family: 'launcher',
    file: { content: '#!/bin/sh -e\r\necho never\r\n', mode: 0o755 },
  },
  {
    id: 'crlf-sh',
    family: 'launcher',
    file: { content: '#!/bin/sh\r\necho never\r\n', mode: 0o755 },
  },
  {
    id: 'not-executable',
    family: 'launcher',
    file: { content: '#!/bin/sh\nexit 0\n', mode: 0o644 },
  },
  {
    id: 'no-shebang',
    family: 'launcher',
    file: { content: 'echo this is not a script with a #! line\n', mode: 0o755 },
  },
  {
    id: 'missing-interpreter',
    family: 'launcher',
    file: { content: '#!/no/such/interpreter\n', mode: 0o755 },
  },
  {
    id: 'wrong-architecture',
    family: 'launcher',
    file: { content: foreignElf(), mode: 0o755 },
  },
];

export interface AgreedDifference {
  id: string;
  modes: Mode[];
  /** What may differ: the outcome, the lines the extension printed, or both. */
  differs: 'outcome' | 'lines' | 'both';
  rie: string;
  dev: string;
  reason: string;
  source: string;
}

/** Every place where `ext dev` knowingly differs from RIE. docs/reference/emulator-conformance.md prints this table. */
export const agreedDifferences: AgreedDifference[] = [
  {
    id: 'register-account-id',
    modes: ['on-demand'],
    differs: 'lines',
    rie: 'no `accountId`',
    dev: '`accountId` when asked for',
    reason:
      'RIE on demand never sends it; Lambda does when the extension asks with `Lambda-Extension-Accept-Feature: accountId`',
    source: 'Extensions API reference (register); RIE `internal/lambda/rapi/handler/agentregister.go`',
  },
  {
    id: 'next-wrong-method',
    modes: ['on-demand', 'managed-instances'],
    differs: 'lines',
    rie: '405, empty body',
    dev: '405 `MethodNotAllowed`',
    reason: "same status; `ext dev` answers every refusal in the API's error model, so the extension can log why",
    source: "RIE's router (chi) answers 405 itself",
  },
  ...[
    'telemetry-valid',
    'telemetry-bad-schema-version',
    'telemetry-bad-types',
    'telemetry-bad-buffering',
    'telemetry-bad-destination',
    'telemetry-bad-json',
    'telemetry-before-register',
    'telemetry-twice',
    'telemetry-after-init',
  ].map((id): AgreedDifference => ({
    id,
    modes: ['on-demand'],
    differs: 'lines',
    rie: '202 `Telemetry.NotSupported`',
    dev: 'Lambda\'s answers (200 `"OK"`, 400 `ValidationError`, 403 …)',
    reason: 'RIE on demand has no Telemetry API; `ext dev` emulates it, with the rules its LMI mode checks',
    source: 'RIE `internal/lambda/rapi/handler/runtimelogs_stub.go`; Telemetry API reference',
  })),
  {
    id: 'telemetry-twice',
    modes: ['managed-instances'],
    differs: 'lines',
    rie: 'second subscription: 500',
    dev: '200; both subscriptions deliver',
    reason: 'no document settles a second subscription; `ext dev` accepts it, as it does every valid request',
    source: 'our choice (RIE LMI `rapi/handler/runtimelogs.go` fails it internally)',
  },
  {
    id: 'next-parked-at-exit-error',
    modes: ['on-demand'],
    differs: 'outcome',
    rie: '`Extension.ExitError`, then the invoke waits for the function timeout',
    dev: '`Extension.ExitError`, the invoke fails at once',
    reason:
      'after an `exit/error` during an invoke, RIE on demand waits for `next` until the function timeout; the error is the same, waiting only delays it',
    source: 'RIE `internal/lambda/rapid` (invoke waits for every extension to be ready)',
  },
  {
    id: 'output-long-line',
    modes: ['managed-instances'],
    differs: 'both',
    rie: 'Init timeout: the extension blocks writing',
    dev: 'passes; the line is cut at `maxLineBytes`',
    reason: "RIE's LMI log reader stops at any line over 64 KiB and stops draining the pipe; Lambda has no such limit",
    source: 'RIE LMI log reader (bufio.Scanner default 64 KiB token)',
  },
  ...(
    [
      ['fork-launcher-exits', 'both', 'passes: the exit is missed', '`Extension.Crash`'],
      ['fork-child-outlives', 'outcome', 'killed at the Shutdown deadline', 'exits at SHUTDOWN and passes'],
      ['crash-during-invoke', 'outcome', 'no error recorded', '`Extension.Crash`'],
    ] as const
  ).map(([id, differs, rie, dev]): AgreedDifference => ({
    id,
    modes: ['managed-instances'],
    differs,
    rie,
    dev,
    reason:
      "RIE's LMI supervisor misses a process's exit while a child (here `sleep` or a parked `curl`) holds its stdout",
    source: 'RIE LMI `LocalProcessSupervisor`; on demand RIE sees the exit',
  })),
];

export function differencesTable(): string {
  // Cases that differ for one reason share a row.
  const rows = new Map<string, string[]>();
  for (const difference of agreedDifferences) {
    const rest = `${difference.modes.join(', ')} | ${difference.rie} | ${difference.dev} | ${difference.reason} | ${difference.source} |`;
    rows.set(rest, [...(rows.get(rest) ?? []), difference.id]);
  }
  return [
    '| case | modes | RIE | `ext dev` | why `ext dev` differs | source |',
    '| ---- | ----- | --- | --------- | --------------------- | ------ |',
    ...[...rows].map(([rest, ids]) => `| ${ids.join(', ')} | ${rest}`),
  ].join('\n');
}
