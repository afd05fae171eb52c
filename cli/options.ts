/** Flag parsing helpers shared by the sub-commands; errors name the flag, the value and the limit. */
import { InvalidArgumentError } from 'commander';

export function parseIntegerOption(flag: string, value: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`${flag} must be an integer, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new InvalidArgumentError(`${flag} must be between ${min} and ${max}, got ${n}`);
  return n;
}
