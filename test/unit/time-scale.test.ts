import assert from 'node:assert/strict';
import { test } from 'node:test';
import { measureContention, measureTimeScale, scaled, timeScale } from '../helpers/time-scale.js';

test('the measured factor is between 1 and 10 and scaled() applies the run’s one factor', () => {
  assert.ok(measureContention(20) > 0);
  const measured = measureTimeScale();
  assert.ok(measured >= 1 && measured <= 10, `factor ${measured}`);
  assert.ok(timeScale >= 1, `factor ${timeScale}`);
  assert.equal(scaled(2000), Math.round(2000 * timeScale));
  assert.ok(scaled(1) >= 1);
});
