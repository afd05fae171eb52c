import { describe, expect, it } from 'vitest';
import { humanDuration } from '../../../control-plane/table/human-duration.js';
import { d, h, m, s } from './fixtures.js';

describe('humanDuration (Kubernetes duration.HumanDuration)', () => {
  const cases: readonly (readonly [number, string])[] = [
    // clock skew: up to one whole second in the future reads as now
    [-s(2), '<invalid>'],
    [-s(1.999), '0s'],
    [-s(1), '0s'],
    [-1, '0s'],
    [0, '0s'],
    [999, '0s'],
    [s(1), '1s'],
    [s(59), '59s'],
    [s(60), '60s'],
    [s(119.999), '119s'],
    // minutes and seconds below ten minutes
    [m(2), '2m'],
    [m(2) + s(1), '2m1s'],
    [m(3) + s(20), '3m20s'],
    [m(9) + s(59.9), '9m59s'],
    // whole minutes below three hours
    [m(10), '10m'],
    [m(10) + s(59), '10m'],
    [m(179) + s(59), '179m'],
    // hours and minutes below eight hours
    [h(3), '3h'],
    [h(3) + m(1), '3h1m'],
    [h(4) + m(5), '4h5m'],
    [h(7) + m(59) + s(59), '7h59m'],
    // whole hours below two days
    [h(8), '8h'],
    [h(47) + m(59), '47h'],
    // days and hours below eight days
    [h(48), '2d'],
    [d(2) + h(3), '2d3h'],
    [d(7) + h(23) + m(59), '7d23h'],
    // whole days below two years
    [d(8), '8d'],
    [d(45) + h(23), '45d'],
    [d(729) + h(23), '729d'],
    // years and days below eight years (a year is 365 days)
    [d(730), '2y'],
    [d(760), '2y30d'],
    [d(365 * 8 - 1), '7y364d'],
    // whole years after
    [d(365 * 8), '8y'],
    [d(365 * 10 + 200), '10y'],
  ];

  it.each(cases)('%d ms → %s', (durationMs, text) => {
    expect(humanDuration(durationMs)).toBe(text);
  });
});
