import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adaptive, AdaptiveRule, effectiveFlush, flushName, parseFlush, type FlushStrategy } from '../src/flush.js';

test('parseFlush reads the four strategies and refuses the rest', () => {
  for (const [text, name] of [
    ['end', 'end'],
    ['continuous', 'continuous'],
    ['adaptive', 'adaptive'],
    ['periodic:500', 'periodic:500'],
    [' Periodic:50 ', 'periodic:50'],
    ['periodic:600000', 'periodic:600000'],
  ] as const) {
    const strategy = parseFlush(text);
    assert.ok(strategy, text);
    assert.equal(flushName(strategy), name);
  }
  for (const text of ['', 'periodic', 'periodic:', 'periodic:49', 'periodic:600001', 'periodic:1s', 'sometimes']) {
    assert.equal(parseFlush(text), undefined, text);
  }
});

test('effectiveFlush: Managed Instances force continuous; without INVOKE, end and adaptive become continuous', () => {
  const periodic: FlushStrategy = { mode: 'periodic', intervalMs: 1000 };
  for (const requested of [{ mode: 'end' }, periodic, { mode: 'continuous' }, { mode: 'adaptive' }] satisfies FlushStrategy[]) {
    const managed = effectiveFlush(requested, false, true);
    assert.equal(managed.strategy.mode, 'continuous');
    assert.equal(managed.why === '', requested.mode === 'continuous', 'says why when it changed');
    assert.deepEqual(effectiveFlush(requested, true, false), { strategy: requested, why: '' });
  }
  assert.equal(effectiveFlush({ mode: 'adaptive' }, false, false).strategy.mode, 'continuous');
  assert.equal(effectiveFlush({ mode: 'end' }, false, false).strategy.mode, 'continuous');
  assert.deepEqual(effectiveFlush(periodic, false, false).strategy, periodic);
});

test('the adaptive rule switches to periodic when invokes come often and back when they stop (fake clock)', () => {
  const rule = new AdaptiveRule();
  let clock = 0;
  // One invoke every 0.9 s: the 10th within 10 s switches.
  for (let index = 1; index <= adaptive.busyInvokes; index += 1) {
    clock += 900;
    assert.equal(rule.observe(clock), index === adaptive.busyInvokes, `invoke ${index}`);
  }
  // Slower, but more than idleInvokes within the window: stays periodic.
  for (let index = 0; index < 20; index += 1) {
    clock += 3000;
    assert.equal(rule.observe(clock), true, `an invoke every 3 s, the ${index + 1}th`);
  }
  // Quiet for 11 s: alone in the window, back to end.
  clock += 11_000;
  assert.equal(rule.observe(clock), false);
  // An invoke every 5 s never reaches busyInvokes within 10 s.
  for (let index = 0; index < 20; index += 1) {
    clock += 5000;
    assert.equal(rule.observe(clock), false);
  }
  assert.ok(rule.starts.length <= adaptive.busyInvokes, 'keeps at most busyInvokes start times');
});
