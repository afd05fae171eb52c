/**
 * The probe helper run inside a pod's network namespace:
 *
 *   nsenter --net=/proc/<sandbox pid>/ns/net <node> netns-probe.js http <host> <port> <path> <timeoutMs> [HTTPS] [headers JSON]
 *   nsenter --net=/proc/<sandbox pid>/ns/net <node> netns-probe.js tcp <host> <port> <timeoutMs>
 *
 * prints one line of JSON, `{"ok":true|false,"message":"..."}`, and exits 0
 * (2 on a usage error). It is a separate program because a namespace is a
 * property of a thread: the agent's own process stays in the node's
 * namespace, and no connection to a pod address is ever made from there.
 */
import { httpProbe } from './http-probe.js';
import type { ProbeOutcome } from './probe-result.js';
import { tcpProbe } from './tcp-probe.js';

async function main(argv: readonly string[]): Promise<number> {
  const [kind, host, portText] = argv;
  const port = Number(portText);
  if ((kind !== 'http' && kind !== 'tcp') || host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    process.stderr.write('usage: netns-probe http <host> <port> <path> <timeoutMs> [HTTP|HTTPS] [headers JSON] | tcp <host> <port> <timeoutMs>\n');
    return 2;
  }
  let outcome: ProbeOutcome;
  if (kind === 'tcp') {
    outcome = await tcpProbe({ host, port, timeoutMs: Number(argv[3] ?? '1000') });
  } else {
    const headers = argv[6] === undefined ? {} : (JSON.parse(argv[6]) as Record<string, string>);
    outcome = await httpProbe({ host, port, path: argv[3] ?? '/', timeoutMs: Number(argv[4] ?? '1000'), scheme: argv[5] === 'HTTPS' ? 'HTTPS' : 'HTTP', headers });
  }
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stdout.write(`${JSON.stringify({ ok: false, message: `probe helper failed: ${err instanceof Error ? err.message : String(err)}` })}\n`);
    process.exit(0);
  },
);
