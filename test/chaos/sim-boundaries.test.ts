/**
 * chaos/sim drives the Raft core in-process and nothing else: it may import
 * raft/ (and store/, once the simulator covers the store), Node built-ins and
 * commander for its command — never control-plane, node, cli or other chaos code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SIM_DIR = join(import.meta.dirname, '../../chaos/sim');
const ALLOWED = [/^\.\/[a-z0-9-]+\.js$/, /^\.\.\/\.\.\/raft\//, /^\.\.\/\.\.\/store\//, /^node:/, /^commander$/];

describe('chaos/sim imports', () => {
  it('stay within raft/, store/, Node built-ins and commander', () => {
    const offending: string[] = [];
    let seen = 0;
    for (const file of readdirSync(SIM_DIR).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(SIM_DIR, file), 'utf8');
      for (const m of source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)) {
        const spec = m[1]!;
        seen++;
        if (!ALLOWED.some((re) => re.test(spec))) offending.push(`${file}: ${spec}`);
      }
    }
    expect(seen).toBeGreaterThan(50); // the scan really sees the imports
    expect(offending).toEqual([]);
  });
});
